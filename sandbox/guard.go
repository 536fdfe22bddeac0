package sandbox

import (
	"context"
	_ "embed"
	"fmt"
)

// guardManifests hold the ValidatingAdmissionPolicy that refuses what RBAC
// cannot: the admin role lets learners write NetworkPolicies (which are
// additive, so one "allow all" would undo isolation) and bind any subject
// in their RoleBindings (so learner A could let learner B, or every
// authenticated user, into A's namespace). The policy applies only to
// requests from a sandbox's own ServiceAccounts inside Keiko's namespaces;
// Keiko and cluster admins are unaffected.
//
//go:embed guard.yaml
var guardManifests []byte

// EnsureGuard installs or updates the admission guard. It needs Kubernetes
// 1.30 or later, where ValidatingAdmissionPolicy is GA.
func (m *Manager) EnsureGuard(ctx context.Context) error {
	objs, err := Decode(guardManifests)
	if err != nil {
		return fmt.Errorf("guard manifests: %w", err)
	}
	if err := m.applyCluster(ctx, objs); err != nil {
		return fmt.Errorf("install sandbox admission guard: %w", err)
	}
	return nil
}
