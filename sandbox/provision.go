package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/keiko-lab/keiko"
)

// minTokenLifetime is the shortest token the TokenRequest API issues.
// A session shorter than that still loses access when it ends: deleting
// the namespace deletes the ServiceAccount the token is bound to.
const minTokenLifetime = 10 * time.Minute

// cleanupTimeout bounds deleting a half-made sandbox after a failure; it
// runs on a fresh context because the caller's may be what failed.
const cleanupTimeout = 30 * time.Second

// Provision creates a sandbox for req, or claims a warm one, applies the
// scenario's setup, and returns it with a kubeconfig for the learner.
func (m *Manager) Provision(ctx context.Context, req Request) (*Sandbox, error) {
	req, err := m.normalize(req)
	if err != nil {
		return nil, err
	}
	now := m.now()
	expires := now.Add(req.TTL)

	sb, err := m.claim(ctx, req, now, expires)
	if err != nil {
		return nil, err
	}
	if sb != nil {
		sb.Warm = true
	} else {
		id := newID()
		ns := NamespaceFor(id)
		if err := m.capacity.reserve(ns, req.LearnerID, expires, now); err != nil {
			return nil, err
		}
		sb, err = m.create(ctx, id, req, now, expires)
		if err != nil {
			m.capacity.release(ns)
			return nil, err
		}
	}
	if len(req.Setup) > 0 {
		if err := m.Apply(ctx, sb.Namespace, req.Setup); err != nil {
			m.discard(sb.Namespace)
			return nil, err
		}
	}
	return sb, nil
}

// create makes a sandbox from scratch: the namespace first, then its
// objects in parallel, then the token and the "ready" mark in parallel.
// A learner-less create (req.LearnerID == "") makes a pool sandbox.
func (m *Manager) create(ctx context.Context, id string, req Request, now, expires time.Time) (*Sandbox, error) {
	ns := NamespaceFor(id)
	final := StateReady
	labels := map[string]string{LabelSession: id, LabelLearner: req.LearnerID, LabelScenario: req.ScenarioID}
	annotations := map[string]string{
		AnnotationExpiresAt:     formatTime(expires),
		AnnotationOrphanedSince: formatTime(now),
	}
	if req.LearnerID == "" {
		final = StatePool
		labels = nil
		annotations = map[string]string{annotationPooledAt: formatTime(now)}
	}
	size := m.cfg.Sizes[req.Size]
	nsObj := namespaceObject(ns, StateProvisioning, req.Size, req.PodSecurity, labels, annotations)
	created, err := m.client.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{})
	if err != nil {
		return nil, m.apiError("create namespace", err)
	}

	fail := func(err error) (*Sandbox, error) {
		m.discard(ns)
		return nil, err
	}
	c := m.client
	opts := metav1.CreateOptions{}
	if self := m.cfg.Self; self != nil {
		if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, managerBinding(*self), opts); err != nil {
			return fail(m.apiError("grant Keiko the sandbox", err))
		}
		if err := m.waitAuthorized(ctx, ns, self.Namespace, self.Name, "serviceaccounts", nil); err != nil {
			return fail(m.apiError("grant Keiko the sandbox", err))
		}
	}
	if err := parallel(
		func() error { _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, serviceAccount(), opts); return err },
		func() error { _, err := c.RbacV1().RoleBindings(ns).Create(ctx, learnerBinding(ns), opts); return err },
		func() error {
			_, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, resourceQuota(size), opts)
			return err
		},
		func() error { _, err := c.CoreV1().LimitRanges(ns).Create(ctx, limitRange(size), opts); return err },
		func() error {
			_, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, networkPolicy(), opts)
			return err
		},
		func() error {
			_, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, terminalEgress(), opts)
			return err
		},
	); err != nil {
		return fail(m.apiError("create sandbox objects", err))
	}

	var token string
	mark := func() error { return m.patchNamespace(ctx, ns, "labels", LabelState, final) }
	issued := make(chan struct{})
	issue := func() (err error) {
		defer close(issued)
		if final == StatePool {
			return nil // a pool sandbox gets its token when claimed
		}
		token, err = m.token(ctx, ns, expires)
		return err
	}
	authorized := func() error {
		if final == StatePool {
			return nil // long authorized by the time it is claimed
		}
		return m.waitAuthorized(ctx, ns, ns, LearnerServiceAccount, "pods", issued)
	}
	if err := parallel(mark, issue, authorized); err != nil {
		return fail(m.apiError("finish sandbox", err))
	}

	if m.cfg.OnCreate != nil {
		go m.cfg.OnCreate(ns)
	}
	sb := fromNamespace(created)
	sb.State = final
	if final == StateReady {
		if sb.Kubeconfig, err = m.kubeconfig(ns, token); err != nil {
			return fail(err)
		}
	}
	return sb, nil
}

// waitAuthorized returns once the apiserver's authorizer lets ServiceAccount
// saName of namespace saNS create resource in ns. RBAC is served from an
// informer cache, so for a few milliseconds after a RoleBinding is created
// its subject is still refused; a learner's first command, or Keiko's first
// object in a sandbox it was just granted, must not be.
//
// One check races the learner's token request, which hides its cost when
// the cluster is quiet. If RBAC has not caught up yet, the next checks
// wait for the token first: under load, polling early would only add
// requests to a busy apiserver.
func (m *Manager) waitAuthorized(ctx context.Context, ns, saNS, saName, resource string, issued <-chan struct{}) error {
	user := "system:serviceaccount:" + saNS + ":" + saName
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + saNS, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: resource},
	}}
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		res, err := m.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("check access of %s: %w", user, err)
		}
		if res.Status.Allowed {
			return nil
		}
		if issued != nil {
			select {
			case <-issued:
			case <-ctx.Done():
			}
			issued = nil
			continue
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not granted %s in %s: %w", user, resource, ns, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// token issues a token for the learner ServiceAccount that expires with
// the session.
func (m *Manager) token(ctx context.Context, ns string, expires time.Time) (string, error) {
	secs := int64(max(expires.Sub(m.now()), minTokenLifetime) / time.Second)
	tr, err := m.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, LearnerServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request learner token: %w", err)
	}
	return tr.Status.Token, nil
}

// kubeconfig is what the learner's shell uses: their token, their
// namespace as the default, and nothing of Keiko's own credentials.
func (m *Manager) kubeconfig(ns, token string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["keiko"] = &clientcmdapi.Cluster{Server: m.cfg.Server, CertificateAuthorityData: m.cfg.CAData}
	cfg.AuthInfos[LearnerServiceAccount] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[ns] = &clientcmdapi.Context{Cluster: "keiko", AuthInfo: LearnerServiceAccount, Namespace: ns}
	cfg.CurrentContext = ns
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encode learner kubeconfig: %w", err)
	}
	return b, nil
}

// Get returns sandbox id, without a kubeconfig.
func (m *Manager) Get(ctx context.Context, id string) (*Sandbox, error) {
	ns, err := m.namespace(ctx, id)
	if err != nil {
		return nil, err
	}
	return fromNamespace(ns), nil
}

// Kubeconfig issues a fresh token for sandbox id, as a reconnecting
// terminal needs.
func (m *Manager) Kubeconfig(ctx context.Context, id string) (*Sandbox, error) {
	sb, err := m.ready(ctx, id)
	if err != nil {
		return nil, err
	}
	return m.withKubeconfig(ctx, sb)
}

// Extend moves sandbox id's expiry to d from now, or from its current
// expiry if that is later, and returns it with a token that lasts as long.
func (m *Manager) Extend(ctx context.Context, id string, d time.Duration) (*Sandbox, error) {
	if d <= 0 {
		return nil, keiko.Errorf(keiko.EINVALID, "Extension must be positive, not %s.", d)
	}
	sb, err := m.ready(ctx, id)
	if err != nil {
		return nil, err
	}
	if now := m.now(); sb.ExpiresAt.Before(now) {
		sb.ExpiresAt = now
	}
	sb.ExpiresAt = sb.ExpiresAt.Add(d)
	if err := m.patchNamespace(ctx, sb.Namespace, "annotations", AnnotationExpiresAt, formatTime(sb.ExpiresAt)); err != nil {
		return nil, m.apiError("extend", err)
	}
	m.capacity.setExpiry(sb.Namespace, sb.ExpiresAt)
	return m.withKubeconfig(ctx, sb)
}

// ready returns sandbox id if it is ready for a learner.
func (m *Manager) ready(ctx context.Context, id string) (*Sandbox, error) {
	sb, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if sb.State != StateReady {
		return nil, keiko.Errorf(keiko.ECONFLICT, "Lab environment %s is not ready.", id)
	}
	return sb, nil
}

// withKubeconfig gives sb a kubeconfig with a token that lasts until its
// expiry.
func (m *Manager) withKubeconfig(ctx context.Context, sb *Sandbox) (*Sandbox, error) {
	token, err := m.token(ctx, sb.Namespace, sb.ExpiresAt)
	if err != nil {
		return nil, m.apiError("issue token", err)
	}
	if sb.Kubeconfig, err = m.kubeconfig(sb.Namespace, token); err != nil {
		return nil, err
	}
	return sb, nil
}

// patchNamespace sets one label or annotation (field "labels" or
// "annotations") on ns; an empty value removes it. Each mark Keiko keeps
// on a sandbox is one such merge patch.
func (m *Manager) patchNamespace(ctx context.Context, ns, field, key, value string) error {
	v := "null"
	if value != "" {
		v = strconv.Quote(value)
	}
	patch := fmt.Appendf(nil, `{"metadata":{%q:{%q:%s}}}`, field, key, v)
	_, err := m.client.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// Delete ends sandbox id. The namespace goes in the background: the
// namespace controller takes at least 5 s, and nobody should wait for it.
func (m *Manager) Delete(ctx context.Context, id string) error {
	ns, err := m.namespace(ctx, id)
	if err != nil {
		return err
	}
	if err := m.deleteNamespace(ctx, ns.Name, ns.UID); err != nil {
		return m.apiError("delete", err)
	}
	return nil
}

// List returns every sandbox Keiko manages, pool ones included.
func (m *Manager) List(ctx context.Context) ([]Sandbox, error) {
	list, err := m.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return nil, m.apiError("list", err)
	}
	out := make([]Sandbox, 0, len(list.Items))
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil {
			out = append(out, *fromNamespace(&list.Items[i]))
		}
	}
	return out, nil
}

func (m *Manager) namespace(ctx context.Context, id string) (*corev1.Namespace, error) {
	if !sandboxID.MatchString(id) {
		return nil, keiko.Errorf(keiko.ENOTFOUND, "No lab environment %q.", id)
	}
	if ns, ok := m.cached(NamespaceFor(id)); ok {
		return ns, nil
	}
	ns, err := m.client.CoreV1().Namespaces().Get(ctx, NamespaceFor(id), metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err == nil && (ns.Labels[LabelManagedBy] != ManagedBy || ns.DeletionTimestamp != nil) {
		return nil, keiko.Errorf(keiko.ENOTFOUND, "No lab environment %q: it may have expired.", id)
	}
	if err != nil {
		return nil, m.apiError("get", err)
	}
	return ns, nil
}

// deleteNamespace deletes a namespace, but only the one that was looked at:
// the UID precondition keeps a stale decision from deleting a namesake.
func (m *Manager) deleteNamespace(ctx context.Context, name string, uid types.UID) error {
	m.deleted.Store(name, struct{}{})
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err := m.client.CoreV1().Namespaces().Delete(ctx, name, opts)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		err = nil
	}
	m.capacity.release(name)
	m.pool.remove(name)
	if err == nil && m.cfg.OnDelete != nil {
		m.cfg.OnDelete(strings.TrimPrefix(name, namespacePrefix))
	}
	return err
}

// discard deletes a sandbox that failed halfway.
func (m *Manager) discard(ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := m.deleteNamespace(ctx, ns, ""); err != nil {
		m.cfg.Logger.Error("cannot delete half-provisioned sandbox; the reaper will retry", "namespace", ns, "err", err)
	}
}

// apiError classifies a cluster error for the learner; the cause stays
// attached for the log.
func (m *Manager) apiError(op string, err error) error {
	var e *keiko.Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case apierrors.IsNotFound(err):
		return &keiko.Error{Code: keiko.ENOTFOUND, Message: "The lab environment no longer exists; start the scenario again.", Op: "sandbox." + op, Err: err}
	case apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return &keiko.Error{Code: keiko.ENOTFOUND, Message: "The lab environment is being deleted; start the scenario again.", Op: "sandbox." + op, Err: err}
	case apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) || errors.Is(err, context.DeadlineExceeded):
		return &keiko.Error{Code: keiko.EUNAVAILABLE, Message: "The cluster is busy; please try again in a few seconds.", Op: "sandbox." + op, Err: err}
	}
	return &keiko.Error{Code: keiko.EINTERNAL, Message: "Could not prepare the lab environment.", Op: "sandbox." + op, Err: err}
}

func fromNamespace(ns *corev1.Namespace) *Sandbox {
	l, a := ns.Labels, ns.Annotations
	return &Sandbox{
		ID:            l[LabelSession],
		Namespace:     ns.Name,
		LearnerID:     l[LabelLearner],
		ScenarioID:    l[LabelScenario],
		Size:          l[LabelSize],
		PodSecurity:   l[labelPSAEnforce],
		State:         l[LabelState],
		CreatedAt:     ns.CreationTimestamp.Time,
		ExpiresAt:     parseTime(a[AnnotationExpiresAt]),
		OrphanedSince: parseTime(a[AnnotationOrphanedSince]),
	}
}

// parallel runs fs at once and returns their errors joined.
func parallel(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	return errors.Join(errs...)
}
