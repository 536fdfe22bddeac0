package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keiko-lab/keiko/localcluster"
	"github.com/keiko-lab/keiko/metrics"
	"github.com/keiko-lab/keiko/player"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/sandbox/check"
	"github.com/keiko-lab/keiko/server"
	"github.com/keiko-lab/keiko/store"
	"github.com/keiko-lab/keiko/webhook"
)

// serveOptions are serve's flags.
type serveOptions struct {
	addr        string
	dataDir     string
	kubeconfig  string
	clusterPort int
	logFormat   string
	logLevel    string
	sandbox     sandboxFlags
	reapEvery   time.Duration
	unsafeShell bool
	terminal    string
	termImage   string
	scenarios   []string
	adminPass   string
	instrPass   string
	webhookURL  string
	webhookKey  string
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the labs, with an embedded cluster unless given one",
		Long: `Serve Keiko's web UI and API, and connect to the Kubernetes cluster that
holds the learners' sandboxes. The cluster is chosen in this order:

  1. --kubeconfig, if set: an existing cluster, such as kind or a cloud one.
  2. The pod's service account, when Keiko runs inside Kubernetes.
  3. Otherwise the embedded cluster: Keiko starts keiko-cluster (found next
     to the keiko binary, or on PATH) with its state in --data-dir, and
     writes an admin kubeconfig to <data-dir>/admin.kubeconfig.

Learners' shells run in a bubblewrap jail on this machine, or, with
--terminal=pod (the default inside Kubernetes), in a terminal pod in their
own namespace, run as their ServiceAccount. docs/operations.md explains
running Keiko on a cluster with deploy/kubernetes.

The web server listens at once. GET /healthz answers 200 while Keiko runs;
GET /readyz answers 200 once the cluster is ready, and 503 with the reason
until then. GET /metrics serves Prometheus metrics.

Learners use / (the catalog) and /join (a workshop's code). Instructors sign
in at /login with --instructor-password and run workshops at /instructor;
the admin signs in with --admin-password (made and kept in the data dir
when not given) and sees /admin. docs/api.md describes the HTTP API.

SIGINT (Ctrl-C) or SIGTERM stops Keiko gracefully: it finishes requests in
flight, closes terminals with "going away" so browsers reconnect to the next
Keiko, sends queued webhook events, then stops the embedded cluster. A
second signal stops it at once. Learners' sandboxes and progress survive a
restart.`,
		Example: `  # Start Keiko and its embedded cluster, then open http://127.0.0.1:8080
  keiko serve

  # Teach on an existing cluster
  keiko serve --kubeconfig ~/.kube/config

  # On a cluster, with learners' terminals in pods of the terminal image
  keiko serve --kubeconfig ~/.kube/config --terminal=pod \
    --terminal-image registry.example/keiko-terminal:v0.1.0

  # Accept connections from other machines, keeping state in /var/lib/keiko
  KEIKO_ADDR=0.0.0.0:8080 KEIKO_DATA_DIR=/var/lib/keiko keiko serve

  # Run a workshop, with JSON logs and every learner event sent to a collector
  keiko serve --instructor-password 'choose-one' --log-format json \
    --events-webhook https://collector.example/keiko`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// Restore default signal handling once shutdown starts, so a
			// second Ctrl-C kills a shutdown that hangs. The cluster dies
			// with us: localcluster sets its parent-death signal.
			context.AfterFunc(ctx, stop)
			return runServe(ctx, o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on, host:port")
	f.StringVar(&o.dataDir, "data-dir", "./.keiko", "directory for Keiko's database and the embedded cluster's state and keys; made private (mode 0700)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of an existing cluster; if empty, Keiko uses its pod's service account inside Kubernetes, else starts the embedded cluster")
	f.IntVar(&o.clusterPort, "cluster-port", 6443, "port of the embedded cluster's apiserver on 127.0.0.1")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	o.sandbox.register(f, true)
	f.DurationVar(&o.reapEvery, "reap-interval", 10*time.Second, "how often expired and orphaned sandboxes are looked for and deleted")
	f.StringSliceVar(&o.scenarios, "scenarios", nil, "directories of scenarios to offer besides the built-in ones (comma-separated, or the flag repeated); a broken scenario is listed with its errors, not fatal")
	f.StringVar(&o.adminPass, "admin-password", "", "password for the admin page and all workshops; if empty, one is made and kept in <data-dir>/admin-password")
	f.StringVar(&o.instrPass, "instructor-password", "", "password instructors sign in with at /login to run workshops (empty: only the admin can)")
	f.StringVar(&o.webhookURL, "events-webhook", "", "URL to POST every learner event to as JSON (session started, step checked/passed/skipped, hint and solve used, finished)")
	f.StringVar(&o.webhookKey, "events-webhook-secret", "", "if set, each webhook POST carries X-Keiko-Signature: sha256=<HMAC of the body with this secret>")
	f.StringVar(&o.terminal, "terminal", terminalAuto, "where learners' shells run: local (a bubblewrap jail on this machine), pod (a terminal pod in the learner's namespace, from --terminal-image), or auto (pod when Keiko runs inside Kubernetes, else local)")
	f.StringVar(&o.termImage, "terminal-image", "ghcr.io/keiko-lab/keiko-terminal:"+version, "image of learners' terminal pods, with --terminal=pod (deploy/images/terminal; make images builds it)")
	f.BoolVar(&o.unsafeShell, "unsafe-local-terminal", false, "when no bubblewrap jail can be made, run learners' shells unjailed, as Keiko's own user (they can then see this machine); without it such terminals are refused")
	bindEnv(cmd)
	return cmd
}

// Timeouts for serve's lifecycle.
const (
	readyPollInterval = 250 * time.Millisecond
	// stillWaitingEvery spaces out reminders while the cluster starts, so a
	// slow start says why without flooding the terminal.
	stillWaitingEvery = 15 * time.Second
	// httpShutdownGrace bounds how long requests in flight may finish.
	httpShutdownGrace = 10 * time.Second
)

// runServe runs Keiko until ctx ends or a part fails. It prints its
// progress for people to stderr, and its logs there too.
func runServe(ctx context.Context, o serveOptions, stderr io.Writer) error {
	logger, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}

	dataDir, err := filepath.Abs(o.dataDir)
	if err != nil {
		return fmt.Errorf("resolve --data-dir: %w", err)
	}
	// The data dir holds the cluster's CA key and admin credentials. Chmod
	// too, because MkdirAll leaves an existing directory's mode alone.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return fmt.Errorf("make data dir private: %w", err)
	}

	db, err := store.Open(ctx, filepath.Join(dataDir, "keiko.db"))
	if err != nil {
		return err
	}
	defer db.Close()

	sbCfg, err := o.sandbox.config()
	if err != nil {
		return err
	}
	sbCfg.Logger = logger

	cc, err := connectCluster(o.kubeconfig, dataDir, o.clusterPort, stderr, logger)
	if err != nil {
		return err
	}
	shellMode, err := terminalMode(o.terminal, cc.inCluster)
	if err != nil {
		return err
	}
	if shellMode == terminalPod && cc.local != nil {
		return errors.New("--terminal=pod needs a real cluster: the embedded one runs no containers; use --kubeconfig or run Keiko in the cluster (docs/operations.md)")
	}

	// Listen before starting the cluster, so a port already in use fails
	// fast instead of after a cluster start.
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	url := "http://" + ln.Addr().String()
	secret, err := loadSecret(filepath.Join(dataDir, "secret"))
	if err != nil {
		return err
	}
	catalog := loadCatalog(o.scenarios, logger, stderr)
	adminPass, err := adminPassword(o.adminPass, filepath.Join(dataDir, "admin-password"))
	if err != nil {
		return err
	}
	var hook *webhook.Poster
	if o.webhookURL != "" {
		if hook, err = webhook.New(webhook.Config{URL: o.webhookURL, Secret: []byte(o.webhookKey), Logger: logger}); err != nil {
			return fmt.Errorf("--events-webhook: %w", err)
		}
	}
	labs := &pendingLab{}
	meters := metrics.New(metrics.Options{
		ActiveSessions: func() int { return labs.capacity().Sandboxes },
		PoolReady:      func() int { return labs.capacity().PoolReady },
	})
	srv := server.New(server.Config{
		Auth:       server.Passwords{Admin: adminPass, Instructor: o.instrPass},
		Workshops:  &workshops{db: db, now: time.Now},
		Admin:      labs,
		Metrics:    meters,
		Catalog:    catalog,
		Addr:       o.addr,
		Probe:      cc.probe,
		Kubeconfig: cc.kubeconfig,
		Logger:     logger,
		Sessions:   labs,
		Terminals:  labs,
		Secret:     secret,
	})
	fmt.Fprintf(stderr, "Keiko is starting on %s\n", url)
	if o.adminPass == "" {
		fmt.Fprintf(stderr, "admin sign-in: %s/login, with the password in %s\n", url, filepath.Join(dataDir, "admin-password"))
	}
	hookCtx, stopHook := context.WithCancel(context.WithoutCancel(ctx))
	hookDone := make(chan struct{})
	go func() { defer close(hookDone); hook.Run(hookCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()

	// The cluster's context is not ctx: at shutdown it must outlive the
	// HTTP server, so nothing a learner does reaches a dying cluster.
	clusterCtx, stopCluster := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCluster()
	var clusterDone chan error // nil, so never ready, unless embedded
	if cc.local != nil {
		clusterDone = make(chan error, 1)
		go func() { clusterDone <- cc.local.Run(clusterCtx) }()
	}
	fmt.Fprintf(stderr, "waiting for %s…\n", cc.name)

	readyCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	ready := make(chan struct{})
	go func() {
		if waitReady(readyCtx, cc.probe, stderr) == nil {
			close(ready)
		}
	}()

	var runErr error
wait:
	for {
		select {
		case <-ready:
			ready = nil
			if err := startSandboxes(clusterCtx, cc, sbCfg, o.reapEvery, labs, catalog, db, shellOptions{mode: shellMode, image: o.termImage, homes: filepath.Join(dataDir, "homes"), unsafe: o.unsafeShell}, observers{metrics: meters, webhook: hook, log: logger}, stderr); err != nil {
				runErr = err
				break wait
			}
			fmt.Fprintf(stderr, "Keiko is ready: %s\n", url)
			if cc.local != nil {
				fmt.Fprintf(stderr, "admin kubeconfig: %s\n", cc.kubeconfig)
			}
		case err := <-httpDone:
			httpDone = nil
			runErr = fmt.Errorf("http server stopped: %w", errOr(err, errors.New("closed unexpectedly")))
			break wait
		case err := <-clusterDone:
			clusterDone = nil
			runErr = fmt.Errorf("embedded cluster stopped: %w", errOr(err, errors.New("exited unexpectedly")))
			break wait
		case <-ctx.Done():
			fmt.Fprintln(stderr, "Keiko is shutting down…")
			break wait
		}
	}
	stopWaiting()

	if httpDone != nil {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownGrace)
		err := srv.Shutdown(shutdownCtx)
		cancel()
		runErr = errors.Join(runErr, err, <-httpDone)
	}
	labs.close()
	stopHook()
	<-hookDone // queued events go out before Keiko stops
	stopCluster()
	if clusterDone != nil {
		fmt.Fprintln(stderr, "stopping the embedded cluster…")
		if err := <-clusterDone; err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("stop embedded cluster: %w", err))
		}
	}
	if runErr == nil {
		fmt.Fprintln(stderr, "Keiko stopped.")
	}
	return runErr
}

// errOr returns err, or def when err is nil.
func errOr(err, def error) error {
	if err == nil {
		return def
	}
	return err
}

// clusterConn is the cluster serve uses, however it was found.
type clusterConn struct {
	name       string // for people: "the embedded cluster"
	probe      server.ClusterProbe
	kubeconfig string                // admin kubeconfig to show; empty in a pod
	inCluster  bool                  // Keiko runs in a pod of this cluster
	local      *localcluster.Cluster // nil unless Keiko runs the cluster itself
	restConfig func() (*rest.Config, error)
}

// connectCluster picks the cluster as serve's help describes.
func connectCluster(kubeconfig, dataDir string, port int, stderr io.Writer, logger *slog.Logger) (clusterConn, error) {
	if kubeconfig != "" {
		rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return clusterConn{}, fmt.Errorf("load --kubeconfig: %w", err)
		}
		return externalCluster("the cluster in "+kubeconfig, rc, kubeconfig)
	}

	rc, err := rest.InClusterConfig()
	if err == nil {
		cc, err := externalCluster("the cluster Keiko runs in", rc, "")
		cc.inCluster = true
		return cc, err
	}
	if !errors.Is(err, rest.ErrNotInCluster) {
		// In a pod without a service account token, such as a cloud IDE's
		// workspace: the embedded cluster is still the useful choice.
		logger.Warn("in-cluster config unusable; starting the embedded cluster", "err", err)
	}

	bin, err := localcluster.FindBinary()
	if err != nil {
		return clusterConn{}, err
	}
	c := localcluster.New(localcluster.Options{
		Binary:  bin,
		DataDir: dataDir,
		Port:    port,
		Output:  stderr, // keiko-cluster prefixes its own progress lines
		Logger:  logger,
	})
	return clusterConn{name: "the embedded cluster", probe: c, kubeconfig: c.KubeconfigPath(), local: c, restConfig: c.RESTConfig}, nil
}

func externalCluster(name string, rc *rest.Config, kubeconfig string) (clusterConn, error) {
	// client-go's default of 5 QPS makes provisioning one sandbox take
	// seconds under load; Keiko is the cluster's main client.
	rc.QPS, rc.Burst = 1000, 2000
	rc.UserAgent = "keiko/" + version
	p, err := newAPIProbe(rc)
	if err != nil {
		return clusterConn{}, err
	}
	return clusterConn{name: name, probe: p, kubeconfig: kubeconfig, restConfig: func() (*rest.Config, error) { return rest.CopyConfig(rc), nil }}, nil
}

// shellOptions say where and how learners' shells run.
type shellOptions struct {
	mode   string // terminalLocal or terminalPod
	image  string // --terminal-image, for terminalPod
	homes  string // local shells' home directories, inside the data dir
	unsafe bool   // --unsafe-local-terminal
}

// startSandboxes reconciles the cluster's sandboxes with this fresh process,
// starts the reaper and the warm pool, which run until ctx ends, and opens
// sessions and terminals to learners.
func startSandboxes(ctx context.Context, cc clusterConn, cfg sandbox.Config, reapEvery time.Duration, labs *pendingLab, cat catalog, db *store.DB, sh shellOptions, obs observers, stderr io.Writer) error {
	logger := obs.log
	rc, err := cc.restConfig()
	if err != nil {
		return err
	}
	// The reaper may delete a sandbox before the lab exists; labs guards it.
	cfg.OnDelete = func(id string) {
		if l, err := labs.get(); err == nil {
			l.ended(id)
		}
	}
	var shells shells
	if sh.mode == terminalPod {
		if shells, err = podShells(rc, sh.image, logger); err != nil {
			return err
		}
		cfg.OnCreate = shells.prepare
	}
	// With deploy/kubernetes's RBAC, Keiko has rights in a sandbox only
	// once it has bound itself there.
	if cfg.Self, err = sandbox.ServiceAccountOf(ctx, rc); err != nil {
		return err
	}
	m, err := sandbox.New(rc, cfg)
	if err != nil {
		return err
	}
	if sh.mode == terminalLocal {
		shells = localShells(m, sh.homes, sh.unsafe, logger, stderr)
	}
	reaped, err := m.Reconcile(ctx)
	if err != nil {
		return fmt.Errorf("reconcile sandboxes: %w", err)
	}
	fmt.Fprintf(stderr, "sandboxes: %d live, %d removed at startup, warm pool of %d filling\n", m.Live(), len(reaped), cfg.PoolSize)
	go m.RunReaper(ctx, reapEvery)
	go m.RunPool(ctx)
	go m.RunCache(ctx)

	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	l := newLab(m, shells)
	l.player = &player.Player{Sandboxes: m, Checks: check.New(dyn, shells.scripts), Scripts: shells.scripts}
	l.scenario = cat.scenario
	l.db, l.extendBy, l.now = db, m.TTL(), time.Now
	l.observers = obs
	labs.ready(l)
	return nil
}

// waitReady polls probe until it answers or ctx ends, reminding the user
// now and then why it is still waiting.
func waitReady(ctx context.Context, probe server.ClusterProbe, stderr io.Writer) error {
	start := time.Now()
	lastReminder := start
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe.Ready(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if time.Since(lastReminder) >= stillWaitingEvery {
			lastReminder = time.Now()
			fmt.Fprintf(stderr, "still waiting for the cluster after %s: %v\n", time.Since(start).Round(time.Second), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPollInterval):
		}
	}
}

// newLogger builds the slog logger the flags ask for.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("invalid --log-format %q: want text or json", format)
	}
}

// adminPassword is the --admin-password, or the one kept in path, made
// on first start: a fresh Keiko is never open to anyone who finds /admin.
func adminPassword(flag, path string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 12 {
		return strings.TrimSpace(string(b)), nil
	} else if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("read admin password: %w", err)
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make admin password: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	if err := os.WriteFile(path, []byte(p+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin password: %w", err)
	}
	return p, nil
}

// loadSecret reads the key that signs learner cookies, creating it on
// first start, so learners keep their sessions across restarts.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read cookie secret: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("make cookie secret: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write cookie secret: %w", err)
	}
	return b, nil
}
