package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNilMetricsIsNoOp(t *testing.T) {
	var m *Metrics
	m.ObserveProvision(time.Second, true)
	m.ObserveCheck(time.Millisecond)
	m.TerminalOpened()
	m.TerminalClosed()
	m.WebSocketBytes("in", 10)
	m.Error("invalid")
	m.ObserveHTTP("/", 200, time.Millisecond)
	m.WebhookDropped()

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if got, want := rec.Code, http.StatusNotFound; got != want {
		t.Errorf("nil Handler status = %d, want %d", got, want)
	}
}

func TestCounters(t *testing.T) {
	m := New(Options{})
	m.TerminalOpened()
	m.TerminalOpened()
	m.TerminalClosed()
	m.WebSocketBytes("in", 100)
	m.WebSocketBytes("in", 20)
	m.WebSocketBytes("out", 7)
	m.WebSocketBytes("sideways", 1000) // ignored: not a known direction
	m.Error("not_found")
	m.Error("not_found")
	m.Error("bogus") // folded into internal
	m.ObserveHTTP("/api/sessions/:id", 200, time.Millisecond)
	m.ObserveHTTP("/api/sessions/:id", 204, time.Millisecond)
	m.ObserveHTTP("/api/sessions/:id", 404, time.Millisecond)
	m.ObserveHTTP("", 404, time.Millisecond)
	m.WebhookDropped()

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"terminals open", testutil.ToFloat64(m.terminals), 1},
		{"ws in", testutil.ToFloat64(m.wsBytes.WithLabelValues("in")), 120},
		{"ws out", testutil.ToFloat64(m.wsBytes.WithLabelValues("out")), 7},
		{"ws series", float64(testutil.CollectAndCount(m.wsBytes)), 2},
		{"errors not_found", testutil.ToFloat64(m.errors.WithLabelValues("not_found")), 2},
		{"errors internal", testutil.ToFloat64(m.errors.WithLabelValues("internal")), 1},
		{"http 2xx", testutil.ToFloat64(m.httpRequests.WithLabelValues("/api/sessions/:id", "2xx")), 2},
		{"http 4xx", testutil.ToFloat64(m.httpRequests.WithLabelValues("/api/sessions/:id", "4xx")), 1},
		{"http unmatched", testutil.ToFloat64(m.httpRequests.WithLabelValues("unmatched", "4xx")), 1},
		{"webhook dropped", testutil.ToFloat64(m.webhookDropped), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestStatusClass(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{200, "2xx"}, {301, "3xx"}, {429, "4xx"}, {503, "5xx"}, {101, "1xx"}, {0, "other"}, {999, "other"},
	}
	for _, tt := range tests {
		if got := statusClass(tt.status); got != tt.want {
			t.Errorf("statusClass(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestHandlerExposition(t *testing.T) {
	sessions, ready := 3, 2
	m := New(Options{
		ActiveSessions: func() int { return sessions },
		PoolReady:      func() int { return ready },
	})
	m.ObserveProvision(20*time.Millisecond, true)
	m.ObserveProvision(30*time.Second, false)
	m.ObserveCheck(2 * time.Millisecond)
	m.WebSocketBytes("out", 42)
	m.ObserveHTTP("/api/sessions/:id", 500, 250*time.Millisecond)
	sessions = 5 // read at scrape time, not at construction

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)

	for _, want := range []string{
		"keiko_sessions_active 5\n",
		"keiko_pool_ready 2\n",
		`keiko_provision_seconds_count{source="pool"} 1` + "\n",
		`keiko_provision_seconds_count{source="fresh"} 1` + "\n",
		`keiko_provision_seconds_sum{source="fresh"} 30` + "\n",
		"keiko_check_seconds_count 1\n",
		"keiko_terminals_open 0\n",
		`keiko_websocket_bytes_total{direction="out"} 42` + "\n",
		`keiko_http_requests_total{code="5xx",route="/api/sessions/:id"} 1` + "\n",
		`keiko_http_request_seconds_sum{route="/api/sessions/:id"} 0.25` + "\n",
		"keiko_events_webhook_dropped_total 0\n",
		"go_goroutines ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", body)
	}
}

func TestOptionalGaugesOmitted(t *testing.T) {
	m := New(Options{})
	n, err := testutil.GatherAndCount(m.reg, "keiko_sessions_active", "keiko_pool_ready")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("got %d optional gauge series, want 0", n)
	}
}
