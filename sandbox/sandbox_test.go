package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func newManager(t *testing.T, cfg sandbox.Config) *sandbox.Manager {
	t.Helper()
	m, err := sandbox.New(clustertest.Config(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func provision(t *testing.T, m *sandbox.Manager, req sandbox.Request) *sandbox.Sandbox {
	t.Helper()
	if req.LearnerID == "" {
		req.LearnerID = "learner-" + strings.ToLower(t.Name()[len(t.Name())-min(len(t.Name()), 8):])
		req.LearnerID = strings.Trim(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '-'
		}, req.LearnerID), "-")
	}
	if req.ScenarioID == "" {
		req.ScenarioID = "kubernetes-basics"
	}
	sb, err := m.Provision(context.Background(), req)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { _ = m.Delete(context.Background(), sb.ID) })
	return sb
}

// learnerConfig is the rest.Config a learner's shell would use.
func learnerConfig(t *testing.T, sb *sandbox.Sandbox) *rest.Config {
	t.Helper()
	rc, err := clientcmd.RESTConfigFromKubeConfig(sb.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func learnerClient(t *testing.T, sb *sandbox.Sandbox) kubernetes.Interface {
	t.Helper()
	return kubernetes.NewForConfigOrDie(learnerConfig(t, sb))
}

// gone reports whether a namespace is deleted or being deleted.
func gone(ctx context.Context, cs kubernetes.Interface, ns string) (bool, error) {
	n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return n.DeletionTimestamp != nil, nil
}

func TestProvisionCreatesALabelledIsolatedNamespace(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	sb := provision(t, m, sandbox.Request{ScenarioID: "kubernetes-basics"})
	admin := clustertest.Client(t)
	ctx := context.Background()

	ns, err := admin.CoreV1().Namespaces().Get(ctx, sb.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		"app.kubernetes.io/managed-by":       "keiko",
		"keiko.dev/session":                  sb.ID,
		"keiko.dev/scenario":                 "kubernetes-basics",
		"keiko.dev/state":                    "ready",
		"pod-security.kubernetes.io/enforce": "restricted",
	}
	for k, want := range wantLabels {
		if got := ns.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if sb.Namespace != "keiko-"+sb.ID || len(sb.Namespace) > 20 {
		t.Errorf("namespace %q: want keiko-<short id>", sb.Namespace)
	}
	if exp := ns.Annotations["keiko.dev/expires-at"]; exp == "" {
		t.Error("no expiry annotation")
	}
	if d := time.Until(sb.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires in %s, want the 60 min default", d)
	}

	checks := []struct {
		what string
		get  func() error
	}{
		{"serviceaccount", func() error {
			_, err := admin.CoreV1().ServiceAccounts(sb.Namespace).Get(ctx, "learner", metav1.GetOptions{})
			return err
		}},
		{"rolebinding", func() error {
			_, err := admin.RbacV1().RoleBindings(sb.Namespace).Get(ctx, "keiko-learner", metav1.GetOptions{})
			return err
		}},
		{"resourcequota", func() error {
			_, err := admin.CoreV1().ResourceQuotas(sb.Namespace).Get(ctx, "keiko-quota", metav1.GetOptions{})
			return err
		}},
		{"limitrange", func() error {
			_, err := admin.CoreV1().LimitRanges(sb.Namespace).Get(ctx, "keiko-limits", metav1.GetOptions{})
			return err
		}},
		{"networkpolicy", func() error {
			np, err := admin.NetworkingV1().NetworkPolicies(sb.Namespace).Get(ctx, "keiko-isolation", metav1.GetOptions{})
			if err == nil && len(np.Spec.PolicyTypes) != 2 {
				err = fmt.Errorf("policy types %v, want Ingress and Egress", np.Spec.PolicyTypes)
			}
			return err
		}},
	}
	for _, c := range checks {
		if err := c.get(); err != nil {
			t.Errorf("%s: %v", c.what, err)
		}
	}

	kc, err := clientcmd.Load(sb.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := kc.Contexts[kc.CurrentContext].Namespace; got != sb.Namespace {
		t.Errorf("kubeconfig namespace = %q, want %q", got, sb.Namespace)
	}
	for _, u := range kc.AuthInfos {
		if u.Token == "" || len(u.ClientCertificateData) > 0 {
			t.Error("learner kubeconfig must carry a token and no client certificate")
		}
	}
	if _, err := learnerClient(t, sb).CoreV1().Pods(sb.Namespace).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("learner cannot list pods in own namespace: %v", err)
	}
}

func TestBaselinePodSecurityOnRequest(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	sb := provision(t, m, sandbox.Request{PodSecurity: sandbox.PodSecurityBaseline})
	ns, err := clustertest.Client(t).CoreV1().Namespaces().Get(context.Background(), sb.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "baseline" {
		t.Errorf("enforce = %q, want baseline", got)
	}
}

func TestProvisionRejectsBadRequests(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	tests := []struct {
		name string
		req  sandbox.Request
	}{
		{"no learner", sandbox.Request{ScenarioID: "s"}},
		{"learner id not a label value", sandbox.Request{LearnerID: "a b/c", ScenarioID: "s"}},
		{"unknown size", sandbox.Request{LearnerID: "l", ScenarioID: "s", Size: "huge"}},
		{"privileged pod security", sandbox.Request{LearnerID: "l", ScenarioID: "s", PodSecurity: "privileged"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Provision(context.Background(), tt.req)
			if got := keiko.ErrorCode(err); got != keiko.EINVALID {
				t.Errorf("Provision() error code = %q (%v), want %q", got, err, keiko.EINVALID)
			}
		})
	}
}

func TestApplySetupIntoTheNamespaceOnly(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	setup := []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
data:
  hello: world
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy-app
spec:
  replicas: 1
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: nginx
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`)
	sb := provision(t, m, sandbox.Request{Setup: setup})
	cm, err := clustertest.Client(t).CoreV1().ConfigMaps(sb.Namespace).Get(context.Background(), "greeting", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("setup configmap: %v", err)
	}
	if cm.Data["hello"] != "world" {
		t.Errorf("configmap data = %v", cm.Data)
	}
	if _, err := clustertest.Client(t).AppsV1().Deployments(sb.Namespace).Get(context.Background(), "legacy-app", metav1.GetOptions{}); err != nil {
		t.Errorf("setup deployment: %v", err)
	}

	bad := []struct{ name, manifest, want string }{
		{"other namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n", "may only touch"},
		{"cluster-scoped", "apiVersion: v1\nkind: Namespace\nmetadata: {name: sneaky}\n", "cluster-scoped"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Nope\nmetadata: {name: x}\n", "no kind Nope"},
		{"not yaml", "kind: [", "Invalid setup"},
		{"rejected by the apiserver", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n", "rejected"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Apply(context.Background(), sb.Namespace, []byte(tt.manifest))
			if keiko.ErrorCode(err) != keiko.EINVALID || !strings.Contains(keiko.ErrorMessage(err), tt.want) {
				t.Errorf("Apply() = %v, want EINVALID mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := clustertest.Client(t).CoreV1().Namespaces().Get(context.Background(), "sneaky", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a cluster-scoped setup object was created: %v", err)
	}
}

func TestExtendMovesExpiryAndRenewsToken(t *testing.T) {
	m := newManager(t, sandbox.Config{TTL: 10 * time.Minute})
	sb := provision(t, m, sandbox.Request{})
	ext, err := m.Extend(context.Background(), sb.ID, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ext.ExpiresAt.Sub(sb.ExpiresAt), 30*time.Minute; got < want-time.Second || got > want+time.Second {
		t.Errorf("expiry moved by %s, want %s", got, want)
	}
	if len(ext.Kubeconfig) == 0 {
		t.Fatal("Extend returned no kubeconfig")
	}
	if _, err := learnerClient(t, ext).CoreV1().Pods(ext.Namespace).List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("renewed token does not work: %v", err)
	}
	if _, err := m.Extend(context.Background(), "nosuchsandbox", time.Minute); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("Extend of a missing sandbox = %v, want ENOTFOUND", err)
	}
}

func TestCapacityLimitsAreTypedErrors(t *testing.T) {
	tests := []struct {
		name      string
		cfg       sandbox.Config
		learners  []string
		wantScope string
	}{
		{"cluster", sandbox.Config{MaxSandboxes: 2}, []string{"cap-a", "cap-b", "cap-c"}, "cluster"},
		{"learner", sandbox.Config{MaxPerLearner: 1}, []string{"cap-d", "cap-d"}, "learner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, tt.cfg)
			last := len(tt.learners) - 1
			for _, l := range tt.learners[:last] {
				provision(t, m, sandbox.Request{LearnerID: l})
			}
			_, err := m.Provision(context.Background(), sandbox.Request{LearnerID: tt.learners[last], ScenarioID: "s"})
			var ce *sandbox.CapacityError
			if !errors.As(err, &ce) {
				t.Fatalf("Provision over the limit = %v, want a CapacityError", err)
			}
			if keiko.ErrorCode(err) != keiko.EUNAVAILABLE {
				t.Errorf("code = %q, want %q", keiko.ErrorCode(err), keiko.EUNAVAILABLE)
			}
			if ce.Scope != tt.wantScope {
				t.Errorf("scope = %q, want %q", ce.Scope, tt.wantScope)
			}
			if tt.wantScope == "cluster" && ce.RetryAfter <= 0 {
				t.Error("a full cluster gives no retry hint")
			}
			if msg := keiko.ErrorMessage(err); !strings.Contains(msg, "try again") && !strings.Contains(msg, "Finish or delete") {
				t.Errorf("message %q does not say what to do next", msg)
			}
		})
	}
}

func TestQuotaObjectsMatchTheSize(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	for _, size := range []string{"small", "large"} {
		sb := provision(t, m, sandbox.Request{Size: size})
		q, err := clustertest.Client(t).CoreV1().ResourceQuotas(sb.Namespace).Get(context.Background(), "keiko-quota", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := sandbox.DefaultSizes()[size].Quota[corev1.ResourcePods]
		if got := q.Spec.Hard[corev1.ResourcePods]; got.Cmp(want) != 0 {
			t.Errorf("%s: pods quota = %s, want %s", size, got.String(), want.String())
		}
		if got := q.Spec.Hard[corev1.ResourceServicesNodePorts]; !got.Equal(resource.MustParse("0")) {
			t.Errorf("%s: node ports quota = %s, want 0", size, got.String())
		}
	}
}

func deployment(name string) *appsv1.Deployment {
	replicas := int32(1)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       restrictedPod(name, "100m").Spec,
			},
		},
	}
}

// TestCachedLookupsFollowTheCluster: with the namespace cache running, a
// sandbox is found the moment Provision returns, not found the moment
// Delete returns, and its extension shows once the watch delivers it.
func TestCachedLookupsFollowTheCluster(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.RunCache(ctx)
	first := provision(t, m, sandbox.Request{})
	clustertest.Eventually(t, "the cache holds the first sandbox", func(ctx context.Context) (bool, error) {
		sb, err := m.Get(ctx, first.ID)
		return err == nil && sb.State == sandbox.StateReady, nil
	})
	for range 20 {
		sb := provision(t, m, sandbox.Request{})
		if got, err := m.Get(ctx, sb.ID); err != nil || got.State != sandbox.StateReady {
			t.Fatalf("Get right after Provision = %+v, %v; want it ready", got, err)
		}
		if err := m.Delete(ctx, sb.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := m.Get(ctx, sb.ID); err == nil {
			t.Fatalf("Get right after Delete = %+v, want not found", got)
		}
	}
	extended, err := m.Extend(ctx, first.ID, 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "the cache shows the extension", func(ctx context.Context) (bool, error) {
		sb, err := m.Get(ctx, first.ID)
		return err == nil && sb.ExpiresAt.Equal(extended.ExpiresAt), err
	})
}
