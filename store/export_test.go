package store

import (
	"context"
	"testing"
)

// QueryStrings runs a one-column query on db's own connection pool, so tests
// see the pragmas every pooled connection gets. It exists only in tests.
func (db *DB) QueryStrings(t *testing.T, q string) []string {
	t.Helper()
	rows, err := db.db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return got
}

// Exec runs a statement on db's pool.
func (db *DB) Exec(t *testing.T, q string) error {
	t.Helper()
	_, err := db.db.ExecContext(context.Background(), q)
	return err
}
