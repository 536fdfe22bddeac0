package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/keiko-lab/keiko"
)

func TestMigrationFiles(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    []int
		wantErr bool
	}{
		{"embedded order", []string{"migrations/0002_b.sql", "migrations/0010_c.sql", "migrations/0001_a.sql"}, []int{1, 2, 10}, false},
		{"no migrations", nil, nil, false},
		{"unnumbered", []string{"migrations/init.sql"}, nil, true},
		{"zero", []string{"migrations/0000_init.sql"}, nil, true},
		{"duplicate", []string{"migrations/0001_a.sql", "migrations/001_b.sql"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys[f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := migrationFiles(fsys)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("migrationFiles() error = %v, want error %v", err, tt.wantErr)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("versions = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestEmbeddedMigrationsAreValid(t *testing.T) {
	ms, err := migrationFiles(migrations)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Errorf("embedded migrations = %v, want them to start at version 1", ms)
	}
}

// TestUpgradeFrom0001 opens a database that an older Keiko left at schema
// version 1, with data in it, as every existing install will be.
func TestUpgradeFrom0001(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keiko.db")
	old, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(ON)")
	if err != nil {
		t.Fatal(err)
	}
	schema1, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))`,
		string(schema1),
		`INSERT INTO schema_migrations (version) VALUES (1)`,
		`INSERT INTO learners (id, display_name, created_at) VALUES ('alice', 'Alice', '2026-11-24T09:00:00.000000000Z')`,
		`INSERT INTO sessions (id, learner_id, scenario_id, namespace, created_at, expires_at)
			VALUES ('s1', 'alice', 'pods', 'keiko-s1', '2026-11-24T09:00:00.000000000Z', '2026-11-24T10:00:00.000000000Z')`,
		`INSERT INTO step_progress (session_id, step, status, updated_at) VALUES ('s1', 0, 'passed', '2026-11-24T09:05:00.000000000Z')`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of a version 1 database = %v", err)
	}
	defer db.Close()
	if got, want := db.QueryStrings(t, `SELECT version FROM schema_migrations ORDER BY version`), []string{"1", "2"}; !slices.Equal(got, want) {
		t.Errorf("versions after upgrade = %v, want %v", got, want)
	}
	s, err := db.Session(ctx, "s1")
	if err != nil || s.LearnerID != "alice" || s.WorkshopID != "" {
		t.Errorf("old session after upgrade = %+v, %v; want alice's, with no workshop", s, err)
	}
	if p, err := db.Progress(ctx, "s1"); err != nil || p[0] != keiko.StepPassed {
		t.Errorf("old progress after upgrade = %v, %v", p, err)
	}
	if got := db.QueryStrings(t, `PRAGMA foreign_key_check`); len(got) != 0 {
		t.Errorf("foreign_key_check after upgrade = %v", got)
	}
	if got := db.QueryStrings(t, `PRAGMA integrity_check`); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("integrity_check after upgrade = %v", got)
	}

	// The old learner can join a workshop and start a session from it.
	w := keiko.Workshop{ID: "w1", Code: "k1", Opens: s.CreatedAt, Closes: s.ExpiresAt, CreatedAt: s.CreatedAt}
	if err := db.CreateWorkshop(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := db.JoinWorkshop(ctx, "w1", "alice", s.CreatedAt); err != nil {
		t.Fatal(err)
	}
	s2 := keiko.Session{ID: "s2", LearnerID: "alice", ScenarioID: "pods", WorkshopID: "w1", Namespace: "keiko-s2",
		CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	if err := db.SaveSession(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Session(ctx, "s2"); err != nil || got.WorkshopID != "w1" {
		t.Errorf("new session after upgrade = %+v, %v", got, err)
	}
}
