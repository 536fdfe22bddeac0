package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testCmd is a command with one flag of each common type, bound to the
// environment, that records the values it ran with.
type testCmd struct {
	cmd   *cobra.Command
	addr  string
	port  int
	debug bool
}

func newTestCmd() *testCmd {
	tc := &testCmd{}
	tc.cmd = &cobra.Command{
		Use:           "serve",
		RunE:          func(*cobra.Command, []string) error { return nil },
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	tc.cmd.Flags().StringVar(&tc.addr, "listen-addr", "127.0.0.1:8080", "address to listen on")
	tc.cmd.Flags().IntVar(&tc.port, "port", 6443, "port")
	tc.cmd.Flags().BoolVar(&tc.debug, "debug", false, "debug")
	bindEnv(tc.cmd)
	return tc
}

func TestBindEnv(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantAddr  string
		wantPort  int
		wantDebug bool
		wantErr   string
	}{
		{name: "defaults", wantAddr: "127.0.0.1:8080", wantPort: 6443},
		{
			name:     "env applies",
			env:      map[string]string{"KEIKO_LISTEN_ADDR": ":9090", "KEIKO_PORT": "7443", "KEIKO_DEBUG": "true"},
			wantAddr: ":9090", wantPort: 7443, wantDebug: true,
		},
		{
			name:     "flag wins over env",
			env:      map[string]string{"KEIKO_LISTEN_ADDR": ":9090", "KEIKO_PORT": "7443"},
			args:     []string{"--listen-addr", ":1234"},
			wantAddr: ":1234", wantPort: 7443,
		},
		{
			name:     "empty env is unset",
			env:      map[string]string{"KEIKO_LISTEN_ADDR": ""},
			wantAddr: "127.0.0.1:8080", wantPort: 6443,
		},
		{
			name:    "invalid env names the variable",
			env:     map[string]string{"KEIKO_PORT": "many"},
			wantErr: `invalid KEIKO_PORT="many" for --port`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tc := newTestCmd()
			tc.cmd.SetArgs(tt.args)
			err := tc.cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Execute() = %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute() = %v", err)
			}
			if tc.addr != tt.wantAddr || tc.port != tt.wantPort || tc.debug != tt.wantDebug {
				t.Errorf("got addr=%q port=%d debug=%v, want addr=%q port=%d debug=%v",
					tc.addr, tc.port, tc.debug, tt.wantAddr, tt.wantPort, tt.wantDebug)
			}
		})
	}
}

func TestBindEnvHelp(t *testing.T) {
	tc := newTestCmd()
	var out bytes.Buffer
	tc.cmd.SetOut(&out)
	tc.cmd.SetArgs([]string{"--help"})
	if err := tc.cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`address to listen on (env KEIKO_LISTEN_ADDR) (default "127.0.0.1:8080")`,
		"(env KEIKO_PORT)",
		"(env KEIKO_DEBUG)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not contain %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "KEIKO_HELP") {
		t.Errorf("help offers KEIKO_HELP:\n%s", out.String())
	}
}
