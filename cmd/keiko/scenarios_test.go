package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs keiko with args and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValidate(t *testing.T) {
	noCluster := "--kubeconfig=" + filepath.Join(t.TempDir(), "none")
	out, err := run(t, "validate", noCluster)
	if err != nil || !strings.Contains(out, "ok   kubernetes-basics: 7 steps, en ja") || !strings.Contains(out, "requires are not checked") {
		t.Errorf("validate of the built-ins: %v\n%s", err, out)
	}

	dir := t.TempDir()
	write(t, dir, map[string]string{
		"good/scenario.yaml": "id: good\ntitle: Good\ntrack: basics\nlevel: beginner\nduration: 5m\nsteps:\n  - title: One\n    text: one.md\n",
		"good/one.md":        "# One\n",
		"bad/scenario.yaml":  "id: bad\ntitle: Bad\ntrack: basics\nlevel: expert\nduration: 5m\nsteps:\n  - title: One\n    text: missing.md\n",
	})
	out, err = run(t, "validate", noCluster, dir)
	if !errors.Is(err, errSilent) {
		t.Errorf("validate of a broken scenario: err = %v, want a failure", err)
	}
	for _, want := range []string{
		"ok   good: 1 steps, en",
		"FAIL bad (" + filepath.Join(dir, "bad") + ")",
		filepath.Join(dir, "bad", "scenario.yaml") + `:4: level "expert" must be one of beginner, intermediate, advanced`,
		filepath.Join(dir, "bad", "scenario.yaml") + ":8: missing.md: file not found",
		"2 scenarios, 1 with errors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}

	if _, err := run(t, "validate", noCluster, filepath.Join(dir, "nowhere")); err == nil {
		t.Error("validate of a directory that does not exist passed")
	}
}

func TestImport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "imported")
	got, err := run(t, "import", "../../scenarios/testdata/killercoda-basic", "--out", out)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, got)
	}
	for _, want := range []string{"imported ../../scenarios/testdata/killercoda-basic into " + out, "note: ", "ok   killercoda-basic: 3 steps, en"} {
		if !strings.Contains(got, want) {
			t.Errorf("import output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "scenario.yaml")); err != nil {
		t.Error(err)
	}
	if got, err := run(t, "import", "../../scenarios/testdata/killercoda-basic", "--out", out); err == nil || !strings.Contains(err.Error(), "already holds a scenario") {
		t.Errorf("import over an existing scenario: %v\n%s", err, got)
	}
}
