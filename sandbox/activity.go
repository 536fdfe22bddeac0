package sandbox

import (
	"context"
	"sync"
)

// activity counts connected terminals per sandbox in this process, so the
// orphan mark is written only when the first one connects or the last one
// leaves, not on every reconnect of every tab.
type activity struct {
	mu    sync.Mutex
	conns map[string]int
}

func newActivity() *activity { return &activity{conns: map[string]int{}} }

// Attach records a terminal connected to sandbox id, which is then not an
// orphan. The returned func records that it left; call it exactly once.
func (m *Manager) Attach(ctx context.Context, id string) (detach func(), err error) {
	sb, err := m.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	m.activity.mu.Lock()
	m.activity.conns[id]++
	first := m.activity.conns[id] == 1
	m.activity.mu.Unlock()
	if first {
		if err := m.markOrphaned(ctx, sb.Namespace, ""); err != nil {
			m.leave(id)
			return nil, err
		}
	}
	var once sync.Once
	return func() { once.Do(func() { m.leave(id) }) }, nil
}

func (m *Manager) leave(id string) {
	m.activity.mu.Lock()
	m.activity.conns[id]--
	last := m.activity.conns[id] <= 0
	if last {
		delete(m.activity.conns, id)
	}
	m.activity.mu.Unlock()
	if !last {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := m.markOrphaned(ctx, NamespaceFor(id), formatTime(m.now())); err != nil {
		m.cfg.Logger.Warn("cannot mark sandbox orphaned", "sandbox", id, "err", err)
	}
}

// markOrphaned sets the orphan mark to since, or removes it when since is
// empty.
func (m *Manager) markOrphaned(ctx context.Context, ns, since string) error {
	if err := m.patchNamespace(ctx, ns, "annotations", AnnotationOrphanedSince, since); err != nil {
		return m.apiError("mark activity", err)
	}
	return nil
}
