package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keiko-lab/keiko/store"
)

func open(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	return db
}

func TestOpenTwice(t *testing.T) {
	// Keiko opens the same file on every start, so migrations must be
	// idempotent and must not be recorded twice.
	path := filepath.Join(t.TempDir(), "keiko.db")
	for i := range 2 {
		db := open(t, path)
		if err := db.Close(); err != nil {
			t.Fatalf("Close() #%d = %v", i+1, err)
		}
	}

	db := open(t, path)
	defer db.Close()
	got := db.QueryStrings(t, `SELECT version FROM schema_migrations ORDER BY version`)
	if want := []string{"1", "2"}; !slices.Equal(got, want) {
		t.Errorf("schema_migrations versions = %v, want %v", got, want)
	}
}

func TestOpenSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keiko.db")
	db := open(t, path)
	defer db.Close()

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"wal", `PRAGMA journal_mode`, []string{"wal"}},
		{"foreign keys", `PRAGMA foreign_keys`, []string{"1"}},
		{"busy timeout", `PRAGMA busy_timeout`, []string{"10000"}},
		{"tables", `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`,
			[]string{"events", "learners", "schema_migrations", "sessions", "step_progress", "workshop_members", "workshops"}},
		{"step_progress key", `SELECT name FROM pragma_table_info('step_progress') WHERE pk > 0 ORDER BY pk`,
			[]string{"session_id", "step"}},
		{"sessions columns", `SELECT name FROM pragma_table_info('sessions') ORDER BY cid`,
			[]string{"id", "learner_id", "scenario_id", "namespace", "created_at", "expires_at", "ended_at", "workshop_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := db.QueryStrings(t, tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("%s = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestOpenFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keiko.db")
	db := open(t, path)
	defer db.Close()

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestOpenMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "keiko.db")
	if db, err := store.Open(context.Background(), path); err == nil {
		db.Close()
		t.Errorf("Open(%s) = nil error, want one", path)
	}
}

func TestForeignKeysEnforced(t *testing.T) {
	// Pragmas are per connection: check that the pool's connections, not
	// just the first one, reject orphaned rows.
	db := open(t, filepath.Join(t.TempDir(), "keiko.db"))
	defer db.Close()
	for i := range 3 {
		if err := db.Exec(t, `INSERT INTO sessions (id, learner_id, scenario_id, namespace, created_at, expires_at)
			VALUES ('s1', 'nobody', 'pods', 'keiko-s1', 'now', 'later')`); err == nil {
			t.Fatalf("insert #%d of a session without a learner = nil error, want a foreign key error", i+1)
		}
	}
}
