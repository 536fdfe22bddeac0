package sandbox

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The objects of one sandbox, besides its Namespace. They are named for
// Keiko so a learner listing them sees where they come from.
const (
	learnerBindingName = "keiko-learner"
	quotaName          = "keiko-quota"
	limitRangeName     = "keiko-limits"
	networkPolicyName  = "keiko-isolation"
)

// learnerRole is the ClusterRole learners get inside their namespace.
// The built-in admin role covers workloads, config and in-namespace RBAC,
// only reads quotas and limit ranges, and picks up the ClusterRoles that
// CRDs aggregate into admin or edit. What it allows and learners must not
// do (edit NetworkPolicies, bind outside subjects) is refused by the
// admission policy in guard.go.
const learnerRole = "admin"

func podSecurityLabels(level string) map[string]string {
	return map[string]string{
		labelPSAEnforce:        level,
		labelPSAEnforceVersion: "latest",
		labelPSAWarn:           level,
		labelPSAAudit:          level,
	}
}

func namespaceObject(name, state, size, podSecurity string, labels map[string]string, annotations map[string]string) *corev1.Namespace {
	l := map[string]string{
		LabelManagedBy: ManagedBy,
		LabelState:     state,
		LabelSize:      size,
	}
	for k, v := range podSecurityLabels(podSecurity) {
		l[k] = v
	}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l, Annotations: annotations}}
}

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelManagedBy: ManagedBy}}
}

func serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: objectMeta(LearnerServiceAccount)}
}

func learnerBinding(namespace string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: objectMeta(learnerBindingName),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: learnerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: LearnerServiceAccount, Namespace: namespace}},
	}
}

func resourceQuota(s Size) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{ObjectMeta: objectMeta(quotaName), Spec: corev1.ResourceQuotaSpec{Hard: s.Quota}}
}

func limitRange(s Size) *corev1.LimitRange {
	return &corev1.LimitRange{
		ObjectMeta: objectMeta(limitRangeName),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Default:        s.DefaultLimit,
			DefaultRequest: s.DefaultRequest,
			Max:            s.MaxLimit,
		}}},
	}
}

// networkPolicy denies all traffic in and out, except within the namespace
// and DNS lookups to the cluster's resolver. Educates ships no such policy
// (its issue #482); on a shared cluster learners would otherwise reach each
// other's pods and the cloud's metadata endpoint.
func networkPolicy() *networkingv1.NetworkPolicy {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	sameNamespace := []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: objectMeta(networkPolicyName),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: sameNamespace}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: sameNamespace},
				{
					To: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
						PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
					}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}},
				},
			},
		},
	}
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
