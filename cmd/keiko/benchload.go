package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keiko-lab/keiko/bench"
	"github.com/keiko-lab/keiko/localcluster"
)

func newBenchLoadCmd() *cobra.Command {
	opts := bench.DefaultLoadOptions()
	var warmPool int
	var verbose bool
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Simulated learners against a Keiko server: latencies, errors and server memory",
		Long: `Runs --learners simulated learners against a Keiko server, arriving evenly
over --ramp. Each has its own cookie jar, so each is a learner of its own,
and does what a browser does:

  1. GET / (the catalog page) and GET /api/scenarios;
  2. POST /api/sessions for --scenario, retrying after a 503 as its
     Retry-After says;
  3. opens the session's terminal WebSocket, with the server's Origin, and
     waits for the shell's prompt;
  4. follows GET /api/sessions/{id}/events (Server-Sent Events);
  5. for --duration, types an echo into the terminal every 2 s and waits for
     its output, and GETs /api/sessions/{id} every 2 s;
  6. DELETEs the session.

It prints, as markdown tables for docs/benchmarks.md, p50/p95/p99/max of
page GETs, API GETs, terminal command round trips, terminal opening and
session start (provisioning: it is not an API latency), the events
received, the errors (a good run has none; the first few are printed), and
the server's resident memory: before, at its peak (sampled every second),
at the end, its high-water mark, and the growth per learner.

Without --url it starts a server of its own: this executable's "keiko
serve" with an embedded cluster in a temporary directory, no limits on
sandboxes, a warm pool of --warm-pool, and no orphan expiry; it stops it
with SIGTERM at the end. With --url it measures a running server, and its
memory only if --pid is given.`,
		Example: `  # 300 learners for a minute each, against a fresh server of its own
  keiko bench load

  # A quick run, showing the server's logs
  keiko bench load --learners 20 --duration 20s --ramp 5s --verbose

  # A running Keiko, with its memory
  keiko bench load --url http://127.0.0.1:8080 --pid $(pgrep -x keiko)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Ctrl-C ends the learners' sessions before stopping.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			progress := cmd.ErrOrStderr()
			opts.Progress = progress
			if opts.URL == "" {
				srv, err := startLoadServer(ctx, warmPool, verbose, progress)
				if err != nil {
					return err
				}
				defer srv.stop(progress)
				opts.URL, opts.ServerPID = srv.url, srv.cmd.Process.Pid
			}
			fmt.Fprintf(progress, "%d learners against %s, arriving over %s, for %s each…\n", opts.Learners, opts.URL, opts.Ramp, opts.Duration)
			r, err := bench.Load(ctx, opts)
			if err != nil {
				return err
			}
			printLoadReport(cmd.OutOrStdout(), opts, r)
			if r.Errors > 0 {
				return fmt.Errorf("%d errors", r.Errors)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Learners, "learners", opts.Learners, "simulated learners")
	f.DurationVar(&opts.Duration, "duration", opts.Duration, "how long each learner works once their terminal is open")
	f.DurationVar(&opts.Ramp, "ramp", opts.Ramp, "learners arrive evenly spread over this")
	f.StringVar(&opts.Scenario, "scenario", opts.Scenario, "scenario each learner starts")
	f.StringVar(&opts.URL, "url", "", "measure the Keiko at this URL (http://host:port) instead of starting one")
	f.IntVar(&opts.ServerPID, "pid", 0, "with --url, the server's process id, to measure its memory")
	f.IntVar(&warmPool, "warm-pool", 3, "without --url, the warm pool of the server started")
	f.BoolVar(&verbose, "verbose", false, "without --url, show the server's logs")
	bindEnv(cmd)
	return cmd
}

// loadServer is a `keiko serve` of the load benchmark's own, with its
// cluster and database in a temporary directory.
type loadServer struct {
	cmd    *exec.Cmd
	dir    string
	url    string
	exited chan struct{} // closed when the process has ended
	err    error         // its exit status, once exited
	logs   *serverLog
}

// Timeouts for the benchmark's own server.
const (
	loadServerStart = 3 * time.Minute
	loadServerStop  = time.Minute
)

func startLoadServer(ctx context.Context, warmPool int, verbose bool, progress io.Writer) (*loadServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "keiko-bench-load-")
	if err != nil {
		return nil, err
	}
	port, err := localcluster.FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	clusterPort, err := localcluster.FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(self, "serve", "--addr", addr, "--data-dir", dir, "--cluster-port", strconv.Itoa(clusterPort),
		"--warm-pool", strconv.Itoa(warmPool), "--max-sandboxes", "0", "--max-sandboxes-per-learner", "0", "--orphan-timeout", "0")
	// Its own process group, so a Ctrl-C reaches the benchmark, which
	// ends the sessions and then stops the server; Pdeathsig so a killed
	// benchmark leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	pr, pw, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	fmt.Fprintf(progress, "starting keiko serve on %s, data in %s…\n", addr, dir)
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	pw.Close()
	s := &loadServer{cmd: cmd, dir: dir, url: "http://" + addr, exited: make(chan struct{}), logs: newServerLog(pr, verbose, progress)}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop(progress)
		return nil, err
	}
	return s, nil
}

// waitReady waits for /readyz and then for the "Keiko is ready" line: the
// sandboxes start only after the cluster is ready.
func (s *loadServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, loadServerStart)
	defer cancel()
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("keiko serve exited before it was ready: %v", s.err) // stop shows its last lines
		case <-ctx.Done():
			return fmt.Errorf("keiko serve not ready after %s: %w; its last lines:\n%s", loadServerStart, ctx.Err(), s.logs.tail())
		case <-time.After(250 * time.Millisecond):
		}
		if !s.logs.isReady() {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// stop ends the server with SIGTERM, as an operator would, and removes its
// directory.
func (s *loadServer) stop(progress io.Writer) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(loadServerStop):
		fmt.Fprintf(progress, "keiko serve did not stop within %s; killing it\n", loadServerStop)
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	var exit *exec.ExitError
	if s.err != nil && !errors.As(s.err, &exit) {
		fmt.Fprintf(progress, "keiko serve: %v\n", s.err)
	} else if s.err != nil {
		fmt.Fprintf(progress, "keiko serve stopped with %v; its last lines:\n%s", s.err, s.logs.tail())
	}
	if n, first := s.logs.problems(); n > 0 {
		fmt.Fprintf(progress, "keiko serve logged %d warnings and errors; the first:\n%s", n, strings.Join(first, ""))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		fmt.Fprintf(progress, "remove %s: %v\n", s.dir, err)
	}
}

// serverLog reads the server's output: it shows it with --verbose, notices
// the ready line, and keeps the last lines and the first warnings.
type serverLog struct {
	mu       sync.Mutex
	ready    bool
	last     []string
	warnings []string
	nWarn    int
}

const (
	serverLogTail     = 30
	serverLogWarnings = 10
)

func newServerLog(r io.ReadCloser, verbose bool, progress io.Writer) *serverLog {
	l := &serverLog{}
	go func() {
		defer r.Close()
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if verbose {
					fmt.Fprint(progress, line)
				}
				l.add(line)
			}
			if err != nil {
				return
			}
		}
	}()
	return l
}

func (l *serverLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.Contains(line, "Keiko is ready") {
		l.ready = true
	}
	if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
		l.nWarn++
		if len(l.warnings) < serverLogWarnings {
			l.warnings = append(l.warnings, line)
		}
	}
	l.last = append(l.last, line)
	if len(l.last) > serverLogTail {
		l.last = l.last[1:]
	}
}

func (l *serverLog) isReady() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ready
}

func (l *serverLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "")
}

func (l *serverLog) problems() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nWarn, l.warnings
}

func printLoadReport(w io.Writer, opts bench.LoadOptions, r *bench.LoadReport) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "Keiko under load (%s), %d cores (%s/%s)\n\n", opts.Scenario, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, "| learners\t| duration each\t| ramp\t| wall\t| most sessions at once\t| errors\t| 503 retries\t| events received\t|")
	fmt.Fprintln(tw, "|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	fmt.Fprintf(tw, "| %d\t| %s\t| %s\t| %s\t| %d\t| %d\t| %d\t| %d\t|\n", r.Learners, r.Duration, r.Ramp,
		r.Wall.Round(100*time.Millisecond), r.PeakSessions, r.Errors, r.Retries, r.Events)
	tw.Flush()

	fmt.Fprintf(w, "\nLatencies, ms\n\n")
	tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, "| what\t| n\t| p50\t| p95\t| p99\t| max\t|")
	fmt.Fprintln(tw, "|---\t|---:\t|---:\t|---:\t|---:\t|---:\t|")
	for _, row := range []struct {
		name string
		s    bench.Spread
	}{
		{"page GET", r.Page},
		{"API GET", r.API},
		{"command round trip", r.Command},
		{"terminal open to prompt", r.Terminal},
		{"session start", r.SessionStart},
	} {
		fmt.Fprintf(tw, "| %s\t| %d\t| %s\t| %s\t| %s\t| %s\t|\n", row.name, row.s.N, ms(row.s.P50), ms(row.s.P95), ms(row.s.P99), ms(row.s.Max))
	}
	tw.Flush()

	fmt.Fprintln(w)
	if r.RSSBase == 0 {
		fmt.Fprintln(w, "server RSS: not measured (give --pid)")
	} else {
		mb := func(kb int64) string { return fmt.Sprintf("%.1f", float64(kb)/1024) }
		fmt.Fprintf(w, "Server memory (keiko only, not keiko-cluster or the shells), MB\n\n")
		tw = tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
		fmt.Fprintln(tw, "| before\t| peak\t| end\t| high-water mark\t| per learner at peak, kB\t|")
		fmt.Fprintln(tw, "|---:\t|---:\t|---:\t|---:\t|---:\t|")
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %.0f\t|\n", mb(r.RSSBase), mb(r.RSSPeak), mb(r.RSSEnd), mb(r.RSSHWM), r.RSSPerLearner())
		tw.Flush()
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "\n%d errors; the first:\n", r.Errors)
		for _, e := range r.FirstErrors {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
}
