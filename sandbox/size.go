package sandbox

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Size is a named budget: the ResourceQuota of a sandbox and the
// defaults and ceilings its LimitRange puts on each container.
type Size struct {
	Quota corev1.ResourceList `json:"quota"`
	// DefaultRequest and DefaultLimit fill in containers that set none, so
	// learners' first `kubectl create deployment` is not refused by a
	// quota on requests.
	DefaultRequest corev1.ResourceList `json:"defaultRequest"`
	DefaultLimit   corev1.ResourceList `json:"defaultLimit"`
	// MaxLimit caps one container, so one pod cannot take the whole quota.
	MaxLimit corev1.ResourceList `json:"maxLimit"`
}

// DefaultSizes are small, medium and large, doubling each time. Medium runs
// every built-in scenario; node ports and load balancers are zero in all of
// them because on a shared cluster they would expose learners' pods beyond
// their namespace.
func DefaultSizes() map[string]Size {
	sizes := map[string]Size{}
	for i, name := range []string{"small", "medium", "large"} {
		m := int64(1) << i
		q := func(base int64, unit string) resource.Quantity {
			return resource.MustParse(fmt.Sprintf("%d%s", base*m, unit))
		}
		sizes[name] = Size{
			Quota: corev1.ResourceList{
				corev1.ResourceRequestsCPU:            q(1, ""),
				corev1.ResourceRequestsMemory:         q(2, "Gi"),
				corev1.ResourceLimitsCPU:              q(2, ""),
				corev1.ResourceLimitsMemory:           q(4, "Gi"),
				corev1.ResourcePods:                   q(10, ""),
				corev1.ResourceServices:               q(5, ""),
				corev1.ResourceServicesNodePorts:      resource.MustParse("0"),
				corev1.ResourceServicesLoadBalancers:  resource.MustParse("0"),
				corev1.ResourcePersistentVolumeClaims: q(2, ""),
				corev1.ResourceRequestsStorage:        q(5, "Gi"),
				corev1.ResourceConfigMaps:             q(20, ""),
				corev1.ResourceSecrets:                q(20, ""),
				// Object counts, so a loop in a learner's shell cannot
				// fill etcd for everyone. Events are left out: the
				// cluster's own controllers write them.
				"count/deployments.apps":                       q(20, ""),
				"count/replicasets.apps":                       q(100, ""),
				"count/statefulsets.apps":                      q(10, ""),
				"count/daemonsets.apps":                        q(5, ""),
				"count/jobs.batch":                             q(20, ""),
				"count/cronjobs.batch":                         q(10, ""),
				"count/serviceaccounts":                        q(20, ""),
				"count/roles.rbac.authorization.k8s.io":        q(20, ""),
				"count/rolebindings.rbac.authorization.k8s.io": q(20, ""),
				"count/ingresses.networking.k8s.io":            q(10, ""),
				"count/endpointslices.discovery.k8s.io":        q(50, ""),
			},
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
			DefaultLimit: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("500m"),
				corev1.ResourceMemory: resource.MustParse("256Mi"),
			},
			MaxLimit: corev1.ResourceList{
				corev1.ResourceCPU:    q(1, ""),
				corev1.ResourceMemory: q(2, "Gi"),
			},
		}
	}
	return sizes
}

func sizeNames(sizes map[string]Size) []string {
	names := make([]string, 0, len(sizes))
	for n := range sizes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
