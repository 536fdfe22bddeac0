package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keiko-lab/keiko/sandbox"
)

// clusterFlags locate the cluster for commands that act on it directly.
type clusterFlags struct {
	kubeconfig string
	dataDir    string
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.kubeconfig, "kubeconfig", "", "admin kubeconfig of the cluster (default <data-dir>/admin.kubeconfig, the embedded cluster's)")
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", "./.keiko", "Keiko's data directory, for the embedded cluster's admin kubeconfig")
}

func (f *clusterFlags) restConfig() (*rest.Config, error) {
	path := f.kubeconfig
	if path == "" {
		path = filepath.Join(f.dataDir, "admin.kubeconfig")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s (is `keiko serve` running, or pass --kubeconfig): %w", path, err)
	}
	rc.QPS, rc.Burst = 1000, 2000
	return rc, nil
}

func newSandboxCmd() *cobra.Command {
	var cf clusterFlags
	var sf sandboxFlags
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Create, list, extend and delete learners' sandboxes by hand",
		Long: `Manage sandboxes directly on the cluster, with admin rights: to try a
scenario's environment, to hand a kubeconfig to someone, or to clean up.

A sandbox made here is like a learner's: its own namespace with a
ServiceAccount, quota, limits, a default-deny NetworkPolicy and Pod
Security, and it expires after --session-ttl. A running "keiko serve"
reaps it like any other.`,
	}
	cf.register(cmd)
	sf.register(cmd.PersistentFlags(), false)
	bindEnv(cmd)

	manager := func() (*sandbox.Manager, error) {
		rc, err := cf.restConfig()
		if err != nil {
			return nil, err
		}
		cfg, err := sf.config()
		if err != nil {
			return nil, err
		}
		return sandbox.New(rc, cfg)
	}

	var learner, scenario, podSecurity, out string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a sandbox and write the learner's kubeconfig",
		Example: `  keiko sandbox create -o learner.kubeconfig
  KUBECONFIG=learner.kubeconfig kubectl get pods`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := manager()
			if err != nil {
				return err
			}
			// Not Reconcile: a running server may be provisioning, and
			// Reconcile takes every half-made sandbox for a crash leftover.
			if err := m.EnsureGuard(cmd.Context()); err != nil {
				return err
			}
			sb, err := m.Provision(cmd.Context(), sandbox.Request{LearnerID: learner, ScenarioID: scenario, PodSecurity: podSecurity})
			if err != nil {
				return err
			}
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(sb.Kubeconfig)
				return err
			}
			if err := os.WriteFile(out, sb.Kubeconfig, 0o600); err != nil {
				return fmt.Errorf("write kubeconfig: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "sandbox %s: namespace %s, expires %s\nlearner kubeconfig: %s\n",
				sb.ID, sb.Namespace, sb.ExpiresAt.Local().Format(time.Kitchen), out)
			return nil
		},
	}
	create.Flags().StringVar(&learner, "learner", "cli", "learner id to record on the sandbox")
	create.Flags().StringVar(&scenario, "scenario", "manual", "scenario id to record on the sandbox")
	create.Flags().StringVar(&podSecurity, "pod-security", "restricted", "Pod Security level: restricted or baseline")
	create.Flags().StringVarP(&out, "output", "o", "-", "where to write the learner kubeconfig (- for stdout)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List sandboxes, warm pool included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := manager()
			if err != nil {
				return err
			}
			sbs, err := m.List(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAMESPACE\tSTATE\tLEARNER\tSCENARIO\tSIZE\tEXPIRES")
			for _, sb := range sbs {
				expires := "-"
				if !sb.ExpiresAt.IsZero() {
					expires = time.Until(sb.ExpiresAt).Round(time.Second).String()
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", sb.Namespace, sb.State, dash(sb.LearnerID), dash(sb.ScenarioID), sb.Size, expires)
			}
			return w.Flush()
		},
	}

	var by time.Duration
	extend := &cobra.Command{
		Use:   "extend ID",
		Short: "Extend a sandbox's life",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := manager()
			if err != nil {
				return err
			}
			sb, err := m.Extend(cmd.Context(), args[0], by)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sandbox %s now expires %s\n", sb.ID, sb.ExpiresAt.Local().Format(time.RFC1123))
			return nil
		},
	}
	extend.Flags().DurationVar(&by, "by", 30*time.Minute, "how much longer")

	del := &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete sandboxes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := manager()
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := m.Delete(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "sandbox %s deleted\n", id)
			}
			return nil
		},
	}
	for _, c := range []*cobra.Command{create, list, extend, del} {
		bindEnv(c)
		cmd.AddCommand(c)
	}
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
