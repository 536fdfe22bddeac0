package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/bench"
	"github.com/keiko-lab/keiko/localcluster"
	"github.com/keiko-lab/keiko/server"
	"github.com/keiko-lab/keiko/terminal"
	"github.com/keiko-lab/keiko/terminal/jail"
)

func newBenchTerminalCmd() *cobra.Command {
	opts := bench.DefaultTerminalOptions()
	var ttyd string
	var ttydPID int
	cmd := &cobra.Command{
		Use:   "terminal",
		Short: "Terminal throughput (seq 1 3000000), keystroke echo latency and server memory per terminal",
		Long: `Starts a Keiko terminal server in a child process (so its memory is
measured alone), with real jailed shells, and drives its WebSocket endpoint:
throughput of seq 1 N, keystroke echo latency with --idle terminals open,
and the server's resident memory with 1 and --idle terminals.

With --ttyd, the same client then measures a running ttyd the same way, for
a side-by-side figure on this machine. Start it with a shell whose prompt
ends in "$ ", for example:

  ttyd -W -i lo -p 7681 env -i PS1='$ ' TERM=xterm-256color bash --norc
  keiko bench terminal --ttyd http://127.0.0.1:7681 --ttyd-pid $(pgrep -x ttyd)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "keiko-bench-terminal-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			child := exec.Command(self, "bench", "terminal-server", "--data-dir", dir)
			child.Stderr = cmd.ErrOrStderr()
			out, err := child.StdoutPipe()
			if err != nil {
				return err
			}
			if err := child.Start(); err != nil {
				return err
			}
			defer func() { _ = child.Process.Signal(syscall.SIGTERM); _ = child.Wait() }()
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				return fmt.Errorf("terminal server did not start: %w", err)
			}
			opts.URL = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
			opts.ServerPID = child.Process.Pid
			opts.Progress = cmd.ErrOrStderr()
			r, err := bench.Terminal(cmd.Context(), opts)
			if err != nil {
				return err
			}
			printTerminalReport(cmd.OutOrStdout(), "Keiko", r)
			if ttyd == "" {
				return nil
			}
			opts.URL, opts.ServerPID, opts.TTYD = ttyd, ttydPID, true
			if r, err = bench.Terminal(cmd.Context(), opts); err != nil {
				return fmt.Errorf("ttyd at %s: %w", ttyd, err)
			}
			fmt.Fprintln(cmd.OutOrStdout())
			printTerminalReport(cmd.OutOrStdout(), "ttyd", r)
			return nil
		},
	}
	cmd.Flags().IntVar(&opts.Idle, "idle", opts.Idle, "terminals held open while timing echoes")
	cmd.Flags().IntVar(&opts.Echoes, "echoes", opts.Echoes, "keystrokes to time")
	cmd.Flags().IntVar(&opts.SeqN, "seq", opts.SeqN, "N in seq 1 N for throughput")
	cmd.Flags().StringVar(&ttyd, "ttyd", "", "also measure the ttyd at this URL (http://host:port)")
	cmd.Flags().IntVar(&ttydPID, "ttyd-pid", 0, "ttyd's process id, to measure its memory too")
	bindEnv(cmd)
	return cmd
}

func printTerminalReport(w io.Writer, server string, r *bench.TerminalReport) {
	fmt.Fprintf(w, "%s terminal, %d cores (%s/%s)\n\n", server, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "throughput: %.1f MB/s (%d bytes in %s)\n", r.MBps(), r.SeqBytes, r.SeqDuration.Round(time.Millisecond))
	fmt.Fprintf(w, "keystroke echo with %d terminals open: p50 %d µs, p99 %d µs (n=%d)\n", r.Idle, r.Echo.P50.Microseconds(), r.Echo.P99.Microseconds(), r.Echo.N)
	if r.RSSBase == 0 {
		fmt.Fprintln(w, "server RSS: not measured")
		return
	}
	fmt.Fprintf(w, "server RSS: %d kB with none, +%d kB with 1 terminal, +%.1f kB per terminal with %d\n",
		r.RSSBase, r.RSSOne-r.RSSBase, float64(r.RSSIdle-r.RSSBase)/float64(r.Idle), r.Idle)
}

// newBenchTerminalServerCmd is the child of `keiko bench terminal`: a bare
// terminal server whose shells are jailed like learners' but need no
// cluster. Hidden: it lets anyone open a shell.
func newBenchTerminalServerCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:    "terminal-server",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kubectl, err := localcluster.FindBinary()
			if err != nil {
				return err
			}
			j, err := jail.New(jail.Config{HomeRoot: filepath.Join(dataDir, "homes"), Kubectl: kubectl})
			if err != nil {
				return err
			}
			reg := terminal.NewRegistry(func(_ context.Context, id string) (terminal.Backend, error) {
				return j.Start(id, []byte("apiVersion: v1\nkind: Config\n"), 80, 24)
			}, terminal.Options{})
			defer reg.CloseAll()
			srv := server.New(server.Config{Terminals: benchTerminals{reg}})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "listening on http://%s\n", ln.Addr())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
			return srv.Serve(ln)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "directory for the shells' homes")
	return cmd
}

type benchTerminals struct{ reg *terminal.Registry }

func (b benchTerminals) Terminal(r *http.Request, id string) (*terminal.Terminal, bool, func(), error) {
	if !strings.HasPrefix(id, "bench-") {
		return nil, false, nil, keiko.Errorf(keiko.ENOTFOUND, "No session %q.", id)
	}
	t, err := b.reg.Get(r.Context(), id)
	return t, false, func() {}, err
}
