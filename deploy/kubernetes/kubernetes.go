// Package kubernetes holds Keiko's manifests for running on a Kubernetes
// cluster; the admission guard is embedded, so that Keiko installs on the
// embedded cluster exactly what the kustomize base ships to a real one.
package kubernetes

import _ "embed"

// SandboxGuard holds the ValidatingAdmissionPolicies that keep learners
// inside their sandboxes where RBAC cannot.
//
//go:embed base/sandbox-guard.yaml
var SandboxGuard []byte
