package sandbox

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

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

// Limits are the most sandboxes at once (0: no limit) and the warm
// pool's size.
func (m *Manager) Limits() (maxSandboxes, poolSize int) { return m.cfg.MaxSandboxes, m.cfg.PoolSize }

// TTL is how long a sandbox lives, and how much an extension adds.
func (m *Manager) TTL() time.Duration { return m.cfg.TTL }
