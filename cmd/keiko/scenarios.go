package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/localcluster"
	"github.com/keiko-lab/keiko/player"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/sandbox/check"
	"github.com/keiko-lab/keiko/scenarios"
	"github.com/keiko-lab/keiko/server"
	"github.com/keiko-lab/keiko/terminal/jail"
)

// loadTrees loads the scenarios in dirs, each a tree of scenarios or one
// scenario's directory; with no dirs, the built-in ones. Problems are
// named relative to the working directory.
func loadTrees(dirs []string) []*scenarios.Entry {
	if len(dirs) == 0 {
		return scenarios.LoadAll(scenarios.Builtin()).Entries
	}
	var entries []*scenarios.Entry
	for _, d := range dirs {
		for _, e := range scenarios.LoadAll(os.DirFS(d)).Entries {
			e.Dir = filepath.Join(d, e.Dir)
			for i := range e.Problems {
				e.Problems[i].File = filepath.Join(d, e.Problems[i].File)
			}
			entries = append(entries, e)
		}
		if _, err := os.Stat(d); err != nil {
			entries = append(entries, &scenarios.Entry{Dir: d, ID: filepath.Base(d), Problems: []scenarios.Problem{{File: d, Message: err.Error()}}})
		}
	}
	return entries
}

func newValidateCmd() *cobra.Command {
	var cf clusterFlags
	cmd := &cobra.Command{
		Use:   "validate [DIR...]",
		Short: "Check scenarios for errors, without running them",
		Long: `Loads the scenarios in each DIR (a directory of scenarios, or one
scenario's directory; the built-in scenarios when none is given) and
reports every problem with its file and line: the schema of
scenario.yaml, missing files, CEL expressions that do not compile, broken
links and images, missing translations, and Killercoda features an import
cannot carry over (as warnings).

It also checks each scenario's requires against a cluster: the one in
--kubeconfig, or the embedded cluster of a running "keiko serve" found in
--data-dir. Without one it says so and skips that check.

Exits 1 if any scenario has an error; warnings alone do not fail.`,
		Example: `  keiko validate                       # the built-in scenarios
  keiko validate ./my-scenarios        # a directory of scenarios
  keiko validate --kubeconfig ~/.kube/config ./my-scenarios`,
		RunE: func(cmd *cobra.Command, dirs []string) error {
			out := cmd.OutOrStdout()
			entries := loadTrees(dirs)
			missing := requiresChecker(cf, out)
			broken := 0
			for _, e := range entries {
				if e.Scenario != nil {
					if kinds, err := missing(e.Scenario.Requires); err != nil {
						e.Problems = append(e.Problems, scenarios.Problem{File: e.Dir, Message: "requires not checked: " + err.Error(), Warning: true})
					} else if len(kinds) > 0 {
						e.Problems = append(e.Problems, scenarios.Problem{File: filepath.Join(e.Dir, scenarios.FileName),
							Message: "the cluster lacks required kinds " + strings.Join(kinds, ", ") + "; install their CRDs or pick another cluster"})
					}
				}
				report(out, e)
				if e.Broken() {
					broken++
				}
			}
			fmt.Fprintf(out, "\n%d scenarios, %d with errors\n", len(entries), broken)
			if broken > 0 {
				return errSilent
			}
			return nil
		},
	}
	cf.register(cmd)
	bindEnv(cmd)
	return cmd
}

// report prints one entry's verdict and problems.
func report(w io.Writer, e *scenarios.Entry) {
	switch {
	case e.Broken():
		fmt.Fprintf(w, "FAIL %s (%s)\n", e.ID, e.Dir)
	default:
		langs := slices.Sorted(maps.Keys(e.Scenario.Title))
		fmt.Fprintf(w, "ok   %s: %d steps, %s\n", e.ID, len(e.Scenario.Steps), strings.Join(langs, " "))
	}
	for _, p := range e.Problems {
		fmt.Fprintf(w, "     %s\n", p)
	}
}

// requiresChecker returns a function listing the kinds a cluster lacks, or
// one that says why it cannot.
func requiresChecker(cf clusterFlags, out io.Writer) func([]string) ([]string, error) {
	rc, err := cf.restConfig()
	if err == nil {
		rc.Timeout = 5 * time.Second
		// Asked first, as discovery's cache logs every failure it meets.
		var cs *kubernetes.Clientset
		if cs, err = kubernetes.NewForConfig(rc); err == nil {
			if _, err = cs.Discovery().ServerVersion(); err == nil {
				var m *sandbox.Manager
				if m, err = sandbox.New(rc, sandbox.Config{}); err == nil {
					return m.Missing
				}
			}
		}
	}
	fmt.Fprintf(out, "note: requires are not checked: no cluster answers (%v)\n\n", oneLine(err))
	return func([]string) ([]string, error) { return nil, nil }
}

func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func newScenarioTestCmd() *cobra.Command {
	var kubeconfig string
	opts := player.TestOptions{StepTimeout: time.Minute}
	cmd := &cobra.Command{
		Use:   "test [SCENARIO...]",
		Short: "Play scenarios end to end on a cluster, as an automated learner",
		Long: `For each scenario (an id of a built-in scenario, or a scenario's
directory; all built-in scenarios when none is given), provisions a fresh
sandbox and runs the setup; then, for every step in order, requires that
its checks fail, runs its solve, and requires that its checks pass within
--step-timeout. The sandbox is deleted afterwards.

It runs on the cluster in --kubeconfig, or else starts an embedded cluster
of its own in a temporary directory. Scripts run as a learner's would, in
the bubblewrap jail.

Exits 1 if any scenario fails.`,
		Example: `  keiko test                              # every built-in scenario
  keiko test kubernetes-basics ./my-scenario
  keiko test --kubeconfig ~/.kube/config kubernetes-basics`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			opts.Progress = out
			entries, err := selectScenarios(args)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rc, stop, err := ownCluster(ctx, kubeconfig, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer stop()
			m, err := sandbox.New(rc, sandbox.Config{})
			if err != nil {
				return err
			}
			if err := m.EnsureGuard(ctx); err != nil {
				return err
			}
			homes, err := os.MkdirTemp("", "keiko-test-homes-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(homes)
			kubectl, err := localcluster.FindBinary()
			if err != nil {
				return err
			}
			j, err := jail.New(jail.Config{HomeRoot: homes, Kubectl: kubectl})
			if err != nil {
				return fmt.Errorf("scripts run in the learner's jail: %w", err)
			}
			dyn, err := dynamic.NewForConfig(rc)
			if err != nil {
				return err
			}
			p := &player.Player{Sandboxes: m, Checks: check.New(dyn, j), Scripts: j}
			failed := 0
			for _, e := range entries {
				fmt.Fprintf(out, "=== %s\n", e.ID)
				if err := testOne(ctx, p, m, e, opts); err != nil {
					failed++
					fmt.Fprintf(out, "FAIL %s: %v\n", e.ID, err)
					continue
				}
				fmt.Fprintf(out, "ok   %s\n", e.ID)
			}
			fmt.Fprintf(out, "\n%d scenarios, %d failed\n", len(entries), failed)
			if failed > 0 {
				return errSilent
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig of the cluster to test on (default: start an embedded cluster)")
	cmd.Flags().DurationVar(&opts.StepTimeout, "step-timeout", opts.StepTimeout, "how long a step's checks may take to pass after its solve")
	bindEnv(cmd)
	return cmd
}

func testOne(ctx context.Context, p *player.Player, m *sandbox.Manager, e *scenarios.Entry, opts player.TestOptions) error {
	if e.Scenario == nil {
		var msgs []string
		for _, pr := range e.Problems {
			msgs = append(msgs, pr.String())
		}
		return fmt.Errorf("the scenario does not load:\n  %s", strings.Join(msgs, "\n  "))
	}
	missing, err := m.Missing(e.Scenario.Requires)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("the cluster lacks required kinds %s", strings.Join(missing, ", "))
	}
	return p.Test(ctx, e.Scenario, opts)
}

// selectScenarios resolves test's arguments: built-in ids or directories.
func selectScenarios(args []string) ([]*scenarios.Entry, error) {
	builtin := scenarios.LoadAll(scenarios.Builtin())
	if len(args) == 0 {
		return builtin.Entries, nil
	}
	var out []*scenarios.Entry
	for _, a := range args {
		if e := builtin.Get(a); e != nil {
			out = append(out, e)
			continue
		}
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%q is neither a built-in scenario nor a directory", a)
		}
		out = append(out, loadTrees([]string{a})...)
	}
	return out, nil
}

func newImportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Convert a Killercoda or Katacoda scenario into Keiko's format",
		Long: `Reads the Killercoda (or legacy Katacoda) scenario in DIR, with its
index.json, and writes a Keiko scenario to --out: scenario.yaml plus the
markdown and assets it uses. verify scripts become script checks,
background and foreground scripts become setup, and the markdown keeps its
{{exec}} and {{copy}} marks, which Keiko understands.

What cannot be carried over, such as a second node, is listed, never
dropped silently. Keiko also loads a Killercoda directory as it is, without
importing it; import when you want to edit the result.`,
		Example: `  keiko import ./killercoda-scenarios/first-deployment --out ./scenarios/first-deployment`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			src := args[0]
			im, err := scenarios.Import(os.DirFS(src), filepath.Base(filepath.Clean(src)))
			if err != nil {
				return err
			}
			if out == "" {
				out = im.File.ID
			}
			if _, err := os.Stat(filepath.Join(out, scenarios.FileName)); err == nil {
				return fmt.Errorf("%s already holds a scenario; choose another --out", out)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := im.Write(out); err != nil {
				return err
			}
			fmt.Fprintf(w, "imported %s into %s\n", src, out)
			for _, n := range im.Notes {
				fmt.Fprintf(w, "  note: %s\n", n)
			}
			entries := loadTrees([]string{out})
			for _, e := range entries {
				report(w, e)
				if e.Broken() {
					return errSilent
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the scenario to (default ./<id>)")
	bindEnv(cmd)
	return cmd
}

// catalog adapts loaded scenarios to the server's Catalog. The server's
// view is made once, at load: pages and the API read it on every request.
type catalog struct {
	*scenarios.Catalog
	list []server.CatalogEntry
}

// loadCatalog loads the built-in scenarios and those in dirs, and reports
// the broken ones; the server lists them with their problems.
func loadCatalog(dirs []string, logger *slog.Logger, stderr io.Writer) catalog {
	entries := loadTrees(nil)
	if len(dirs) > 0 {
		entries = append(entries, loadTrees(dirs)...)
	}
	c := catalog{Catalog: &scenarios.Catalog{Entries: entries}}
	broken := 0
	for _, e := range entries {
		ce := server.CatalogEntry{ID: e.ID, Scenario: e.Scenario}
		for _, p := range e.Problems {
			ce.Problems = append(ce.Problems, p.String())
		}
		c.list = append(c.list, ce)
		if e.Broken() {
			broken++
			logger.Error("scenario does not load", "scenario", e.ID, "dir", e.Dir, "problems", len(e.Problems))
			for _, p := range ce.Problems {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
		}
	}
	fmt.Fprintf(stderr, "scenarios: %d loaded, %d with errors\n", len(entries)-broken, broken)
	return c
}

func (c catalog) Scenarios() []server.CatalogEntry { return c.list }

// scenario returns the loaded scenario with the given id, or nil.
func (c catalog) scenario(id string) *keiko.Scenario {
	if e := c.Get(id); e != nil {
		return e.Scenario
	}
	return nil
}

func (c catalog) Asset(id, name string) (fs.File, error) {
	if e := c.Get(id); e != nil && e.Scenario != nil {
		return e.Asset(name)
	}
	return nil, fs.ErrNotExist
}
