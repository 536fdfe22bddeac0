package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keiko-lab/keiko/sandbox"
)

// SandboxOptions size a sandbox benchmark.
type SandboxOptions struct {
	// Levels maps each concurrency to how many sandboxes to provision at
	// it, for Keiko and for the floor alike.
	Levels []Level
	// PoolClaims is how many warm sandboxes to claim, one at a time.
	PoolClaims int
	Progress   io.Writer
}

// Level is one concurrency and its sample size.
type Level struct{ Concurrency, Count int }

// DefaultSandboxOptions are the figures recorded in docs/benchmarks.md.
func DefaultSandboxOptions() SandboxOptions {
	return SandboxOptions{
		Levels:     []Level{{1, 40}, {10, 200}, {50, 300}},
		PoolClaims: 40,
		Progress:   io.Discard,
	}
}

// SandboxRow is one concurrency level's result.
type SandboxRow struct {
	Concurrency int
	Keiko       Latencies // sandbox.Manager.Provision, no warm pool
	Floor       Latencies // the same object creates, raw client-go
}

// SandboxReport is the whole benchmark's result.
type SandboxReport struct {
	Rows      []SandboxRow
	WarmClaim Latencies
}

// Sandbox benchmarks provisioning on the cluster rc points at. It leaves
// the sandboxes it made being deleted in the background.
func Sandbox(ctx context.Context, rc *rest.Config, opts SandboxOptions) (*SandboxReport, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	m, err := sandbox.New(rc, sandbox.Config{})
	if err != nil {
		return nil, err
	}
	// The cluster may be a live one (--kubeconfig): install the guard the
	// sandboxes need, but leave other sandboxes alone.
	if err := m.EnsureGuard(ctx); err != nil {
		return nil, err
	}
	fl, err := newFloor(rc)
	if err != nil {
		return nil, err
	}
	var made []string
	var mu sync.Mutex
	defer func() { cleanup(rc, made) }()
	keep := func(ns string) {
		mu.Lock()
		made = append(made, ns)
		mu.Unlock()
	}

	report := &SandboxReport{}
	for _, l := range opts.Levels {
		fmt.Fprintf(opts.Progress, "provisioning %d sandboxes at concurrency %d, Keiko and floor interleaved…\n", l.Count, l.Concurrency)
		var keiko, floor []time.Duration
		// Interleave halves so that both see the same cluster state.
		for half := range 2 {
			n := l.Count / 2
			if half == 1 {
				n = l.Count - n
			}
			ds, err := run(n, l.Concurrency, func() error {
				ns, err := fl.provision(ctx)
				keep(ns)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("floor: %w", err)
			}
			floor = append(floor, ds...)
			ds, err = run(n, l.Concurrency, func() error {
				sb, err := m.Provision(ctx, sandbox.Request{LearnerID: "bench", ScenarioID: "bench"})
				if sb != nil {
					keep(sb.Namespace)
				}
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("keiko: %w", err)
			}
			keiko = append(keiko, ds...)
		}
		report.Rows = append(report.Rows, SandboxRow{Concurrency: l.Concurrency, Keiko: summarize(keiko), Floor: summarize(floor)})
	}

	if opts.PoolClaims > 0 {
		fmt.Fprintf(opts.Progress, "filling a warm pool of %d, then claiming one at a time…\n", opts.PoolClaims)
		claims, err := warmClaims(ctx, rc, opts.PoolClaims, keep)
		if err != nil {
			return nil, err
		}
		report.WarmClaim = summarize(claims)
	}
	return report, nil
}

// warmClaims fills a pool, stops refilling it, and times claims: the
// latency a learner sees when a warm sandbox is waiting.
func warmClaims(ctx context.Context, rc *rest.Config, n int, keep func(string)) ([]time.Duration, error) {
	m, err := sandbox.New(rc, sandbox.Config{PoolSize: n})
	if err != nil {
		return nil, err
	}
	poolCtx, stop := context.WithCancel(ctx)
	go m.RunPool(poolCtx)
	for m.PoolLevel() < n {
		select {
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	return run(n, 1, func() error {
		sb, err := m.Provision(ctx, sandbox.Request{LearnerID: "bench", ScenarioID: "bench"})
		if sb != nil {
			keep(sb.Namespace)
		}
		return err
	})
}

// floor creates what a sandbox is made of, with plain client-go and
// nothing else: the namespace, then the ServiceAccount, Role, RoleBinding,
// ResourceQuota, LimitRange and NetworkPolicy in parallel, then a token.
type floor struct{ c kubernetes.Interface }

func newFloor(rc *rest.Config) (*floor, error) {
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = 1000, 2000
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	return &floor{c: c}, nil
}

func (f *floor) provision(ctx context.Context) (string, error) {
	o := metav1.CreateOptions{}
	ns, err := f.c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "floor-", Labels: map[string]string{"keiko.dev/bench": "floor"},
	}}, o)
	if err != nil {
		return "", err
	}
	n := ns.Name
	meta := metav1.ObjectMeta{Name: "learner"}
	errs := make(chan error, 6)
	var wg sync.WaitGroup
	for _, create := range []func() error{
		func() error {
			_, err := f.c.CoreV1().ServiceAccounts(n).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta}, o)
			return err
		},
		func() error {
			_, err := f.c.RbacV1().Roles(n).Create(ctx, &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}, o)
			return err
		},
		func() error {
			_, err := f.c.RbacV1().RoleBindings(n).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta,
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "learner"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "learner", Namespace: n}}}, o)
			return err
		},
		func() error {
			_, err := f.c.CoreV1().ResourceQuotas(n).Create(ctx, &corev1.ResourceQuota{ObjectMeta: meta, Spec: corev1.ResourceQuotaSpec{Hard: sandbox.DefaultSizes()["medium"].Quota}}, o)
			return err
		},
		func() error {
			_, err := f.c.CoreV1().LimitRanges(n).Create(ctx, &corev1.LimitRange{ObjectMeta: meta, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
				Type: corev1.LimitTypeContainer, Default: sandbox.DefaultSizes()["medium"].DefaultLimit}}}}, o)
			return err
		},
		func() error {
			_, err := f.c.NetworkingV1().NetworkPolicies(n).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: meta, Spec: networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}}, o)
			return err
		},
	} {
		wg.Go(func() { errs <- create() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return n, err
		}
	}
	_, err = f.c.CoreV1().ServiceAccounts(n).CreateToken(ctx, "learner", &authenticationv1.TokenRequest{}, o)
	return n, err
}

// cleanup deletes what a benchmark made, without waiting: namespace
// deletion takes seconds each, and the figures are already taken.
func cleanup(rc *rest.Config, namespaces []string) {
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	for _, ns := range namespaces {
		_ = c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{PropagationPolicy: &bg})
	}
}
