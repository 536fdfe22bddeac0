// Package metrics provides Keiko's Prometheus metrics and the handler that exposes them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options supplies values that are cheaper to read at scrape time than to
// push on every change. A nil func omits its metric.
type Options struct {
	ActiveSessions func() int // keiko_sessions_active
	PoolReady      func() int // keiko_pool_ready
}

// Metrics records Keiko's metrics in a registry of its own, so tests and
// several servers in one process never collide on the global registry.
// Every method is a no-op on a nil *Metrics, so callers may pass nil.
type Metrics struct {
	reg *prometheus.Registry

	provision      *prometheus.HistogramVec
	check          prometheus.Histogram
	terminals      prometheus.Gauge
	wsBytes        *prometheus.CounterVec
	errors         *prometheus.CounterVec
	httpRequests   *prometheus.CounterVec
	httpSeconds    *prometheus.HistogramVec
	webhookDropped prometheus.Counter
}

// New registers Keiko's metrics, plus the Go runtime and process
// collectors, in a new registry.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		provision: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keiko_provision_seconds",
			Help: "Time to give a learner a ready sandbox, by source (pool or fresh).",
			// A warm pool claim takes milliseconds; a fresh namespace with
			// images to pull can take most of a minute.
			Buckets: prometheus.ExponentialBucketsRange(0.005, 60, 14),
		}, []string{"source"}),
		check: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "keiko_check_seconds",
			Help:    "Time to run one step check.",
			Buckets: prometheus.ExponentialBucketsRange(0.0005, 10, 14),
		}),
		terminals: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "keiko_terminals_open",
			Help: "Terminal connections currently open.",
		}),
		wsBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keiko_websocket_bytes_total",
			Help: "Bytes carried over terminal WebSockets, by direction (in or out).",
		}, []string{"direction"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keiko_errors_total",
			Help: "Errors returned to clients, by Keiko error code.",
		}, []string{"code"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keiko_http_requests_total",
			Help: "HTTP requests, by route template and status class.",
		}, []string{"route", "code"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keiko_http_request_seconds",
			Help:    "HTTP request latency, by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		webhookDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keiko_events_webhook_dropped_total",
			Help: "Events dropped because the webhook queue was full.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.provision, m.check, m.terminals, m.wsBytes, m.errors,
		m.httpRequests, m.httpSeconds, m.webhookDropped,
	)
	if opts.ActiveSessions != nil {
		m.reg.MustRegister(gaugeFunc("keiko_sessions_active", "Sessions not yet ended.", opts.ActiveSessions))
	}
	if opts.PoolReady != nil {
		m.reg.MustRegister(gaugeFunc("keiko_pool_ready", "Warm sandboxes ready to be claimed.", opts.PoolReady))
	}
	return m
}

func gaugeFunc(name, help string, f func() int) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
		func() float64 { return float64(f()) })
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveProvision records how long a session took to get its sandbox;
// warm means it was claimed from the pool.
func (m *Metrics) ObserveProvision(d time.Duration, warm bool) {
	if m == nil {
		return
	}
	source := "fresh"
	if warm {
		source = "pool"
	}
	m.provision.WithLabelValues(source).Observe(d.Seconds())
}

// ObserveCheck records how long one step check took.
func (m *Metrics) ObserveCheck(d time.Duration) {
	if m == nil {
		return
	}
	m.check.Observe(d.Seconds())
}

// TerminalOpened counts a terminal connection as open until TerminalClosed.
func (m *Metrics) TerminalOpened() {
	if m == nil {
		return
	}
	m.terminals.Inc()
}

// TerminalClosed undoes one TerminalOpened.
func (m *Metrics) TerminalClosed() {
	if m == nil {
		return
	}
	m.terminals.Dec()
}

// WebSocketBytes adds n bytes in direction "in" (from the browser) or "out".
// Any other direction is ignored so a typo can't create a new series.
func (m *Metrics) WebSocketBytes(direction string, n int) {
	if m == nil || n <= 0 || (direction != "in" && direction != "out") {
		return
	}
	m.wsBytes.WithLabelValues(direction).Add(float64(n))
}

// Error counts one error by its Keiko error code (keiko.ErrorCode). An
// unknown code counts as internal, as keiko.ErrorCode treats an unclassified
// error, so the label keeps a fixed set of values.
func (m *Metrics) Error(code string) {
	if m == nil {
		return
	}
	switch code {
	case keiko.EINVALID, keiko.ENOTFOUND, keiko.ECONFLICT, keiko.EUNAUTHORIZED, keiko.EUNAVAILABLE, keiko.EINTERNAL:
	default:
		code = keiko.EINTERNAL
	}
	m.errors.WithLabelValues(code).Inc()
}

// ObserveHTTP records one request. route must be the router's template
// (e.g. "/api/sessions/:id"), never the raw path, or session IDs would make
// one series per session; an unmatched route is recorded as "unmatched".
func (m *Metrics) ObserveHTTP(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(route, statusClass(status)).Inc()
	m.httpSeconds.WithLabelValues(route).Observe(d.Seconds())
}

// statusClass folds a status into its class to bound the label's values.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// WebhookDropped counts one event the webhook had no room to queue.
func (m *Metrics) WebhookDropped() {
	if m == nil {
		return
	}
	m.webhookDropped.Inc()
}
