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
	terminalEgressName = "keiko-terminal-egress"
	managerBindingName = "keiko"
)

// ManagerRole is the ClusterRole Keiko binds its own ServiceAccount to in
// each sandbox when it runs with the least-privilege RBAC of
// deploy/kubernetes, which grants it nothing in namespaces it did not make.
const ManagerRole = "keiko-sandbox"

// LabelTerminal marks a learner's terminal pod. Only Keiko may set it (the
// guard refuses it to anyone else), because terminal pods may reach the
// cluster's API and the internet.
const LabelTerminal = "keiko.dev/terminal"

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

// managerBinding grants Keiko's ServiceAccount the rights it needs in the
// sandbox; it must exist before Keiko can create anything else there.
func managerBinding(self rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: objectMeta(managerBindingName),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ManagerRole},
		Subjects:   []rbacv1.Subject{self},
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

// terminalEgress lets terminal pods out of the sandbox, to the cluster's API
// (whose address no selector can name) and to the internet for git, helm
// and curl, but not to the cloud's instance metadata endpoints. Other
// learners' pods stay out of reach: their own policies admit no one from
// outside their namespace.
func terminalEgress() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: objectMeta(terminalEgressName),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelTerminal, Operator: metav1.LabelSelectorOpExists}}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"169.254.0.0/16"}}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "::/0", Except: []string{"fe80::/10", "fd00:ec2::254/128"}}},
			}}},
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
