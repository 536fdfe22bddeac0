package keiko_test

import (
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
)

func TestSessionExpired(t *testing.T) {
	t0 := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		expiresAt time.Time
		now       time.Time
		want      bool
	}{
		{"before deadline", t0, t0.Add(-time.Second), false},
		{"at deadline", t0, t0, true},
		{"after deadline", t0, t0.Add(time.Minute), true},
		{"no deadline", time.Time{}, t0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := keiko.Session{ID: "s1", ExpiresAt: tt.expiresAt}
			if got := s.Expired(tt.now); got != tt.want {
				t.Errorf("Expired(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}
