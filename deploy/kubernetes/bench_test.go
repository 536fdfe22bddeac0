package kubernetes_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox"
)

// Run as docs/benchmarks.md does:
//
//	go test -run '^$' -bench . -benchtime 30x ./deploy/kubernetes/
//
// BenchmarkProvisionAsKeiko is what least privilege costs: a sandbox made
// by Keiko's ServiceAccount, which must bind itself into the namespace and
// wait for RBAC to see it, against one made by the cluster's admin.
func BenchmarkProvisionAsKeiko(b *testing.B) {
	applied(b)
	keiko, _ := keikoManager(b)
	admin, err := sandbox.New(clustertest.Config(b), sandbox.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for name, m := range map[string]*sandbox.Manager{"keiko": keiko, "admin": admin} {
		b.Run(name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				sb, err := m.Provision(context.Background(), sandbox.Request{LearnerID: "bench", ScenarioID: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				_ = m.Delete(context.Background(), sb.ID)
			}
			reportMedian(b, took)
		})
	}
}

// BenchmarkTerminalPodFirstOutput is the time from a learner's terminal
// connecting to the shell's first output: "cold" makes the pod then, "warm"
// finds it made ahead, as a warm sandbox's is. kwok starts pods at once;
// on a real cluster, add the image pull (none, with the pre-pull
// DaemonSet) and the container's start.
func BenchmarkTerminalPodFirstOutput(b *testing.B) {
	applied(b)
	m, rc := keikoManager(b)
	pods := terminalPods(b, rc)
	for _, warm := range []bool{false, true} {
		b.Run(map[bool]string{false: "cold", true: "warm"}[warm], func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				b.StopTimer()
				sb, err := m.Provision(context.Background(), sandbox.Request{LearnerID: "bench", ScenarioID: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if warm {
					if err := pods.Prepare(context.Background(), sb.Namespace); err != nil {
						b.Fatal(err)
					}
					time.Sleep(time.Second) // kwok runs it meanwhile
				}
				b.StartTimer()
				start := time.Now()
				sh, err := pods.Start(context.Background(), sb.ID, 80, 24)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.WriteString(sh, "echo\n"); err != nil {
					b.Fatal(err)
				}
				if _, err := sh.Read(make([]byte, 256)); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				b.StopTimer()
				sh.Close()
				_ = m.Delete(context.Background(), sb.ID)
				b.StartTimer()
			}
			reportMedian(b, took)
		})
	}
}

func reportMedian(b *testing.B, took []time.Duration) {
	b.Helper()
	slices.Sort(took)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
}
