package check_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox/check"
)

// BenchmarkLiveCheck measures what a learner waits for: from a change in
// their namespace (a ConfigMap update, returned by the apiserver) to the
// check engine reporting the step's new state, changes being further apart
// than the debounce window as a learner's are.
//
//	go test -run '^$' -bench LiveCheck -benchtime 200x ./sandbox/check
func BenchmarkLiveCheck(b *testing.B) {
	ns := namespace(b)
	cms := clustertest.Client(b).CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "flag"}, Data: map[string]string{"v": "off"}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan bool, 16)
	c := keiko.Check{Resource: "v1/configmaps", Name: "flag", Expr: "object.data.v == 'on'"}
	go engine(b, nil).Watch(ctx, check.Target{Namespace: ns}, []keiko.Check{c}, func(r []keiko.CheckResult) { reports <- r[0].Passed })
	if <-reports {
		b.Fatal("passed before the change")
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		// A learner's changes are seconds apart, not inside one debounce
		// window.
		b.StopTimer()
		time.Sleep(check.Debounce + 10*time.Millisecond)
		b.StartTimer()
		want := i%2 == 0
		cm.Data["v"] = map[bool]string{true: "on", false: "off"}[want]
		t0 := time.Now()
		if cm, err = cms.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		if got := <-reports; got != want {
			b.Fatalf("report %v, want %v", got, want)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
