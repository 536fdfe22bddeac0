package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/keiko-lab/keiko/bench"
	"github.com/keiko-lab/keiko/localcluster"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Keiko's performance",
		Long: `Measure Keiko's performance and print a table for docs/benchmarks.md.

Without --kubeconfig, each benchmark starts a fresh embedded cluster in a
temporary directory, so figures do not depend on what a data directory
already holds.`,
	}
	var kubeconfig string
	var claims int
	sb := &cobra.Command{
		Use:   "sandbox",
		Short: "Provisioning latency at concurrency 1, 10 and 50, against the raw client-go floor, and warm-pool claims",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			progress := cmd.ErrOrStderr()
			rc, stop, err := ownCluster(ctx, kubeconfig, progress)
			if err != nil {
				return err
			}
			defer stop()
			opts := bench.DefaultSandboxOptions()
			opts.PoolClaims = claims
			opts.Progress = progress
			r, err := bench.Sandbox(ctx, rc, opts)
			if err != nil {
				return err
			}
			printSandboxReport(cmd.OutOrStdout(), r)
			return nil
		},
	}
	sb.Flags().StringVar(&kubeconfig, "kubeconfig", "", "benchmark this cluster instead of a fresh embedded one")
	sb.Flags().IntVar(&claims, "claims", 40, "warm-pool claims to time")
	bindEnv(sb)
	cmd.AddCommand(sb, newBenchTerminalCmd(), newBenchTerminalServerCmd(), newBenchLoadCmd())
	return cmd
}

// ownCluster connects to kubeconfig's cluster, or starts an embedded
// cluster of its own and returns a func that stops it.
func ownCluster(ctx context.Context, kubeconfig string, progress io.Writer) (*rest.Config, func(), error) {
	if kubeconfig != "" {
		rc, err := (&clusterFlags{kubeconfig: kubeconfig}).restConfig()
		return rc, func() {}, err
	}
	bin, err := localcluster.FindBinary()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "keiko-cluster-")
	if err != nil {
		return nil, nil, err
	}
	port, err := localcluster.FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	c := localcluster.New(localcluster.Options{Binary: bin, DataDir: dir, Port: port, Output: progress})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopped, err := c.Start(runCtx, 2*time.Minute)
	if err != nil {
		cancel()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stop := func() {
		cancel()
		<-stopped
		os.RemoveAll(dir)
	}
	rc, err := c.RESTConfig()
	if err != nil {
		stop()
		return nil, nil, err
	}
	return rc, stop, nil
}

func printSandboxReport(w io.Writer, r *bench.SandboxReport) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	ratio := func(a, b time.Duration) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(b))
	}
	fmt.Fprintf(w, "Sandbox provisioning, %d cores (%s/%s), ms\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "| concurrency\t| n\t| keiko p50\t| keiko p99\t| floor p50\t| floor p99\t| ratio p50\t| ratio p99\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "| %d\t| %d\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", row.Concurrency, row.Keiko.N,
			ms(row.Keiko.P50), ms(row.Keiko.P99), ms(row.Floor.P50), ms(row.Floor.P99),
			ratio(row.Keiko.P50, row.Floor.P50), ratio(row.Keiko.P99, row.Floor.P99))
	}
	tw.Flush()
	if r.WarmClaim.N > 0 {
		fmt.Fprintf(w, "\nwarm-pool claim (n=%d): p50 %s ms, p99 %s ms\n", r.WarmClaim.N, ms(r.WarmClaim.P50), ms(r.WarmClaim.P99))
	}
}
