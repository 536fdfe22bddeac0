package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// annotationPooledAt marks when a pool sandbox was made; it also gives pool
// namespaces an annotations map for the claim's JSON patch to add to.
const annotationPooledAt = "keiko.dev/pooled-at"

// pool holds the names of warm sandboxes, ready to be claimed.
type pool struct {
	mu       sync.Mutex
	ready    []string
	creating int
	// since records when each name was added, so a list taken earlier does
	// not drop a sandbox made after it.
	since map[string]time.Time
	wake  chan struct{}
}

func newPool() *pool {
	return &pool{since: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

func (p *pool) add(ns string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.ready, ns) {
		p.ready = append(p.ready, ns)
		p.since[ns] = at
	}
}

func (p *pool) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ready) == 0 {
		return "", false
	}
	ns := p.ready[0]
	p.ready = p.ready[1:]
	delete(p.since, ns)
	p.signal()
	return ns, true
}

func (p *pool) remove(ns string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.ready, ns); i >= 0 {
		p.ready = slices.Delete(p.ready, i, i+1)
		delete(p.since, ns)
	}
}

func (p *pool) sync(seen []string, listedAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.ready[:0]
	for _, ns := range p.ready {
		if slices.Contains(seen, ns) || !p.since[ns].Before(listedAt) {
			kept = append(kept, ns)
		} else {
			delete(p.since, ns)
		}
	}
	p.ready = kept
	for _, ns := range seen {
		if !slices.Contains(p.ready, ns) {
			p.ready = append(p.ready, ns)
			p.since[ns] = listedAt
		}
	}
	p.signal()
}

// signal wakes the refill loop without blocking.
func (p *pool) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// PoolLevel is the number of warm sandboxes ready now.
func (m *Manager) PoolLevel() int {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	return len(m.pool.ready)
}

// RunPool keeps Config.PoolSize warm sandboxes until ctx ends. It refills
// after every claim, and re-checks now and then in case one was deleted.
func (m *Manager) RunPool(ctx context.Context) {
	if m.cfg.PoolSize <= 0 {
		return
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	backoff := time.Second
	for {
		if err := m.refill(ctx); err != nil && ctx.Err() == nil {
			m.cfg.Logger.Error("warm pool refill failed", "err", err, "retry in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		select {
		case <-ctx.Done():
			return
		case <-m.pool.wake:
		case <-t.C:
		}
	}
}

// refill creates pool sandboxes until the pool is full, two at a time.
func (m *Manager) refill(ctx context.Context) error {
	for {
		m.pool.mu.Lock()
		missing := m.cfg.PoolSize - len(m.pool.ready) - m.pool.creating
		n := min(missing, 2)
		m.pool.creating += max(n, 0)
		m.pool.mu.Unlock()
		if n <= 0 {
			return nil
		}
		fs := make([]func() error, n)
		for i := range fs {
			fs[i] = func() error {
				defer func() {
					m.pool.mu.Lock()
					m.pool.creating--
					m.pool.mu.Unlock()
				}()
				sb, err := m.create(ctx, newID(), Request{Size: m.cfg.DefaultSize, PodSecurity: PodSecurityRestricted}, m.now(), time.Time{})
				if err != nil {
					return err
				}
				m.pool.add(sb.Namespace, m.now())
				return nil
			}
		}
		if err := parallel(fs...); err != nil {
			return err
		}
	}
}

// claim turns a warm sandbox into req's, or returns nil if none fits.
// The relabelling is one JSON patch whose first operation tests that the
// namespace is still in the pool, so a namespace is claimed at most once
// even if two processes raced for it.
func (m *Manager) claim(ctx context.Context, req Request, now, expires time.Time) (*Sandbox, error) {
	if m.cfg.PoolSize <= 0 || req.Size != m.cfg.DefaultSize {
		return nil, nil
	}
	for {
		ns, ok := m.pool.take()
		if !ok {
			return nil, nil
		}
		if err := m.capacity.reserve(ns, req.LearnerID, expires, now); err != nil {
			m.pool.add(ns, now)
			return nil, err
		}
		id := strings.TrimPrefix(ns, namespacePrefix)
		ops := []string{
			jsonTest("/metadata/labels/"+escape(LabelState), StatePool),
			jsonAdd("/metadata/labels/"+escape(LabelState), StateReady),
			jsonAdd("/metadata/labels/"+escape(LabelSession), id),
			jsonAdd("/metadata/labels/"+escape(LabelLearner), req.LearnerID),
			jsonAdd("/metadata/labels/"+escape(LabelScenario), req.ScenarioID),
			jsonAdd("/metadata/annotations/"+escape(AnnotationExpiresAt), formatTime(expires)),
			jsonAdd("/metadata/annotations/"+escape(AnnotationOrphanedSince), formatTime(now)),
		}
		for k, v := range podSecurityLabels(req.PodSecurity) {
			ops = append(ops, jsonAdd("/metadata/labels/"+escape(k), v))
		}
		patch := []byte("[" + strings.Join(ops, ",") + "]")
		var claimed *Sandbox
		relabel := func() error {
			obj, err := m.client.CoreV1().Namespaces().Patch(ctx, ns, types.JSONPatchType, patch, metav1.PatchOptions{})
			if err == nil {
				claimed = fromNamespace(obj)
			}
			return err
		}
		var token string
		issue := func() (err error) {
			token, err = m.token(ctx, ns, expires)
			return err
		}
		err := parallel(relabel, issue)
		if err != nil {
			m.capacity.release(ns)
			if claimed == nil && (apierrors.IsNotFound(err) || testFailed(err)) {
				continue // gone or claimed elsewhere: try the next one
			}
			if claimed != nil {
				m.discard(ns)
			}
			return nil, m.apiError("claim", err)
		}
		if claimed.Kubeconfig, err = m.kubeconfig(ns, token); err != nil {
			m.discard(ns)
			return nil, err
		}
		return claimed, nil
	}
}

// testFailed reports a JSON patch whose test operation failed: the
// apiserver answers 422 Unprocessable Entity.
func testFailed(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code == http.StatusUnprocessableEntity
}

func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

func jsonAdd(path, value string) string {
	return fmt.Sprintf(`{"op":"add","path":%q,"value":%q}`, path, value)
}

func jsonTest(path, value string) string {
	return fmt.Sprintf(`{"op":"test","path":%q,"value":%q}`, path, value)
}
