// Package bench measures Keiko's performance on a live cluster, for
// `keiko bench` and the Go benchmarks alike.
package bench

import (
	"slices"
	"sync"
	"time"
)

// Latencies summarises one batch of timed operations.
type Latencies struct {
	N        int
	P50, P99 time.Duration
}

// summarize returns the nearest-rank percentiles of ds.
func summarize(ds []time.Duration) Latencies {
	if len(ds) == 0 {
		return Latencies{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Latencies{N: len(s), P50: rank(0.50), P99: rank(0.99)}
}

// run performs n operations with c workers and returns each one's latency.
// The first error stops new operations from starting.
func run(n, c int, op func() error) ([]time.Duration, error) {
	var (
		mu       sync.Mutex
		ds       = make([]time.Duration, 0, n)
		firstErr error
		next     = make(chan struct{}, n)
		wg       sync.WaitGroup
	)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range c {
		wg.Go(func() {
			for range next {
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				start := time.Now()
				err := op()
				d := time.Since(start)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				ds = append(ds, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ds, firstErr
}
