package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelpNamesEveryEnvVar(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"serve", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`address to listen on, host:port (env KEIKO_ADDR) (default "127.0.0.1:8080")`,
		`(env KEIKO_DATA_DIR) (default "./.keiko")`,
		"(env KEIKO_KUBECONFIG)",
		"(env KEIKO_CLUSTER_PORT) (default 6443)",
		`(env KEIKO_LOG_FORMAT) (default "text")`,
		`(env KEIKO_LOG_LEVEL) (default "info")`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVersion(t *testing.T) {
	tests := []struct {
		args []string
	}{
		{[]string{"version"}},
		{[]string{"--version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRootCmd()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetArgs(tt.args)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			if got, want := out.String(), "keiko "+version+"\n"; got != want {
				t.Errorf("output = %q, want %q", got, want)
			}
		})
	}
}
