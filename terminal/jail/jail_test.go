package jail_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/terminal/jail"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// env is a jail inside a fake data directory holding a secret, plus a
// learner kubeconfig for a real sandbox.
type env struct {
	j          *jail.Jail
	dataDir    string
	kubeconfig []byte
	namespace  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "admin.kubeconfig"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := jail.New(jail.Config{HomeRoot: filepath.Join(dataDir, "homes"), Kubectl: bin})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sandbox.New(clustertest.Config(t), sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := m.Provision(context.Background(), sandbox.Request{LearnerID: "jailed", ScenarioID: "jail-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Delete(context.Background(), sb.ID) })
	return &env{j: j, dataDir: dataDir, kubeconfig: sb.Kubeconfig, namespace: sb.Namespace}
}

func (e *env) start(t *testing.T, id string) *jail.Shell {
	t.Helper()
	sh, err := e.j.Start(id, e.kubeconfig, 120, 40)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close(); sh.Wait(); e.j.Remove(id) })
	return sh
}

var marker = regexp.MustCompile(`__DONE__(\d+)__`)

// run types cmd into the shell and returns what it printed and its exit
// status. The marker is split in the typed line so the echo of the command
// itself does not match.
func run(t *testing.T, sh *jail.Shell, cmd string) (string, int) {
	t.Helper()
	if _, err := fmt.Fprintf(sh, "%s; echo __DO\"\"NE__$?__\n", cmd); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, err := sh.Read(buf)
		out = append(out, buf[:n]...)
		if m := marker.FindSubmatch(out); m != nil {
			code, _ := strconv.Atoi(string(m[1]))
			text := string(out[:marker.FindIndex(out)[0]])
			// Drop the echoed command line.
			if i := strings.Index(text, "\n"); i >= 0 {
				text = text[i+1:]
			}
			return text, code
		}
		if err != nil {
			t.Fatalf("shell ended: %v; output so far:\n%s", err, out)
		}
	}
	t.Fatalf("no answer to %q; output so far:\n%s", cmd, out)
	return "", 0
}

func TestEchoHello(t *testing.T) {
	e := newEnv(t)
	sh := e.start(t, "hello")
	out, code := run(t, sh, "echo hello")
	if code != 0 || !strings.Contains(out, "hello") {
		t.Errorf("echo hello: %q (exit %d)", out, code)
	}
	out, code = run(t, sh, "whoami")
	if code != 0 || !strings.Contains(out, "learner") {
		t.Errorf("whoami: %q (exit %d)", out, code)
	}
}

func TestKubectlWorksOnTheLearnersNamespace(t *testing.T) {
	e := newEnv(t)
	sh := e.start(t, "kubectl")
	out, code := run(t, sh, "kubectl version --client -o json | grep gitVersion")
	if code != 0 || !strings.Contains(out, "v1.36.3") {
		t.Errorf("kubectl version: %q (exit %d)", out, code)
	}
	out, code = run(t, sh, "kubectl create configmap from-the-jail --from-literal=a=b && kubectl get configmap from-the-jail -o name")
	if code != 0 || !strings.Contains(out, "configmap/from-the-jail") {
		t.Errorf("kubectl in own namespace: %q (exit %d)", out, code)
	}
	out, code = run(t, sh, "kubectl get pods -n kube-system")
	if code == 0 || !strings.Contains(out, "Forbidden") {
		t.Errorf("kubectl in kube-system: %q (exit %d), want Forbidden", out, code)
	}
}

// TestJailEscapes runs what a curious learner would try; each must fail.
func TestJailEscapes(t *testing.T) {
	e := newEnv(t)
	a := e.start(t, "learner-a")
	b := e.start(t, "learner-b")
	run(t, b, "echo b-secret > ~/notes.txt")

	clusterDir := filepath.Dir(clustertest.Cluster(t).KubeconfigPath())
	tests := []struct {
		name string
		cmd  string
	}{
		{"read the server's data dir", "cat " + filepath.Join(e.dataDir, "admin.kubeconfig")},
		{"list the server's data dir", "ls " + e.dataDir},
		{"read the cluster's admin kubeconfig", "cat " + filepath.Join(clusterDir, "admin.kubeconfig")},
		{"read the cluster's CA key", "cat " + filepath.Join(clusterDir, "cluster", "pki", "ca.key")},
		{"reach the etcd socket", "ls " + filepath.Join(clusterDir, "cluster", "run", "etcd:2379")},
		{"reach etcd over TCP", "echo > /dev/tcp/127.0.0.1/2379"},
		{"see the test process", fmt.Sprintf("kill -0 %d", os.Getpid())},
		// The bracket keeps grep's own command line from matching.
		{"see a host process's command line", "grep -qa 'jail[.]test' /proc/[0-9]*/cmdline"},
		{"read another learner's home by host path", "cat " + filepath.Join(e.j.Home("learner-b"), "notes.txt")},
		{"find another learner's notes", "grep -r b-secret / --include=notes.txt -q"},
		{"read the host's shadow file", "cat /etc/shadow"},
		{"become root", "sudo id || su -c id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := run(t, a, tt.cmd+" 2>&1")
			if code == 0 {
				t.Errorf("%q succeeded: %q", tt.cmd, out)
			}
		})
	}

	t.Run("only the jail's processes are visible", func(t *testing.T) {
		out, _ := run(t, a, "ls -d /proc/[0-9]* | wc -l")
		count := regexp.MustCompile(`(\d+)\r?\n`).FindStringSubmatch(out)
		if count == nil {
			t.Fatalf("no count in %q", out)
		}
		if n, _ := strconv.Atoi(count[1]); n == 0 || n > 6 {
			t.Errorf("%q processes visible, want the jail's few", out)
		}
	})
	t.Run("the environment holds nothing of the server's", func(t *testing.T) {
		t.Setenv("KEIKO_SECRET_FOR_TEST", "leak")
		c := e.start(t, "env-check")
		out, _ := run(t, c, "env")
		if strings.Contains(out, "KEIKO_SECRET_FOR_TEST") || strings.Contains(out, e.dataDir) {
			t.Errorf("server environment leaked into the shell:\n%s", out)
		}
		if !strings.Contains(out, "KUBECONFIG=/home/learner/.kube/config") {
			t.Errorf("KUBECONFIG not set to the learner's:\n%s", out)
		}
	})
	if os.Geteuid() == 0 {
		t.Run("unprivileged host uid and limits", func(t *testing.T) {
			if a.UID() == 0 || a.UID() == b.UID() {
				t.Errorf("host uids %d and %d: want distinct and not root", a.UID(), b.UID())
			}
			out, _ := run(t, a, "ulimit -u; ulimit -t")
			if !strings.Contains(out, strconv.Itoa(jail.DefaultLimits.Procs)) || !strings.Contains(out, strconv.Itoa(jail.DefaultLimits.CPUSeconds)) {
				t.Errorf("limits: %q", out)
			}
		})
	}
}

func TestCloseKillsTheWholeTree(t *testing.T) {
	e := newEnv(t)
	sh := e.start(t, "tree")
	run(t, sh, "sleep 1000 & sleep 1001 & (sleep 1002 &) ; true")
	before := sleepers(t)
	if before == 0 {
		t.Fatal("no background sleeps found on the host")
	}
	sh.Close()
	sh.Wait()
	clustertest.Eventually(t, "jail processes gone", func(context.Context) (bool, error) {
		return sleepers(t) == 0, nil
	})
}

// sleepers counts host processes running the test's sleeps.
func sleepers(t *testing.T) int {
	return len(clustertest.Processes(t, regexp.MustCompile(`^sleep\x00100[012]\x00$`).Match))
}

// TestUnjailedShell covers --unsafe-local-terminal: no jail, but still the
// learner's own home, KUBECONFIG and kubectl.
func TestUnjailedShell(t *testing.T) {
	e := newEnv(t)
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	homes := filepath.Join(e.dataDir, "unjailed")
	sh, err := jail.StartUnjailed(homes, bin, "open", e.kubeconfig, 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close(); sh.Wait() })
	out, code := run(t, sh, "echo $HOME $KUBECONFIG; kubectl config view --minify -o jsonpath='{..namespace}'")
	home := filepath.Join(homes, "open")
	if code != 0 || !strings.Contains(out, home+" "+filepath.Join(home, ".kube", "config")) || !strings.Contains(out, e.namespace) {
		t.Errorf("unjailed shell: %q (exit %d)", out, code)
	}
	if _, err := jail.StartUnjailed(homes, bin, "../escape", e.kubeconfig, 80, 24); err == nil {
		t.Error("a terminal id with a path in it was accepted")
	}
}

// TestRunScript runs non-interactive scripts, as setup and script checks
// do: in the same jail and home as the learner's shell.
func TestRunScript(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, script string
		code         int
		out          string
	}{
		{"success, with the learner's kubectl", "kubectl config view --minify -o jsonpath='{..namespace}'", 0, e.namespace},
		{"failure with a reason", "echo 'FAIL: no file'; exit 3", 3, "FAIL: no file"},
		{"stderr is kept", "echo oops >&2; false", 1, "oops"},
		{"learner's uid, not root", "id -u | grep -vx 0", 0, ""},
		{"the data dir is out of reach", "cat " + filepath.Join(e.dataDir, "admin.kubeconfig"), 1, "No such file"},
		{"files persist in the home", "echo hi > ~/note && cat ~/note", 0, "hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, err := e.j.Run(ctx, "runner", e.kubeconfig, tc.script)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(string(out), tc.out) {
				t.Errorf("exit %d, output %q; want exit %d with %q", code, out, tc.code, tc.out)
			}
		})
	}
	sh := e.start(t, "runner")
	defer sh.Close()
	if got, _ := run(t, sh, "cat ~/note"); !strings.Contains(got, "hi") {
		t.Errorf("the learner's shell does not see the script's file: %q", got)
	}

	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, _, err := e.j.Run(ctx, "runner", e.kubeconfig, "sleep 1000 & sleep 1001"); err == nil {
		t.Error("a script outliving its context reported no error")
	}
	clustertest.Eventually(t, "timed-out script's processes gone", func(context.Context) (bool, error) {
		return sleepers(t) == 0, nil
	})
}
