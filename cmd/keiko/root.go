package main

import (
	"github.com/spf13/cobra"
)

// version is Keiko's release version, stamped at build time with
// -ldflags "-X main.version=v0.1.0".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "keiko",
		Short: "Hands-on Kubernetes labs in the browser",
		Long: `Keiko (稽古, "practice") runs hands-on Kubernetes labs in the browser.

Learners pick a scenario, get their own isolated namespace on a real
Kubernetes API server, and follow guided steps in a web terminal while
Keiko checks their work as they go.

By default "keiko serve" starts an embedded, single-process Kubernetes
control plane (keiko-cluster) next to it, so a laptop is all you need:
no Docker, no VM, no internet. Use --kubeconfig to teach on an existing
cluster instead, or run Keiko in a pod and it uses its service account.

Every flag can also be set with an environment variable named KEIKO_
followed by the flag name in upper snake case: --data-dir is
KEIKO_DATA_DIR. A flag given on the command line wins over the variable.`,
		Version: version,
		// Errors are printed once, by main; usage is printed only for
		// mistakes on the command line, not for runtime failures.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("keiko {{.Version}}\n")
	root.AddCommand(newServeCmd(), newValidateCmd(), newScenarioTestCmd(), newImportCmd(), newSandboxCmd(), newBenchCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Keiko's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Printf("keiko %s\n", version)
		},
	}
}
