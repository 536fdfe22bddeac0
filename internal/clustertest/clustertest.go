// Package clustertest starts one embedded Kubernetes cluster per test binary
// and hands tests admin clients for it.
package clustertest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keiko-lab/keiko/localcluster"
)

// startTimeout bounds a cold start (a fresh data directory creates keys
// and etcd files); a warm start takes about 3 s.
const startTimeout = 2 * time.Minute

var shared *localcluster.Cluster

// Main runs the package's tests against one embedded cluster, started
// before the first test and stopped after the last. Call it from TestMain.
func Main(m *testing.M) {
	flag.Parse()
	code, err := run(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "keiko-clustertest-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)

	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	c, stopped, err := Start(ctx, dir, &out)
	if err != nil {
		cancel()
		return 0, fmt.Errorf("%w\ncluster output:\n%s\ncluster log:\n%s", err, out.String(), LogTail(dir))
	}
	shared = c
	code := m.Run()
	cancel()
	if err := <-stopped; err != nil {
		return 0, fmt.Errorf("stopping the cluster: %w", err)
	}
	return code, nil
}

// Start starts a cluster of its own on dataDir and a free port and waits
// until it is ready. The returned channel yields Run's result once ctx is
// cancelled and the cluster has stopped.
func Start(ctx context.Context, dataDir string, out *bytes.Buffer) (*localcluster.Cluster, <-chan error, error) {
	bin, err := Binary()
	if err != nil {
		return nil, nil, err
	}
	port, err := localcluster.FreePort()
	if err != nil {
		return nil, nil, err
	}
	c := localcluster.New(localcluster.Options{Binary: bin, DataDir: dataDir, Port: port, Output: &syncWriter{w: out}})
	stopped, err := c.Start(ctx, startTimeout)
	if err != nil {
		return nil, nil, err
	}
	return c, stopped, nil
}

// LogTail is the end of a cluster's component log, for failure messages:
// the progress output says what failed, the log says why.
func LogTail(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "cluster", "cluster.log"))
	if err != nil {
		return fmt.Sprintf("(no cluster log: %v)", err)
	}
	const n = 4000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// eventually bounds waits for the cluster to converge. It fails a test
// that hangs; it does not measure speed (the benchmarks do).
const eventually = 60 * time.Second

// Eventually polls cond every 50 ms until it holds, and fails the test if
// it does not within a minute or returns an error.
func Eventually(t testing.TB, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Cluster is the shared cluster started by Main.
func Cluster(t testing.TB) *localcluster.Cluster {
	t.Helper()
	if shared == nil {
		t.Fatal("clustertest: no cluster; call clustertest.Main(m) from TestMain")
	}
	return shared
}

// Config is an admin rest.Config for the shared cluster.
func Config(t testing.TB) *rest.Config {
	t.Helper()
	rc, err := Cluster(t).RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// Client is an admin clientset for the shared cluster.
func Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Binary finds keiko-cluster: $KEIKO_CLUSTER_BIN, else bin/ at the
// repository root, which `make build` fills.
func Binary() (string, error) {
	if p := os.Getenv("KEIKO_CLUSTER_BIN"); p != "" {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w; set KEIKO_CLUSTER_BIN", err)
	}
	p := filepath.Join(root, "bin", localcluster.BinaryName)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not built: run `make build` (or `make test`, which builds it) or set KEIKO_CLUSTER_BIN", p)
	}
	return p, nil
}

// RepoRoot is Keiko's repository root above the working directory: the
// first directory up with a go.mod and deploy/cluster, so that
// deploy/cluster's own go.mod is not taken for it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "deploy", "cluster")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root above the working directory")
		}
		dir = parent
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Processes lists the live processes whose command line (arguments
// separated by NUL bytes, as in /proc/<pid>/cmdline) matches: for tests
// that must see what a cluster or a jail left behind.
func Processes(t testing.TB, match func(cmdline []byte) bool) []int {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, c := range cmdlines {
		b, err := os.ReadFile(c)
		if err != nil {
			continue // exited since the glob
		}
		if match(b) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(c)))
			pids = append(pids, pid)
		}
	}
	return pids
}

// ReadUntil reads r into out until out[from:] holds want, or fails after
// 30 s: a shell's output, say, which arrives in pieces.
func ReadUntil(t testing.TB, r io.Reader, out *bytes.Buffer, from int, want string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for !strings.Contains(out.String()[from:], want) {
			n, err := r.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting for %q: %v; output so far: %q", want, err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no %q after 30s; output so far: %q", want, out.String())
	}
}
