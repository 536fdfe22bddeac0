package kubernetes_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/terminal/podexec"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// keikoUser is who Keiko is on a cluster, once the manifests are applied.
const keikoUser = "system:serviceaccount:keiko-system:keiko"

// kubectl runs the kubectl built into keiko-cluster, the version the
// embedded cluster is, against the test's cluster as its admin.
func kubectl(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"kubectl", "--kubeconfig", clustertest.Cluster(t).KubeconfigPath()}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(t, "", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// overlay is the path of an overlay, for kubectl -k.
func overlay(name string) string { return filepath.Join("overlays", name) }

// render is what an overlay holds, as kubectl kustomize builds it.
func render(t *testing.T, name string) []unstructured.Unstructured {
	t.Helper()
	out := mustKubectl(t, "kustomize", overlay(name))
	var objs []unstructured.Unstructured
	for _, doc := range strings.Split(out, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("overlay %s: %v", name, err)
		}
		if len(m) > 0 {
			objs = append(objs, unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// TestOverlaysHoldWhatTheDocsPromise reads each overlay as kustomize
// renders it.
func TestOverlaysHoldWhatTheDocsPromise(t *testing.T) {
	for _, name := range []string{"dev", "production"} {
		t.Run(name, func(t *testing.T) {
			kinds := map[string]int{}
			var terminalImage, prepulled string
			for _, o := range render(t, name) {
				kinds[o.GetKind()]++
				switch o.GetKind() {
				case "Deployment":
					terminalImage = envValue(t, o, "KEIKO_TERMINAL_IMAGE")
				case "DaemonSet":
					inits, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "initContainers")
					prepulled, _, _ = unstructured.NestedString(inits[0].(map[string]any), "image")
				}
				// The reaper deletes namespaces with this label once they
				// expire: Keiko's own must never carry it.
				if o.GetKind() == "Namespace" && o.GetLabels()[sandbox.LabelManagedBy] == sandbox.ManagedBy {
					t.Errorf("namespace %s is labelled as a sandbox", o.GetName())
				}
				if o.GetKind() == "Deployment" {
					checkDeployment(t, o)
				}
			}
			for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment", "Service", "Ingress", "PersistentVolumeClaim", "NetworkPolicy", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
				if kinds[k] == 0 {
					t.Errorf("no %s", k)
				}
			}
			if name == "dev" && kinds["CustomResourceDefinition"] == 0 {
				t.Error("dev has none of the tracks' CRDs")
			}
			if name == "production" && kinds["DaemonSet"] != 1 {
				t.Errorf("production has %d DaemonSets, want the terminal image pre-pull", kinds["DaemonSet"])
			}
			if kinds["DaemonSet"] > 0 && prepulled != terminalImage {
				t.Errorf("the pre-pull DaemonSet pulls %q, but Keiko's terminal image is %q", prepulled, terminalImage)
			}
		})
	}
}

// envValue is the value of the keiko container's environment variable name.
func envValue(t *testing.T, deployment unstructured.Unstructured, name string) string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "containers")
	env, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
	for _, e := range env {
		if e := e.(map[string]any); e["name"] == name {
			return e["value"].(string)
		}
	}
	t.Fatalf("the keiko container has no %s", name)
	return ""
}

func checkDeployment(t *testing.T, o unstructured.Unstructured) {
	t.Helper()
	var d appsv1.Deployment
	b, _ := o.MarshalJSON()
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if n := *d.Spec.Replicas; n != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s: SQLite wants one replica, replaced not rolled", n, d.Spec.Strategy.Type)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil {
		t.Error("the keiko container lacks a probe")
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("the keiko container has no memory request or limit")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("the keiko container's securityContext is not locked down: %+v", sc)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--terminal=pod") {
		t.Errorf("keiko's args %v do not put terminals in pods", c.Args)
	}
}

var applyOnce struct {
	sync.Once
	err error
}

// applied applies the production overlay as docs/operations.md says,
// first with a server-side dry run, once per test binary. The namespace
// goes first: a dry run cannot create it for the objects that live in it.
func applied(t testing.TB) {
	t.Helper()
	applyOnce.Do(func() {
		for _, args := range [][]string{
			{"apply", "--server-side", "-f", filepath.Join("base", "namespace.yaml")},
			// The dev overlay's CRDs are on the embedded cluster already,
			// as keiko-cluster's: applying them again must not conflict.
			{"apply", "--server-side", "--dry-run=server", "-k", overlay("dev")},
			{"apply", "--server-side", "--dry-run=server", "-k", overlay("production")},
			// As the docs say: production reads its admin password from it.
			{"-n", "keiko-system", "create", "secret", "generic", "keiko", "--from-literal=admin-password=manifests-test-password"},
			{"apply", "--server-side", "-k", overlay("production")},
		} {
			if out, err := kubectl(t, "", args...); err != nil {
				applyOnce.err = fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	if applyOnce.err != nil {
		t.Fatal(applyOnce.err)
	}
}

// TestManifestsApplyAndKeikoBecomesReady applies both overlays with a
// server-side dry run, which runs every admission check, then the
// production one for real: kwok plays the kubelet, so the Deployment turns
// Ready once its pod passes the namespace's restricted Pod Security and
// its claim binds.
func TestManifestsApplyAndKeikoBecomesReady(t *testing.T) {
	applied(t)
	cs := clustertest.Client(t)
	clustertest.Eventually(t, "the keiko Deployment available", func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments("keiko-system").Get(ctx, "keiko", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 1 && d.Status.ReadyReplicas == 1, err
	})
	clustertest.Eventually(t, "the pre-pull DaemonSet ready", func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().DaemonSets("keiko-system").Get(ctx, "keiko-terminal-prepull", metav1.GetOptions{})
		return err == nil && d.Status.DesiredNumberScheduled > 0 && d.Status.NumberReady == d.Status.DesiredNumberScheduled, err
	})
	pvc, err := cs.CoreV1().PersistentVolumeClaims("keiko-system").Get(context.Background(), "keiko-data", metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Errorf("keiko-data claim: %v, phase %v", err, pvc.Status.Phase)
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), "keiko-system", metav1.GetOptions{})
	if err != nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("keiko-system: %v, labels %v; want restricted Pod Security enforced", err, ns.Labels)
	}
}

// TestKeikoMayDoWhatItNeedsAndNothingElse probes Keiko's ServiceAccount the
// way an auditor would, with kubectl auth can-i, before and after it has
// made a sandbox, then sends the requests RBAC alone would let through to
// the admission policy that keeps Keiko to its sandboxes.
func TestKeikoMayDoWhatItNeedsAndNothingElse(t *testing.T) {
	applied(t)
	m, _ := keikoManager(t)
	sb, err := m.Provision(context.Background(), sandbox.Request{LearnerID: "auditor", ScenarioID: "rbac"})
	if err != nil {
		t.Fatalf("Keiko cannot provision with its own rights: %v", err)
	}
	defer func() { _ = m.Delete(context.Background(), sb.ID) }()
	box := sb.Namespace

	for _, c := range []struct {
		args []string
		want bool
	}{
		// What Keiko needs, cluster-wide.
		{[]string{"create", "namespaces"}, true},
		{[]string{"delete", "namespaces"}, true},
		{[]string{"watch", "namespaces"}, true},
		{[]string{"create", "subjectaccessreviews.authorization.k8s.io"}, true},
		{[]string{"bind", "clusterroles/admin"}, true},
		{[]string{"bind", "clusterroles/keiko-sandbox"}, true},
		{[]string{"get", "validatingadmissionpolicies/keiko-sandbox-guard"}, true},
		// What it needs in its sandbox, through the sandbox's own binding.
		{[]string{"create", "serviceaccounts/token", "-n", box}, true},
		{[]string{"create", "resourcequotas", "-n", box}, true},
		{[]string{"create", "networkpolicies.networking.k8s.io", "-n", box}, true},
		{[]string{"create", "pods", "-n", box}, true},
		{[]string{"create", "pods/exec", "-n", box}, true},
		{[]string{"get", "secrets", "-n", box}, true},
		{[]string{"create", "deployments.apps", "-n", box}, true},
		{[]string{"create", "services.serving.knative.dev", "-n", box}, true},
		// Nothing outside its sandboxes.
		{[]string{"get", "secrets", "-n", "kube-system"}, false},
		{[]string{"get", "secrets", "-n", "keiko-system"}, false},
		{[]string{"list", "secrets", "--all-namespaces"}, false},
		{[]string{"get", "configmaps", "-n", "default"}, false},
		{[]string{"create", "pods", "-n", "default"}, false},
		{[]string{"create", "pods/exec", "-n", "kube-system"}, false},
		{[]string{"create", "serviceaccounts/token", "-n", "kube-system"}, false},
		{[]string{"list", "pods", "--all-namespaces"}, false},
		{[]string{"get", "nodes"}, false},
		// No cluster-admin, and no way to it.
		{[]string{"*", "*"}, false},
		{[]string{"escalate", "clusterroles"}, false},
		{[]string{"bind", "clusterroles/cluster-admin"}, false},
		{[]string{"bind", "clusterroles/edit"}, false},
		{[]string{"create", "clusterroles"}, false},
		{[]string{"create", "clusterrolebindings"}, false},
		{[]string{"impersonate", "users"}, false},
		{[]string{"impersonate", "serviceaccounts"}, false},
		{[]string{"create", "customresourcedefinitions.apiextensions.k8s.io"}, false},
		{[]string{"update", "validatingadmissionpolicies/keiko-sandbox-guard"}, false},
		{[]string{"delete", "validatingadmissionpolicies/keiko-scope"}, false},
		{[]string{"create", "certificatesigningrequests.certificates.k8s.io"}, false},
	} {
		args := append([]string{"auth", "can-i", "--as=" + keikoUser}, c.args...)
		out, _ := kubectl(t, "", args...)                    // can-i exits 1 for "no"
		lines := strings.Split(strings.TrimSpace(out), "\n") // after warnings
		got := lines[len(lines)-1]
		if want := map[bool]string{true: "yes", false: "no"}[c.want]; got != want {
			t.Errorf("can-i %s: %q, want %s", strings.Join(c.args, " "), got, want)
		}
	}

	// RBAC lets Keiko create namespaces and RoleBindings anywhere; the
	// keiko-scope policy refuses whatever is not a sandbox of its own.
	as := "--as=" + keikoUser
	mustKubectl(t, "create", "namespace", "someone-elses")
	for _, c := range []struct {
		what  string
		stdin string
		args  []string
	}{
		{"delete another namespace", "", []string{"delete", "namespace", "someone-elses", "--dry-run=server", as}},
		{"a namespace without the sandbox label", "", []string{"create", "namespace", "not-a-sandbox", "--dry-run=server", as}},
		{"a RoleBinding in kube-system", "", []string{"create", "rolebinding", "grab", "--clusterrole=admin", "--serviceaccount=keiko-system:keiko", "-n", "kube-system", "--dry-run=server", as}},
		{"take another namespace over", "", []string{"label", "namespace", "someone-elses", "app.kubernetes.io/managed-by=keiko", "--dry-run=server", as}},
	} {
		refused(t, c.what+" as Keiko", "keiko-scope", func() error {
			if out, err := kubectl(t, c.stdin, c.args...); err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			return nil
		})
	}
	// And lets it do its work.
	ok := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: keiko-scope-probe\n  labels:\n    app.kubernetes.io/managed-by: keiko\n"
	if out, err := kubectl(t, ok, "create", "-f", "-", "--dry-run=server", as); err != nil {
		t.Errorf("a sandbox namespace as Keiko: %v\n%s", err, out)
	}
}

// keikoManager is a sandbox Manager acting as Keiko's ServiceAccount, with
// a token as a pod of the Deployment gets one.
func keikoManager(t testing.TB) (*sandbox.Manager, *rest.Config) {
	t.Helper()
	admin := clustertest.Config(t)
	exp := int64(3600)
	tr, err := clustertest.Client(t).CoreV1().ServiceAccounts("keiko-system").CreateToken(context.Background(), "keiko",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &rest.Config{Host: admin.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData}}
	self, err := sandbox.ServiceAccountOf(context.Background(), rc)
	if err != nil || self == nil || self.Namespace != "keiko-system" || self.Name != "keiko" {
		t.Fatalf("Keiko's identity: %+v, %v", self, err)
	}
	m, err := sandbox.New(rc, sandbox.Config{Self: self})
	if err != nil {
		t.Fatal(err)
	}
	// Keiko may not install the guard here; it must find the one the
	// manifests installed.
	if _, err := m.Reconcile(context.Background()); err != nil {
		t.Fatalf("reconcile as Keiko: %v", err)
	}
	return m, rc
}

// TestTerminalPodSessionAsKeiko runs cluster mode's terminal end to end
// with Keiko's least-privilege identity: a sandbox, its terminal pod run as
// the learner's ServiceAccount, a shell in it over the exec API (kwok
// simulates the kubelet's exec with a real process and pty), and a script
// the way script checks run.
func TestTerminalPodSessionAsKeiko(t *testing.T) {
	applied(t)
	m, rc := keikoManager(t)
	ctx := context.Background()
	sb, err := m.Provision(ctx, sandbox.Request{LearnerID: "learner-1", ScenarioID: "terminal"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Delete(ctx, sb.ID) }()

	pods := terminalPods(t, rc)
	sh, err := pods.Start(ctx, sb.ID, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if _, err := io.WriteString(sh, "echo he''llo; stty size\n"); err != nil {
		t.Fatal(err)
	}
	var shellOut bytes.Buffer
	clustertest.ReadUntil(t, sh, &shellOut, 0, "hello")

	pod, err := pods.Client.CoreV1().Pods(sb.Namespace).Get(ctx, podexec.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != sandbox.LearnerServiceAccount || pod.Spec.AutomountServiceAccountToken == nil || !*pod.Spec.AutomountServiceAccountToken {
		t.Errorf("terminal pod runs as %q (automount %v); kubectl in it must be the learner", pod.Spec.ServiceAccountName, pod.Spec.AutomountServiceAccountToken)
	}

	code, out, err := pods.Run(ctx, sb.ID, nil, "echo from-a-script; exit 3\n")
	if err != nil || code != 3 || !strings.Contains(string(out), "from-a-script") {
		t.Errorf("script: code %d, output %q, err %v; want 3 and its output", code, out, err)
	}

	// A learner cannot pass their own pod off as a terminal.
	learner, err := clientcmd.RESTConfigFromKubeConfig(sb.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := kubernetes.NewForConfig(learner)
	if err != nil {
		t.Fatal(err)
	}
	fake := pod.DeepCopy()
	fake.ObjectMeta = metav1.ObjectMeta{Name: "not-a-terminal", Labels: map[string]string{sandbox.LabelTerminal: "true"}}
	fake.Spec.NodeName = ""
	refused(t, "a learner's pod labelled as a terminal", "keiko-terminal-guard", func() error {
		_, err := lc.CoreV1().Pods(sb.Namespace).Create(ctx, fake, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})

	// Nor swap in a pod of their own under the terminal's name: Keiko
	// replaces it with its own before the next shell opens.
	sh.Close()
	zero := int64(0)
	if err := lc.CoreV1().Pods(sb.Namespace).Delete(ctx, podexec.PodName, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	own := fake.DeepCopy()
	own.ObjectMeta = metav1.ObjectMeta{Name: podexec.PodName}
	if _, err := lc.CoreV1().Pods(sb.Namespace).Create(ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sh2, err := pods.Start(ctx, sb.ID, 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	defer sh2.Close()
	pod, err = pods.Client.CoreV1().Pods(sb.Namespace).Get(ctx, podexec.PodName, metav1.GetOptions{})
	if err != nil || pod.Labels[sandbox.LabelTerminal] != "true" {
		t.Errorf("the shell opened in the learner's own pod: %v, labels %v", err, pod.Labels)
	}
}

// refused requires try to be refused by the admission policy named. A
// policy just created takes a moment to reach the apiserver's admission
// chain, so an early success is tried again; a refusal for any other
// reason fails at once.
func refused(t *testing.T, what, policy string, try func() error) {
	t.Helper()
	clustertest.Eventually(t, what+": refused by "+policy, func(context.Context) (bool, error) {
		err := try()
		if err != nil && !strings.Contains(err.Error(), policy) {
			return false, err
		}
		return err != nil, nil
	})
}

// terminalPods makes terminal pods with rc's identity, as serve does.
func terminalPods(t testing.TB, rc *rest.Config) *podexec.Pods {
	t.Helper()
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := podexec.NewExecutor(rc)
	if err != nil {
		t.Fatal(err)
	}
	return &podexec.Pods{
		Client: cs, Exec: ex, Image: "ghcr.io/keiko-lab/keiko-terminal:test",
		ServiceAccount: sandbox.LearnerServiceAccount,
		Labels:         map[string]string{sandbox.LabelTerminal: "true"},
		Namespace:      sandbox.NamespaceFor,
	}
}

// TestRequiresAreCheckedAgainstDiscovery: a scenario's requires are looked
// up in the cluster's API discovery with Keiko's own identity, which every
// authenticated user may read.
func TestRequiresAreCheckedAgainstDiscovery(t *testing.T) {
	applied(t)
	m, _ := keikoManager(t)
	missing, err := m.Missing([]string{"v1/Pod", "serving.knative.dev/v1/Service", "kubeflow.org/v1/Notebook"})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != "kubeflow.org/v1/Notebook" {
		t.Errorf("missing = %v, want only the kind the cluster does not serve", missing)
	}
}
