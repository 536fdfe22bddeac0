package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "KEIKO_"

// envName returns the environment variable for a flag: --data-dir is
// KEIKO_DATA_DIR.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv gives every flag of cmd an environment variable. It names the
// variable in the flag's help text now, and, just before cmd runs, sets each
// flag not given on the command line from its variable. Containers and
// systemd units configure Keiko through the environment; people at a
// terminal use flags; both read the same help.
//
// Call it after defining cmd's flags. An empty variable counts as unset, so
// "KEIKO_ADDR=" doesn't silently blank a default.
func bindEnv(cmd *cobra.Command) {
	// Persistent flags are not in Flags() until the command is attached and
	// parsed; the suffix check keeps a flag seen twice from being noted twice.
	note := func(f *pflag.Flag) {
		suffix := fmt.Sprintf(" (env %s)", envName(f.Name))
		if f.Name != "help" && !strings.HasSuffix(f.Usage, suffix) {
			f.Usage += suffix
		}
	}
	cmd.Flags().VisitAll(note)
	cmd.PersistentFlags().VisitAll(note)

	next := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		var errs []error
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || f.Changed {
				return
			}
			v, ok := os.LookupEnv(envName(f.Name))
			if !ok || v == "" {
				return
			}
			if err := cmd.Flags().Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("invalid %s=%q for --%s: %w", envName(f.Name), v, f.Name, err))
			}
		})
		if len(errs) > 0 {
			return errs[0]
		}
		if next != nil {
			return next(cmd, args)
		}
		return nil
	}
}
