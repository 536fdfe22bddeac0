package sandbox_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox"
)

func TestExpiredSandboxIsReaped(t *testing.T) {
	m := newManager(t, sandbox.Config{})
	sb := provision(t, m, sandbox.Request{TTL: 2 * time.Second})
	keep := provision(t, m, sandbox.Request{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.RunReaper(ctx, 100*time.Millisecond)

	admin := clustertest.Client(t)
	clustertest.Eventually(t, "expired namespace deleted", func(ctx context.Context) (bool, error) { return gone(ctx, admin, sb.Namespace) })
	if g, err := gone(context.Background(), admin, keep.Namespace); err != nil || g {
		t.Errorf("an unexpired sandbox was reaped (gone=%v, err=%v)", g, err)
	}
}

func TestOrphanedSandboxExpiresEarly(t *testing.T) {
	m := newManager(t, sandbox.Config{OrphanAfter: time.Second})
	sb := provision(t, m, sandbox.Request{})
	detach, err := m.Attach(context.Background(), sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	admin := clustertest.Client(t)

	// Connected for longer than OrphanAfter: it stays.
	time.Sleep(1500 * time.Millisecond)
	reaped, err := m.Reap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reaped {
		if r.Namespace == sb.Namespace {
			t.Fatalf("a sandbox with a connected terminal was reaped as %s", r.Reason)
		}
	}

	detach()
	clustertest.Eventually(t, "orphan reaped", func(ctx context.Context) (bool, error) {
		reaped, err := m.Reap(ctx)
		for _, r := range reaped {
			if r.Namespace == sb.Namespace && r.Reason != sandbox.ReasonOrphaned {
				t.Errorf("reaped as %s, want %s", r.Reason, sandbox.ReasonOrphaned)
			}
		}
		if err != nil {
			return false, err
		}
		return gone(ctx, admin, sb.Namespace)
	})
}

// TestReconcileRemovesHalfProvisionedSandboxes covers both ways provisioning
// stops halfway: a cancelled request, which cleans up after itself, and a
// killed process, which leaves a namespace marked provisioning for the next
// process to delete.
func TestReconcileRemovesHalfProvisionedSandboxes(t *testing.T) {
	admin := clustertest.Client(t)
	ctx := context.Background()

	// A killed process: the namespace and some objects exist, state is
	// still provisioning.
	leftover := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: sandbox.NamespaceFor("crashleftover"),
		Labels: map[string]string{
			sandbox.LabelManagedBy: sandbox.ManagedBy, sandbox.LabelState: sandbox.StateProvisioning,
			sandbox.LabelSession: "crashleftover", sandbox.LabelLearner: "crash",
		},
		Annotations: map[string]string{sandbox.AnnotationExpiresAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
	}}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, leftover, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().ServiceAccounts(leftover.Name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "learner"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Cancelled requests, cut off at random points of provisioning.
	m := newManager(t, sandbox.Config{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(40))*time.Millisecond)
			defer cancel()
			sb, err := m.Provision(ctx, sandbox.Request{LearnerID: "cancelled", ScenarioID: "s"})
			if err == nil {
				_ = m.Delete(context.Background(), sb.ID)
			}
		})
	}
	wg.Wait()

	restarted := newManager(t, sandbox.Config{})
	reaped, err := restarted.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range reaped {
		if r.Namespace == leftover.Name && r.Reason == sandbox.ReasonIncomplete {
			found = true
		}
	}
	if !found {
		t.Errorf("reconcile did not reap the crash leftover: %v", reaped)
	}
	list, err := admin.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sandbox.LabelManagedBy + "=" + sandbox.ManagedBy})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil && ns.Labels[sandbox.LabelState] == sandbox.StateProvisioning {
			t.Errorf("namespace %s left half-provisioned after reconcile", ns.Name)
		}
		if ns.DeletionTimestamp == nil && ns.Labels[sandbox.LabelLearner] == "cancelled" {
			t.Errorf("cancelled provisioning leaked namespace %s", ns.Name)
		}
	}
}

func TestWarmPoolRefillsAndSurvivesRestart(t *testing.T) {
	const size = 2
	m := newManager(t, sandbox.Config{PoolSize: size})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		sbs, _ := m.List(context.Background())
		for _, sb := range sbs {
			if sb.State == sandbox.StatePool {
				_ = clustertest.Client(t).CoreV1().Namespaces().Delete(context.Background(), sb.Namespace, metav1.DeleteOptions{})
			}
		}
	})
	go m.RunPool(ctx)
	clustertest.Eventually(t, "pool filled", func(context.Context) (bool, error) { return m.PoolLevel() == size, nil })

	sb := provision(t, m, sandbox.Request{PodSecurity: sandbox.PodSecurityBaseline})
	ns, err := clustertest.Client(t).CoreV1().Namespaces().Get(context.Background(), sb.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Annotations["keiko.dev/pooled-at"] == "" {
		t.Fatal("Provision did not claim a warm sandbox")
	}
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "baseline" {
		t.Errorf("claimed sandbox enforce = %q, want baseline", got)
	}
	if sb.Namespace != sandbox.NamespaceFor(sb.ID) || ns.Labels[sandbox.LabelSession] != sb.ID {
		t.Errorf("claimed sandbox %s is not named from its session %s", sb.Namespace, sb.ID)
	}
	if _, err := learnerClient(t, sb).CoreV1().Pods(sb.Namespace).List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Errorf("claimed sandbox's token does not work: %v", err)
	}
	clustertest.Eventually(t, "pool refilled", func(context.Context) (bool, error) { return m.PoolLevel() == size, nil })

	restarted := newManager(t, sandbox.Config{PoolSize: size})
	if _, err := restarted.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := restarted.PoolLevel(); got != size {
		t.Errorf("after restart the pool holds %d, want %d", got, size)
	}
}
