package check_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox/check"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func namespace(t testing.TB) string {
	t.Helper()
	cs := clustertest.Client(t)
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "check-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	return ns.Name
}

func engine(t testing.TB, scripts check.ScriptRunner) *check.Engine {
	t.Helper()
	dyn, err := dynamic.NewForConfig(clustertest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	return check.New(dyn, scripts)
}

func deployment(t testing.TB, ns, name string, replicas int32, labels map[string]string) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := clustertest.Client(t).AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkCase is one check and the result it must give.
type checkCase struct {
	name    string
	check   keiko.Check
	passed  bool
	message string
	detail  string // a part of it
}

func (tc checkCase) run(t *testing.T, e *check.Engine, tgt check.Target) {
	t.Run(tc.name, func(t *testing.T) {
		r := e.Evaluate(context.Background(), tgt, []keiko.Check{tc.check})[0]
		if r.Passed != tc.passed || r.Message != tc.message || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("got %+v, want passed %v, message %q, detail with %q", r, tc.passed, tc.message, tc.detail)
		}
	})
}

var webReady = keiko.Check{
	Resource: "apps/v1/deployments",
	Name:     "web",
	Expr:     "object != null && object.?status.readyReplicas.orValue(0) >= 2",
	Message:  keiko.Text{"en": "Create deployment web with 2 ready replicas.", "ja": "web を作ってください。"},
	MessageExpr: keiko.Text{"en": "object == null ? 'There is no deployment web yet.' : " +
		"'deployment web has ' + string(object.?status.readyReplicas.orValue(0)) + ' ready replicas, 2 wanted'"},
}

func TestResourceChecks(t *testing.T) {
	ns := namespace(t)
	e := engine(t, nil)
	ctx := context.Background()
	tgt := check.Target{Namespace: ns, Lang: "en"}

	got := e.Evaluate(ctx, tgt, []keiko.Check{webReady})
	if got[0].Passed || got[0].Message != "There is no deployment web yet." {
		t.Errorf("before: %+v, want a failure saying there is no deployment", got[0])
	}
	// Japanese has no messageExpr: the static Japanese message, not English values.
	if got := e.Evaluate(ctx, check.Target{Namespace: ns, Lang: "ja"}, []keiko.Check{webReady}); got[0].Message != "web を作ってください。" {
		t.Errorf("ja message = %q", got[0].Message)
	}

	deployment(t, ns, "web", 2, map[string]string{"tier": "front"})
	clustertest.Eventually(t, "check passes once the deployment is ready", func(ctx context.Context) (bool, error) {
		return e.Evaluate(ctx, tgt, []keiko.Check{webReady})[0].Passed, nil
	})

	for _, tc := range []checkCase{
		{"live values in the message", keiko.Check{Resource: "apps/v1/deployments", Name: "web",
			Expr:        "object.spec.replicas >= 3",
			MessageExpr: keiko.Text{"en": "'deployment web has ' + string(object.spec.replicas) + ' replicas, 3 wanted'"}},
			false, "deployment web has 2 replicas, 3 wanted", ""},
		{"selector over objects", keiko.Check{Resource: "v1/pods", Selector: "app=web",
			Expr: "objects.size() == 2 && objects.all(p, p.status.phase == 'Running')"}, true, "", ""},
		{"no selector: everything", keiko.Check{Resource: "apps/v1/deployments",
			Expr: "objects.exists(d, d.metadata.labels.tier == 'front')"}, true, "", ""},
		{"the namespace variable", keiko.Check{Resource: "apps/v1/deployments", Name: "web",
			Expr: "object.metadata.namespace == ns"}, true, "", ""},
		{"an expression error fails, with the error for authors", keiko.Check{Resource: "apps/v1/deployments", Name: "web",
			Expr: "object.status.noSuchField > 0", Message: keiko.Text{"en": "Fix it."}}, false, "Fix it.", "no such key"},
		{"a resource the cluster lacks", keiko.Check{Resource: "widgets.example.com/v1/widgets", Name: "hello",
			Expr: "object != null", Message: keiko.Text{"en": "Deploy hello."}}, false, "Deploy hello.", "read widgets.example.com/v1/widgets"},
		{"no message at all", keiko.Check{Resource: "v1/configmaps", Name: "absent", Expr: "object != null"}, false, "Not done yet.", ""},
	} {
		tc.run(t, e, tgt)
	}
}

// scripts is a ScriptRunner for the engine's own logic; the real runner,
// the jail, has its own tests.
type scripts func(ctx context.Context, script string) (int, []byte, error)

func (f scripts) Run(ctx context.Context, _ string, _ []byte, script string) (int, []byte, error) {
	return f(ctx, script)
}

func TestScriptChecks(t *testing.T) {
	run := scripts(func(ctx context.Context, script string) (int, []byte, error) {
		switch script {
		case "pass":
			return 0, []byte("ok\n"), nil
		case "fail with reason":
			return 1, []byte("checking\nFAIL: first\nFAIL: create ~/done first\n"), nil
		case "fail":
			return 2, []byte("nothing useful"), nil
		case "hang":
			<-ctx.Done()
			return -1, nil, ctx.Err()
		}
		return -1, nil, nil
	})
	e := engine(t, run)
	for _, tc := range []checkCase{
		{"exit 0 passes", keiko.Check{Script: "pass"}, true, "", ""},
		{"the last FAIL line is the message", keiko.Check{Script: "fail with reason", Message: keiko.Text{"en": "unused"}}, false, "create ~/done first", "exit 1"},
		{"no FAIL line: the check's message", keiko.Check{Script: "fail", Message: keiko.Text{"en": "Write the file."}}, false, "Write the file.", "nothing useful"},
		{"a timeout fails", keiko.Check{Script: "hang", Timeout: 50 * time.Millisecond}, false, "Not done yet.", "timed out after 50ms"},
	} {
		tc.run(t, e, check.Target{Lang: "en"})
	}
	if r := engine(t, nil).Evaluate(context.Background(), check.Target{}, []keiko.Check{{Script: "pass"}})[0]; r.Passed {
		t.Error("a script check passed with no learner environment to run it in")
	}
}

// TestWatchReportsChanges: a step turns green by itself when the cluster
// changes, and back when it changes back.
func TestWatchReportsChanges(t *testing.T) {
	ns := namespace(t)
	e := engine(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan []keiko.CheckResult, 16)
	checks := []keiko.Check{webReady, {Resource: "serving.knative.dev/v1/services", Name: "x", Expr: "true"}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Watch(ctx, check.Target{Namespace: ns, Lang: "en"}, checks, func(r []keiko.CheckResult) { reports <- r })
	}()
	next := func(want bool) {
		t.Helper()
		for {
			select {
			case r := <-reports:
				if r[0].Passed == want {
					return
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no report with web passed = %v", want)
			}
		}
	}
	next(false)
	deployment(t, ns, "web", 2, nil)
	next(true)
	if err := clustertest.Client(t).AppsV1().Deployments(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next(false)
	cancel()
	<-done
}
