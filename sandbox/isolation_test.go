package sandbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keiko-lab/keiko/sandbox"
)

// A CRD and the ClusterRole that aggregates rights on it into admin, as a
// scenario's prerequisites would install them.
const widgetPrerequisites = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.lab.keiko.dev
spec:
  group: lab.keiko.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keiko-lab-widgets-admin
  labels:
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
rules:
- apiGroups: [lab.keiko.dev]
  resources: [widgets]
  verbs: ["*"]
`

var widgets = schema.GroupVersionResource{Group: "lab.keiko.dev", Version: "v1", Resource: "widgets"}

func widget(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "lab.keiko.dev/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"size": int64(3)},
	}}
}

// restrictedPod passes Pod Security "restricted".
func restrictedPod(name, cpu string) *corev1.Pod {
	no, yes := false, true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "c", Image: "nginx",
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
				},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
}

func TestLearnerIsConfinedToTheirNamespace(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, sandbox.Config{})
	if err := m.InstallPrerequisites(ctx, []byte(widgetPrerequisites)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reconcile(ctx); err != nil { // installs the admission guard
		t.Fatal(err)
	}
	a := provision(t, m, sandbox.Request{LearnerID: "learner-a"})
	b := provision(t, m, sandbox.Request{LearnerID: "learner-b"})
	as := learnerClient(t, a)
	ad := dynamic.NewForConfigOrDie(learnerConfig(t, a))
	nsA, nsB := a.Namespace, b.Namespace
	create := metav1.CreateOptions{}

	// Every probe must be refused by the apiserver.
	type probe struct {
		name string
		do   func() error
	}
	var probes []probe
	for _, ns := range []string{nsB, "default", "kube-system"} {
		probes = append(probes,
			probe{"get pod in " + ns, func() error { _, err := as.CoreV1().Pods(ns).Get(ctx, "any", metav1.GetOptions{}); return err }},
			probe{"list pods in " + ns, func() error { _, err := as.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); return err }},
			probe{"watch pods in " + ns, func() error {
				w, err := as.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
				if err == nil {
					w.Stop()
				}
				return err
			}},
			probe{"create configmap in " + ns, func() error {
				_, err := as.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, create)
				return err
			}},
			probe{"delete configmap in " + ns, func() error {
				return as.CoreV1().ConfigMaps(ns).Delete(ctx, "kube-root-ca.crt", metav1.DeleteOptions{})
			}},
			probe{"list secrets in " + ns, func() error { _, err := as.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); return err }},
			probe{"create widget in " + ns, func() error {
				_, err := ad.Resource(widgets).Namespace(ns).Create(ctx, widget("w"), create)
				return err
			}},
		)
	}
	probes = append(probes,
		probe{"list secrets cluster-wide", func() error { _, err := as.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); return err }},
		probe{"create namespace", func() error {
			_, err := as.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "learner-made"}}, create)
			return err
		}},
		probe{"label own namespace privileged", func() error {
			_, err := as.CoreV1().Namespaces().Patch(ctx, nsA, "application/merge-patch+json",
				[]byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`), metav1.PatchOptions{})
			return err
		}},
		probe{"create clusterrole", func() error {
			_, err := as.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "learner-made"}}, create)
			return err
		}},
		probe{"create clusterrolebinding", func() error {
			_, err := as.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "learner-made"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "learner", Namespace: nsA}},
			}, create)
			return err
		}},
		probe{"create CRD", func() error {
			crd := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
				"metadata": map[string]any{"name": "gadgets.lab.keiko.dev"},
			}}
			_, err := ad.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}).Create(ctx, crd, create)
			return err
		}},
		probe{"create node", func() error {
			_, err := as.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "learner-node"}}, create)
			return err
		}},
		probe{"bind cluster-admin to B's learner in A", func() error {
			return bindInA(ctx, as, nsA, "cluster-admin", rbacv1.Subject{Kind: "ServiceAccount", Name: "learner", Namespace: nsB})
		}},
		probe{"bind admin to B's learner in A", func() error {
			return bindInA(ctx, as, nsA, "admin", rbacv1.Subject{Kind: "ServiceAccount", Name: "learner", Namespace: nsB})
		}},
		probe{"bind admin to every authenticated user in A", func() error {
			return bindInA(ctx, as, nsA, "admin", rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:authenticated"})
		}},
		probe{"add B's learner to Keiko's own binding", func() error {
			rb, err := as.RbacV1().RoleBindings(nsA).Get(ctx, "keiko-learner", metav1.GetOptions{})
			if err != nil {
				return err
			}
			rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "ServiceAccount", Name: "learner", Namespace: nsB})
			_, err = as.RbacV1().RoleBindings(nsA).Update(ctx, rb, metav1.UpdateOptions{})
			return err
		}},
		probe{"impersonate a cluster admin", func() error {
			rc := learnerConfig(t, a)
			rc.Impersonate = rest.ImpersonationConfig{UserName: "keiko-admin", Groups: []string{"system:masters"}}
			_, err := kubernetes.NewForConfigOrDie(rc).CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}},
		probe{"edit own quota", func() error {
			q, err := as.CoreV1().ResourceQuotas(nsA).Get(ctx, "keiko-quota", metav1.GetOptions{})
			if err != nil {
				return err
			}
			q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
			_, err = as.CoreV1().ResourceQuotas(nsA).Update(ctx, q, metav1.UpdateOptions{})
			return err
		}},
		probe{"delete own quota", func() error {
			return as.CoreV1().ResourceQuotas(nsA).Delete(ctx, "keiko-quota", metav1.DeleteOptions{})
		}},
		probe{"delete own limit range", func() error { return as.CoreV1().LimitRanges(nsA).Delete(ctx, "keiko-limits", metav1.DeleteOptions{}) }},
		probe{"delete own network policy", func() error {
			return as.NetworkingV1().NetworkPolicies(nsA).Delete(ctx, "keiko-isolation", metav1.DeleteOptions{})
		}},
		probe{"add an allow-all network policy", func() error {
			_, err := as.NetworkingV1().NetworkPolicies(nsA).Create(ctx, &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: "allow-all"},
				Spec: networkingv1.NetworkPolicySpec{
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
					Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
				},
			}, create)
			return err
		}},
		probe{"privileged pod", func() error {
			p := restrictedPod("privileged", "100m")
			yes := true
			p.Spec.Containers[0].SecurityContext.Privileged = &yes
			_, err := as.CoreV1().Pods(nsA).Create(ctx, p, create)
			return err
		}},
		probe{"hostPath pod", func() error {
			p := restrictedPod("hostpath", "100m")
			p.Spec.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			_, err := as.CoreV1().Pods(nsA).Create(ctx, p, create)
			return err
		}},
		probe{"list namespaces", func() error { _, err := as.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); return err }},
		probe{"exec into a pod in B", func() error {
			return as.CoreV1().RESTClient().Post().Namespace(nsB).Resource("pods").Name("any").SubResource("exec").Do(ctx).Error()
		}},
		probe{"create a persistent volume", func() error {
			_, err := as.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "learner-pv"}}, create)
			return err
		}},
		probe{"more deployments than the quota counts", func() error {
			// In a sandbox of its own: the flood uses up the quota.
			flood := provision(t, m, sandbox.Request{LearnerID: "learner-flood"})
			fs := learnerClient(t, flood)
			var err error
			for i := 0; err == nil && i < 100; i++ {
				_, err = fs.AppsV1().Deployments(flood.Namespace).Create(ctx, deployment(fmt.Sprintf("flood-%d", i)), create)
			}
			return err
		}},
		probe{"NodePort service", func() error {
			_, err := as.CoreV1().Services(nsA).Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "exposed"},
				Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}},
			}, create)
			return err
		}},
	)
	for _, p := range probes {
		t.Run("denied: "+p.name, func(t *testing.T) {
			err := p.do()
			if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
				t.Errorf("want Forbidden, got %v", err)
			}
		})
	}

	// Exceeding the quota: medium allows 2 CPUs of requests.
	t.Run("denied: exceeding the quota", func(t *testing.T) {
		for i, cpu := range []string{"1", "1"} {
			if _, err := as.CoreV1().Pods(nsA).Create(ctx, restrictedPod("fits-"+string(rune('a'+i)), cpu), create); err != nil {
				t.Fatalf("pod within quota refused: %v", err)
			}
		}
		_, err := as.CoreV1().Pods(nsA).Create(ctx, restrictedPod("too-much", "1"), create)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota") {
			t.Errorf("want an exceeded-quota refusal, got %v", err)
		}
	})

	// What learners came to do must work.
	allowed := []probe{
		{"create deployment", func() error {
			_, err := as.AppsV1().Deployments(nsA).Create(ctx, deployment("web"), create)
			return err
		}},
		{"create service", func() error {
			_, err := as.CoreV1().Services(nsA).Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: "web"},
				Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
			}, create)
			return err
		}},
		{"create configmap", func() error {
			_, err := as.CoreV1().ConfigMaps(nsA).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}, create)
			return err
		}},
		{"create secret", func() error {
			_, err := as.CoreV1().Secrets(nsA).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mine"}}, create)
			return err
		}},
		{"create custom resource", func() error {
			_, err := ad.Resource(widgets).Namespace(nsA).Create(ctx, widget("mine"), create)
			return err
		}},
		{"create a role and bind it to an own service account", func() error {
			if _, err := as.CoreV1().ServiceAccounts(nsA).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, create); err != nil {
				return err
			}
			if _, err := as.RbacV1().Roles(nsA).Create(ctx, &rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Name: "reader"},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
			}, create); err != nil {
				return err
			}
			_, err := as.RbacV1().RoleBindings(nsA).Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "app-reader"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "app"}},
			}, create)
			return err
		}},
	}
	for _, p := range allowed {
		t.Run("allowed: "+p.name, func(t *testing.T) {
			if err := p.do(); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

func bindInA(ctx context.Context, cs kubernetes.Interface, ns, role string, subject rbacv1.Subject) error {
	_, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "sneaky-"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{subject},
	}, metav1.CreateOptions{})
	return err
}
