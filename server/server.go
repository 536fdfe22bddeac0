// Package server serves Keiko's HTTP API and pages with gin.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko/web"
)

func init() {
	// gin's debug mode prints every route and warning to stdout, which would
	// bury Keiko's own startup lines. The mode is a gin global, so set it
	// once, before any engine exists.
	gin.SetMode(gin.ReleaseMode)
}

// ClusterProbe reports whether the Kubernetes cluster behind Keiko can serve
// requests. The embedded cluster and a client-go adapter both satisfy it.
type ClusterProbe interface {
	// Ready returns nil when the cluster answers its readiness check now,
	// and an error saying why not otherwise.
	Ready(ctx context.Context) error
}

// Config is what a Server needs. Zero values are usable except for Probe.
type Config struct {
	Addr       string       // address for ListenAndServe, e.g. "127.0.0.1:8080"
	Probe      ClusterProbe // nil means "no cluster": /readyz answers 503
	Kubeconfig string       // admin kubeconfig path shown on the landing page; empty hides it
	Logger     *slog.Logger // nil discards logs
	// Terminals serves the terminal WebSocket; nil answers 503 there.
	Terminals Terminals
	// Sessions starts learners' sessions; nil answers 503.
	Sessions Sessions
	// Catalog is the scenarios on offer; nil offers none.
	Catalog Catalog
	// Auth signs in instructors and admins; nil turns staff pages off.
	Auth Authenticator
	// Workshops runs instructors' workshops; nil answers 503.
	Workshops Workshops
	// Admin reports capacity for the admin page; nil shows none.
	Admin AdminStatus
	// Metrics serves /metrics and hears what the server does; nil
	// serves no metrics.
	Metrics Metrics
	// Secret signs learner cookies. Without one a random secret is used,
	// and learners lose their sessions when the server restarts.
	Secret []byte
}

// probeTimeout bounds each readiness check, so a hung apiserver makes
// /readyz fail fast instead of stalling the kubelet or load balancer.
const probeTimeout = 2 * time.Second

// Server is Keiko's HTTP server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *gin.Engine
	pages  *template.Template
	http   *http.Server
	// ctx lives as long as the server and ends at Shutdown; terminal
	// connections outlive their handlers and end with it.
	ctx    context.Context
	cancel context.CancelFunc
	ready  struct { // the catalog's last readiness check
		sync.Mutex
		ok bool
		at time.Time
	}
}

// New returns a Server with all routes registered. It does not listen yet.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Probe == nil {
		cfg.Probe = noCluster{}
	}
	if len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		if _, err := rand.Read(cfg.Secret); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
	}
	s := &Server{
		cfg: cfg,
		log: cfg.Logger,
		// Templates are embedded, so a parse error is a build bug that the
		// package's tests catch; there is no useful way to recover at runtime.
		pages: template.Must(template.ParseFS(web.Templates, "templates/*.html")),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.engine = s.routes()
	s.http = &http.Server{
		Addr:              cfg.Addr,
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: terminals and live events hold responses open.
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the server's routes, for tests and for embedding Keiko
// behind another listener.
func (s *Server) Handler() http.Handler { return s.engine }

// ListenAndServe listens on Config.Addr and serves until Shutdown. It
// returns nil after a graceful Shutdown.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Serve serves on ln until Shutdown. It lets the caller open the listener
// first, so that "address in use" is reported before Keiko says it started
// and so that port 0 yields a known address.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	// Hijacked terminal connections are not the http.Server's to drain:
	// closing them with "going away" lets their browsers reconnect to the
	// next server.
	s.cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	return nil
}

// noCluster stands in when no probe is configured, so the server still
// reports honestly instead of panicking on a nil interface.
type noCluster struct{}

func (noCluster) Ready(context.Context) error { return errors.New("no cluster configured") }
