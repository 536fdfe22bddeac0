package sandbox

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCapacityReserve(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		max, per   int
		existing   []string // learners holding a sandbox
		learner    string
		wantScope  string // "" means admitted
		wantRetry  time.Duration
		expiringIn time.Duration
	}{
		{name: "unlimited", existing: []string{"a", "a", "b"}, learner: "a"},
		{name: "room left", max: 3, existing: []string{"a", "b"}, learner: "c"},
		{name: "cluster full", max: 2, existing: []string{"a", "b"}, learner: "c", wantScope: "cluster", expiringIn: 3 * time.Minute, wantRetry: 3 * time.Minute},
		{name: "retry hint has a floor", max: 1, existing: []string{"a"}, learner: "c", wantScope: "cluster", expiringIn: time.Second, wantRetry: minRetryAfter},
		{name: "retry hint has a ceiling", max: 1, existing: []string{"a"}, learner: "c", wantScope: "cluster", expiringIn: time.Hour, wantRetry: maxRetryAfter},
		{name: "learner at limit", per: 2, existing: []string{"a", "a", "b"}, learner: "a", wantScope: "learner"},
		{name: "other learner unaffected", per: 1, existing: []string{"a"}, learner: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapacity(tt.max, tt.per)
			for i, l := range tt.existing {
				c.live[string(rune('p'+i))] = entry{learner: l, expiresAt: now.Add(tt.expiringIn)}
			}
			err := c.reserve("new", tt.learner, now.Add(time.Hour), now)
			var ce *CapacityError
			if tt.wantScope == "" {
				if err != nil {
					t.Fatalf("reserve() = %v, want admitted", err)
				}
				if _, ok := c.live["new"]; !ok {
					t.Error("admitted sandbox not counted")
				}
				return
			}
			if !errors.As(err, &ce) {
				t.Fatalf("reserve() = %v, want a CapacityError", err)
			}
			if ce.Scope != tt.wantScope || ce.RetryAfter != tt.wantRetry {
				t.Errorf("got scope %q retry %s, want %q %s", ce.Scope, ce.RetryAfter, tt.wantScope, tt.wantRetry)
			}
		})
	}
}

func TestCapacitySyncKeepsWhatTheListCouldNotSee(t *testing.T) {
	listedAt := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	c := newCapacity(0, 0)
	c.live["deleted-elsewhere"] = entry{learner: "a", since: listedAt.Add(-time.Minute)}
	c.live["made-after-list"] = entry{learner: "b", since: listedAt.Add(time.Second)}
	c.sync(map[string]entry{"made-by-cli": {learner: "c"}}, listedAt)
	for ns, want := range map[string]bool{"deleted-elsewhere": false, "made-after-list": true, "made-by-cli": true} {
		if _, got := c.live[ns]; got != want {
			t.Errorf("%s counted = %v, want %v", ns, got, want)
		}
	}
}

func TestVerdict(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	m := &Manager{cfg: Config{OrphanAfter: 5 * time.Minute, ProvisionTimeout: 2 * time.Minute, Known: func(id string) bool { return id != "unknown" }}}
	tests := []struct {
		name    string
		sb      Sandbox
		startup bool
		want    string
	}{
		{"ready and in time", Sandbox{State: StateReady, ExpiresAt: now.Add(time.Minute)}, false, ""},
		{"expired", Sandbox{State: StateReady, ExpiresAt: now}, false, ReasonExpired},
		{"orphaned long enough", Sandbox{State: StateReady, ExpiresAt: now.Add(time.Hour), OrphanedSince: now.Add(-5 * time.Minute)}, false, ReasonOrphaned},
		{"orphaned briefly", Sandbox{State: StateReady, ExpiresAt: now.Add(time.Hour), OrphanedSince: now.Add(-time.Minute)}, false, ""},
		{"provisioning, young", Sandbox{State: StateProvisioning, CreatedAt: now.Add(-time.Second)}, false, ""},
		{"provisioning, stuck", Sandbox{State: StateProvisioning, CreatedAt: now.Add(-3 * time.Minute)}, false, ReasonIncomplete},
		{"provisioning at startup", Sandbox{State: StateProvisioning, CreatedAt: now}, true, ReasonIncomplete},
		{"pool", Sandbox{State: StatePool, CreatedAt: now.Add(-24 * time.Hour)}, false, ""},
		{"hand-edited state, expired", Sandbox{State: "weird", ExpiresAt: now.Add(-time.Second)}, false, ReasonExpired},
		{"no session holds it, at startup", Sandbox{ID: "unknown", State: StateReady, ExpiresAt: now.Add(time.Hour)}, true, ReasonOrphaned},
		{"no session holds it, later", Sandbox{ID: "unknown", State: StateReady, ExpiresAt: now.Add(time.Hour)}, false, ""},
		{"a session holds it", Sandbox{ID: "known", State: StateReady, ExpiresAt: now.Add(time.Hour)}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.verdict(&tt.sb, tt.startup, now); got != tt.want {
				t.Errorf("verdict = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantKinds []string
		wantErr   string
	}{
		{"multi-document yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n", []string{"ConfigMap", "Secret"}, ""},
		{"json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`, []string{"ConfigMap"}, ""},
		{"empty", "", nil, ""},
		{"missing name", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n", nil, "document 1: apiVersion, kind and metadata.name are required"},
		{"broken second document", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n", nil, "document 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
			}
			if len(kinds) != len(tt.wantKinds) {
				t.Fatalf("kinds = %v, want %v", kinds, tt.wantKinds)
			}
			for i := range kinds {
				if kinds[i] != tt.wantKinds[i] {
					t.Errorf("kinds = %v, want %v", kinds, tt.wantKinds)
				}
			}
		})
	}
}

func TestNewIDIsDNSSafe(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newID()
		if !sandboxID.MatchString(id) || len(NamespaceFor(id)) > 63 {
			t.Fatalf("id %q is not DNS-safe", id)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}
