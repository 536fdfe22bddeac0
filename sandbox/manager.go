package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/keiko-lab/keiko"
)

// Config tunes a Manager. Zero values take the documented defaults.
type Config struct {
	Sizes       map[string]Size // default DefaultSizes()
	DefaultSize string          // default "medium"
	TTL         time.Duration   // default 60 minutes
	// OrphanAfter expires a sandbox early once no terminal has been
	// connected for this long; zero never does.
	OrphanAfter time.Duration
	// ProvisionTimeout is how long a namespace may stay half-provisioned
	// before the reaper takes it for a leftover of a crash; default 2 min.
	ProvisionTimeout time.Duration
	MaxSandboxes     int // 0: unlimited
	MaxPerLearner    int // 0: unlimited
	PoolSize         int // warm sandboxes kept ready; 0: none
	// Self is Keiko's own ServiceAccount when it runs with the
	// least-privilege RBAC of deploy/kubernetes: each sandbox then first
	// binds it ManagerRole. Nil when Keiko may act in every namespace, as
	// the embedded cluster's admin may.
	Self *rbacv1.Subject
	// Server and CAData are the API address and CA learners' kubeconfigs
	// name; by default the ones Keiko itself uses.
	Server string
	CAData []byte
	// Known reports whether a session still holds sandbox id. Reconcile
	// deletes ready sandboxes it does not know: a server killed between
	// provisioning and recording the session must not leave one behind.
	// Nil, for callers without a session store, keeps them all.
	Known func(id string) bool
	// OnDelete is told of every sandbox Keiko deletes (expired, orphaned
	// or ended), so what lives outside the cluster, such as its shell,
	// goes with it.
	OnDelete func(id string)
	// OnCreate is told of every sandbox made, warm ones included, in a
	// goroutine of its own, so that what a learner will need there can
	// start ahead of them, such as their terminal pod.
	OnCreate func(namespace string)
	Now      func() time.Time
	Logger   *slog.Logger
}

// Manager provisions and tracks sandboxes on one cluster.
type Manager struct {
	cfg      Config
	client   kubernetes.Interface
	dynamic  dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	capacity *capacity
	pool     *pool
	activity *activity
	// namespaces lists sandbox namespaces from RunCache's informer; nil
	// until it has synced.
	namespaces atomic.Pointer[corelisters.NamespaceLister]
	deleted    sync.Map // names of namespaces this Manager deleted
}

// New returns a Manager acting with rc's identity, which must be allowed
// to manage namespaces and the objects in them.
func New(rc *rest.Config, cfg Config) (*Manager, error) {
	if cfg.Sizes == nil {
		cfg.Sizes = DefaultSizes()
	}
	if cfg.DefaultSize == "" {
		cfg.DefaultSize = "medium"
	}
	if _, ok := cfg.Sizes[cfg.DefaultSize]; !ok {
		return nil, fmt.Errorf("default size %q is not one of %v", cfg.DefaultSize, sizeNames(cfg.Sizes))
	}
	if cfg.TTL == 0 {
		cfg.TTL = 60 * time.Minute
	}
	if cfg.ProvisionTimeout == 0 {
		cfg.ProvisionTimeout = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Server == "" {
		cfg.Server = rc.Host
	}
	if cfg.CAData == nil {
		ca, err := caData(rc)
		if err != nil {
			return nil, err
		}
		cfg.CAData = ca
	}
	rc = rest.CopyConfig(rc)
	// Provisioning is a burst of small writes; client-go's default of 5
	// QPS would make one sandbox take seconds.
	if rc.QPS < 1000 {
		rc.QPS, rc.Burst = 1000, 2000
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("sandbox client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("sandbox dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("sandbox discovery client: %w", err)
	}
	return &Manager{
		cfg:      cfg,
		client:   client,
		dynamic:  dyn,
		mapper:   restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		capacity: newCapacity(cfg.MaxSandboxes, cfg.MaxPerLearner),
		pool:     newPool(),
		activity: newActivity(),
	}, nil
}

func caData(rc *rest.Config) ([]byte, error) {
	if len(rc.TLSClientConfig.CAData) > 0 {
		return rc.TLSClientConfig.CAData, nil
	}
	if rc.TLSClientConfig.CAFile != "" {
		b, err := os.ReadFile(rc.TLSClientConfig.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read cluster CA: %w", err)
		}
		return b, nil
	}
	return nil, nil
}

// normalize fills in defaults and rejects what cannot go into labels.
func (m *Manager) normalize(req Request) (Request, error) {
	if req.Size == "" {
		req.Size = m.cfg.DefaultSize
	}
	if req.PodSecurity == "" {
		req.PodSecurity = PodSecurityRestricted
	}
	if req.TTL == 0 {
		req.TTL = m.cfg.TTL
	}
	switch {
	case req.LearnerID == "" || !labelValue.MatchString(req.LearnerID):
		return req, keiko.Errorf(keiko.EINVALID, "Invalid learner id %q.", req.LearnerID)
	case req.ScenarioID == "" || !labelValue.MatchString(req.ScenarioID):
		return req, keiko.Errorf(keiko.EINVALID, "Invalid scenario id %q.", req.ScenarioID)
	case req.PodSecurity != PodSecurityRestricted && req.PodSecurity != PodSecurityBaseline:
		return req, keiko.Errorf(keiko.EINVALID, "Pod security level %q is not restricted or baseline.", req.PodSecurity)
	case req.TTL < 0:
		return req, keiko.Errorf(keiko.EINVALID, "Negative session length %s.", req.TTL)
	}
	if _, ok := m.cfg.Sizes[req.Size]; !ok {
		return req, keiko.Errorf(keiko.EINVALID, "Unknown sandbox size %q; sizes are %v.", req.Size, sizeNames(m.cfg.Sizes))
	}
	return req, nil
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// Live is the number of sandboxes counted against capacity.
func (m *Manager) Live() int { return m.capacity.count() }

// RunCache keeps a watch-fed copy of the sandboxes' namespaces until ctx
// ends, so that looking a sandbox up, which every API call of a learner
// does, costs no apiserver round trip. Until it has synced, and for a
// namespace it does not hold yet (one made a moment ago), lookups go to
// the apiserver.
func (m *Manager) RunCache(ctx context.Context) {
	f := informers.NewSharedInformerFactoryWithOptions(m.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = LabelManagedBy + "=" + ManagedBy
	}))
	lister := f.Core().V1().Namespaces().Lister()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), f.Core().V1().Namespaces().Informer().HasSynced) {
		return
	}
	m.namespaces.Store(&lister)
	<-ctx.Done()
	m.namespaces.Store(nil)
	f.Shutdown()
}

// cached is a live sandbox namespace from the cache, if it holds it.
func (m *Manager) cached(name string) (*corev1.Namespace, bool) {
	l := m.namespaces.Load()
	if l == nil {
		return nil, false
	}
	ns, err := (*l).Get(name)
	// The watch lags writes by milliseconds: a sandbox this Manager just
	// deleted, or one whose "ready" mark has not reached the cache, is
	// asked of the apiserver instead.
	if _, deleted := m.deleted.Load(name); err != nil || deleted || ns.DeletionTimestamp != nil || fromNamespace(ns).State != StateReady {
		return nil, false
	}
	return ns, true
}

// Limits are the most sandboxes at once (0: no limit) and the warm
// pool's size.
func (m *Manager) Limits() (maxSandboxes, poolSize int) { return m.cfg.MaxSandboxes, m.cfg.PoolSize }

// TTL is how long a sandbox lives, and how much an extension adds.
func (m *Manager) TTL() time.Duration { return m.cfg.TTL }
