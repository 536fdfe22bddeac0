package store

import (
	"testing"
	"testing/fstest"
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
