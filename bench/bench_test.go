package bench

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name     string
		in       []time.Duration
		p50, p99 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"unsorted", ms(5, 1, 3), 3 * time.Millisecond, 5 * time.Millisecond},
		{"hundred", ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(tt.in)
			if got.P50 != tt.p50 || got.P99 != tt.p99 || got.N != len(tt.in) {
				t.Errorf("summarize = %+v, want n=%d p50=%s p99=%s", got, len(tt.in), tt.p50, tt.p99)
			}
		})
	}
}

func TestRunUsesAllWorkersAndStopsOnError(t *testing.T) {
	var inFlight, peak atomic.Int32
	ds, err := run(40, 8, func() error {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		return nil
	})
	if err != nil || len(ds) != 40 {
		t.Fatalf("run = %d results, %v; want 40, nil", len(ds), err)
	}
	if peak.Load() < 2 {
		t.Errorf("peak concurrency %d, want several workers at once", peak.Load())
	}

	boom := errors.New("boom")
	var calls atomic.Int32
	_, err = run(100, 1, func() error {
		if calls.Add(1) == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 3 {
		t.Errorf("after an error: err=%v, %d calls; want boom after 3", err, calls.Load())
	}
}
