package sandbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keiko-lab/keiko/bench"
	"github.com/keiko-lab/keiko/internal/clustertest"
)

// Run with a fixed count, as docs/benchmarks.md does, e.g.
//
//	go test -run '^$' -bench . -benchtime 200x ./sandbox/
//
// Each iteration provisions one sandbox with Keiko and one with raw
// client-go (the floor), interleaved.
func BenchmarkProvision(b *testing.B) {
	for _, c := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			r, err := bench.Sandbox(context.Background(), clustertest.Config(b), bench.SandboxOptions{
				Levels: []bench.Level{{Concurrency: c, Count: max(b.N, 2)}},
			})
			if err != nil {
				b.Fatal(err)
			}
			row := r.Rows[0]
			b.ReportMetric(0, "ns/op") // wall time mixes Keiko and floor
			b.ReportMetric(ms(row.Keiko.P50), "p50-ms")
			b.ReportMetric(ms(row.Keiko.P99), "p99-ms")
			b.ReportMetric(ms(row.Floor.P50), "floor-p50-ms")
			b.ReportMetric(ms(row.Floor.P99), "floor-p99-ms")
			b.ReportMetric(float64(row.Keiko.P50)/float64(row.Floor.P50), "ratio-p50")
		})
	}
}

func BenchmarkWarmClaim(b *testing.B) {
	r, err := bench.Sandbox(context.Background(), clustertest.Config(b), bench.SandboxOptions{PoolClaims: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(r.WarmClaim.P50), "p50-ms")
	b.ReportMetric(ms(r.WarmClaim.P99), "p99-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
