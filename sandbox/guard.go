package sandbox

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	manifests "github.com/keiko-lab/keiko/deploy/kubernetes"
)

// The guard is the ValidatingAdmissionPolicies that refuse what RBAC
// cannot: the admin role lets learners write NetworkPolicies (which are
// additive, so one "allow all" would undo isolation) and bind any subject
// in their RoleBindings (so learner A could let learner B, or every
// authenticated user, into A's namespace). The policy applies only to
// requests from a sandbox's own ServiceAccounts inside Keiko's namespaces;
// Keiko and cluster admins are unaffected. A second policy reserves the
// terminal pods' label to Keiko.

// EnsureGuard installs or updates the admission guard. It needs Kubernetes
// 1.30 or later, where ValidatingAdmissionPolicy is GA.
func (m *Manager) EnsureGuard(ctx context.Context) error {
	objs, err := Decode(manifests.SandboxGuard)
	if err != nil {
		return fmt.Errorf("guard manifests: %w", err)
	}
	err = m.applyCluster(ctx, objs)
	if err == nil || !apierrors.IsForbidden(err) {
		if err != nil {
			return fmt.Errorf("install sandbox admission guard: %w", err)
		}
		return nil
	}
	// With the least-privilege RBAC of deploy/kubernetes, the cluster's
	// admin installs the guard and Keiko may only read it: a policy
	// Keiko could write could refuse anything in the cluster.
	for _, o := range objs {
		mapping, err := m.mapping(o.GroupVersionKind())
		if err != nil {
			return err
		}
		_, err = m.dynamic.Resource(mapping.Resource).Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return fmt.Errorf("the sandbox admission guard (%s %s) is not installed, and Keiko may not install it: apply deploy/kubernetes as a cluster admin (docs/operations.md): %w", o.GetKind(), o.GetName(), err)
		}
		if err != nil {
			return fmt.Errorf("read sandbox admission guard: %w", err)
		}
	}
	return nil
}
