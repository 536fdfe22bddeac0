// Package sandbox provisions, expires and guards learners' isolated
// namespaces on a Kubernetes cluster.
//
// Every fact about a sandbox lives on its Namespace, as labels and
// annotations, so a restarted Keiko rebuilds its view from the cluster and
// leaks nothing: there is no second source of truth to fall out of step.
package sandbox

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"time"
)

// Labels and annotations Keiko puts on a sandbox's Namespace.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "keiko"
	LabelSession   = "keiko.dev/session"
	LabelLearner   = "keiko.dev/learner"
	LabelScenario  = "keiko.dev/scenario"
	LabelSize      = "keiko.dev/size"
	// LabelState is provisioning, ready or pool. A namespace left in
	// provisioning by a crash is deleted on the next reconcile.
	LabelState = "keiko.dev/state"

	AnnotationExpiresAt = "keiko.dev/expires-at"
	// AnnotationOrphanedSince is set while no terminal is connected; the
	// reaper deletes sandboxes orphaned for longer than Config.OrphanAfter.
	AnnotationOrphanedSince = "keiko.dev/orphaned-since"

	StateProvisioning = "provisioning"
	StateReady        = "ready"
	StatePool         = "pool"

	labelPSAEnforce        = "pod-security.kubernetes.io/enforce"
	labelPSAEnforceVersion = "pod-security.kubernetes.io/enforce-version"
	labelPSAWarn           = "pod-security.kubernetes.io/warn"
	labelPSAAudit          = "pod-security.kubernetes.io/audit"

	// LearnerServiceAccount is the identity learners act as.
	LearnerServiceAccount = "learner"
	namespacePrefix       = "keiko-"
)

// Pod Security levels a scenario may ask for.
const (
	PodSecurityRestricted = "restricted"
	PodSecurityBaseline   = "baseline"
)

// Sandbox is one learner's namespace.
type Sandbox struct {
	ID          string // also the session id
	Namespace   string
	LearnerID   string
	ScenarioID  string
	Size        string
	PodSecurity string
	State       string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// OrphanedSince is when the last terminal disconnected; zero while one
	// is connected.
	OrphanedSince time.Time
	// Warm is whether Provision claimed the sandbox from the warm pool.
	Warm bool
	// Kubeconfig is set by calls that issue a token: Provision, Extend and
	// Kubeconfig.
	Kubeconfig []byte
}

// Request asks for a sandbox.
type Request struct {
	LearnerID   string
	ScenarioID  string
	Size        string        // empty: Config.DefaultSize
	PodSecurity string        // empty: restricted
	TTL         time.Duration // empty: Config.TTL
	// Setup is applied into the namespace before Provision returns.
	Setup []byte
}

// idAlphabet keeps ids short and valid in DNS names and label values.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns 10 random characters: 51 bits, so collisions between live
// sandboxes are negligible and ids cannot be guessed.
func newID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// NamespaceFor is the namespace of sandbox id.
func NamespaceFor(id string) string { return namespacePrefix + id }

// labelValue matches what Kubernetes accepts as a label value; ids that go
// into labels are checked against it so a bad id fails with a clear error
// instead of an apiserver validation message.
var labelValue = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)

var sandboxID = regexp.MustCompile(`^[a-z0-9]{1,40}$`)
