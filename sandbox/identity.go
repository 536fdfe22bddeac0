package sandbox

import (
	"context"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ServiceAccountOf asks the cluster who rc authenticates as, and returns
// that ServiceAccount, or nil for any other user. It is what Config.Self
// needs when Keiko runs with the RBAC of deploy/kubernetes.
func ServiceAccountOf(ctx context.Context, rc *rest.Config) (*rbacv1.Subject, error) {
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("identity client: %w", err)
	}
	r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("ask the cluster who Keiko is: %w", err)
	}
	sa, ok := strings.CutPrefix(r.Status.UserInfo.Username, "system:serviceaccount:")
	if !ok {
		return nil, nil
	}
	ns, name, ok := strings.Cut(sa, ":")
	if !ok {
		return nil, nil
	}
	return &rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}, nil
}
