package sandbox

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons a sandbox is reaped.
const (
	ReasonExpired    = "expired"
	ReasonOrphaned   = "orphaned"
	ReasonIncomplete = "incomplete"
)

// Reaped is one sandbox a reaper pass deleted.
type Reaped struct {
	Namespace string
	Reason    string
}

// Reconcile brings a freshly started Keiko in line with the cluster. Only
// the one server that provisions may call it, once, before it provisions:
// it installs the admission guard, deletes every half-provisioned sandbox
// (no provisioning can be in flight before this process starts one), marks
// every ready sandbox orphaned (no terminal can be connected to a process
// that just started), and rebuilds capacity and the warm pool.
func (m *Manager) Reconcile(ctx context.Context) ([]Reaped, error) {
	if err := m.EnsureGuard(ctx); err != nil {
		return nil, err
	}
	return m.reap(ctx, true)
}

// Reap deletes expired, orphaned and stuck sandboxes, and re-syncs
// capacity and the pool with what the cluster holds.
func (m *Manager) Reap(ctx context.Context) ([]Reaped, error) {
	return m.reap(ctx, false)
}

func (m *Manager) reap(ctx context.Context, startup bool) ([]Reaped, error) {
	listedAt := m.now()
	list, err := m.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy})
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	now := m.now()
	live := map[string]entry{}
	var pooled []string
	var reaped []Reaped
	for i := range list.Items {
		ns := &list.Items[i]
		if ns.DeletionTimestamp != nil {
			continue
		}
		sb := fromNamespace(ns)
		reason := m.verdict(sb, startup, now)
		if reason == "" {
			switch sb.State {
			case StatePool:
				pooled = append(pooled, ns.Name)
			case StateReady, StateProvisioning:
				live[ns.Name] = entry{learner: sb.LearnerID, expiresAt: sb.ExpiresAt}
			}
			if startup && sb.State == StateReady && sb.OrphanedSince.IsZero() {
				if err := m.markOrphaned(ctx, ns.Name, formatTime(now)); err != nil {
					return reaped, err
				}
			}
			continue
		}
		if err := m.deleteNamespace(ctx, ns.Name, ns.UID); err != nil {
			return reaped, fmt.Errorf("reap %s: %w", ns.Name, err)
		}
		m.cfg.Logger.Info("reaped sandbox", "namespace", ns.Name, "reason", reason, "learner", sb.LearnerID)
		reaped = append(reaped, Reaped{Namespace: ns.Name, Reason: reason})
	}
	m.capacity.sync(live, listedAt)
	m.pool.sync(pooled, listedAt)
	return reaped, nil
}

// verdict says why sb must go, or "" if it may stay.
func (m *Manager) verdict(sb *Sandbox, startup bool, now time.Time) string {
	switch sb.State {
	case StateProvisioning:
		if startup || now.Sub(sb.CreatedAt) > m.cfg.ProvisionTimeout {
			return ReasonIncomplete
		}
	case StateReady:
		if !now.Before(sb.ExpiresAt) {
			return ReasonExpired
		}
		if startup && m.cfg.Known != nil && !m.cfg.Known(sb.ID) {
			return ReasonOrphaned
		}
		if m.cfg.OrphanAfter > 0 && !sb.OrphanedSince.IsZero() && now.Sub(sb.OrphanedSince) >= m.cfg.OrphanAfter {
			return ReasonOrphaned
		}
	case StatePool:
	default:
		// A label Keiko never writes: someone edited it by hand. Expiry
		// still applies, so nothing lives forever.
		if !sb.ExpiresAt.IsZero() && !now.Before(sb.ExpiresAt) {
			return ReasonExpired
		}
	}
	return ""
}

// RunReaper reaps every interval (default 10 s) until ctx ends.
func (m *Manager) RunReaper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Reap(ctx); err != nil && ctx.Err() == nil {
			m.cfg.Logger.Error("reaper pass failed", "err", err)
		}
	}
}
