// Package localcluster runs the embedded keiko-cluster as a supervised
// subprocess: it starts it, restarts it when it dies, and stops it cleanly.
package localcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// BinaryName is the embedded cluster's executable.
const BinaryName = "keiko-cluster"

// Options configure a Cluster.
type Options struct {
	Binary  string    // path of keiko-cluster
	DataDir string    // keiko's data dir; the admin kubeconfig is DataDir/admin.kubeconfig
	Port    int       // apiserver port on 127.0.0.1
	Output  io.Writer // receives the cluster's progress lines; nil discards them
	Logger  *slog.Logger
}

// Cluster is a supervised keiko-cluster process.
type Cluster struct {
	opts Options

	mu  sync.Mutex
	pid int
	rc  *rest.Config
}

// maxEarlyExits bounds restarts of a cluster that never became ready: a bad
// flag or a data directory locked by another instance would otherwise
// loop forever while the user waits.
const maxEarlyExits = 3

// stopGrace is how long a SIGTERMed cluster gets before SIGKILL; the
// apiserver drains requests and etcd syncs within a few seconds.
const stopGrace = 20 * time.Second

// FindBinary looks for keiko-cluster next to the running executable, then
// on PATH.
func FindBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), BinaryName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(BinaryName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found next to this binary or on PATH: run `make build` (it puts both in bin/), or pass --kubeconfig to use an existing cluster", BinaryName)
}

// New returns a Cluster; Run starts it.
func New(opts Options) *Cluster {
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cluster{opts: opts}
}

// KubeconfigPath is the admin kubeconfig the cluster writes.
func (c *Cluster) KubeconfigPath() string {
	return filepath.Join(c.opts.DataDir, "admin.kubeconfig")
}

// Pid is the running cluster's process id, or 0 between runs.
func (c *Cluster) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

// RESTConfig is an admin client configuration for the cluster, with the
// rate limits Keiko's own clients need (client-go's default of 5 QPS makes
// a single sandbox take seconds).
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rc == nil {
		rc, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
		if err != nil {
			return nil, fmt.Errorf("load admin kubeconfig: %w", err)
		}
		// The file on disk may be the previous run's, written for another
		// port; the credentials in it outlive runs, the address does not.
		rc.Host = "https://127.0.0.1:" + strconv.Itoa(c.opts.Port)
		rc.QPS, rc.Burst = 1000, 2000
		c.rc = rc
	}
	return rest.CopyConfig(c.rc), nil
}

// Ready reports whether the cluster can run learners' pods now: the
// apiserver answers /readyz, and a node is Ready with its kubelet endpoint
// listening. After a restart the node is still Ready from before, with the
// old process's endpoint, until the new one has taken over.
func (c *Cluster) Ready(ctx context.Context) error {
	rc, err := c.RESTConfig()
	if err != nil {
		return err
	}
	rc.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("cluster client: %w", err)
	}
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("cluster not ready: %w", err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cluster not ready: list nodes: %w", err)
	}
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && kubeletListens(ctx, n) {
				return nil
			}
		}
	}
	return errors.New("cluster not ready: no node is Ready yet")
}

// kubeletListens reports whether n's kubelet endpoint accepts connections.
func kubeletListens(ctx context.Context, n corev1.Node) bool {
	var addr string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			addr = a.Address
		}
	}
	port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
	if addr == "" || port == 0 {
		return false
	}
	conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(int(port))))
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// WaitReady blocks until the cluster is ready or ctx ends.
func (c *Cluster) WaitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for cluster: %w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Start runs the cluster in the background until ctx ends and waits, for
// at most timeout, until it is ready. The returned channel yields Run's
// result once ctx has ended and the cluster has stopped. A cluster that
// gives up before it is ready is reported at once, not at the timeout.
func (c *Cluster) Start(ctx context.Context, timeout time.Duration) (<-chan error, error) {
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- c.Run(runCtx) }()

	waitCtx, cancelWait := context.WithTimeout(ctx, timeout)
	defer cancelWait()
	ready := make(chan error, 1)
	go func() { ready <- c.WaitReady(waitCtx) }()
	select {
	case err := <-ready:
		if err != nil {
			cancel()
			<-stopped
			return nil, err
		}
	case err := <-stopped:
		cancel()
		return nil, fmt.Errorf("cluster stopped before it was ready: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		cancel()
		done <- <-stopped
	}()
	return done, nil
}

// FreePort returns a loopback port that was free a moment ago, for a
// cluster that must not collide with another.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Run starts keiko-cluster and keeps it running until ctx ends, then stops
// it with SIGTERM and returns. It returns early with an error if the cluster
// keeps exiting before it ever becomes ready.
func (c *Cluster) Run(ctx context.Context) error {
	early := 0
	backoff := time.Second
	for {
		started := time.Now()
		becameReady, err := c.runOnce(ctx)
		if ctx.Err() != nil {
			return err
		}
		if becameReady {
			early = 0
		} else {
			early++
		}
		if early >= maxEarlyExits {
			return fmt.Errorf("%s exited %d times before becoming ready (last: %v); its log is in %s",
				BinaryName, early, err, filepath.Join(c.opts.DataDir, "cluster", "cluster.log"))
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		c.opts.Logger.Warn("embedded cluster exited; restarting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// runOnce runs one process to completion. It reports whether the process
// became ready, so Run can tell a crash from a failure to start.
func (c *Cluster) runOnce(ctx context.Context) (becameReady bool, err error) {
	cmd := exec.Command(c.opts.Binary, "--data-dir", c.opts.DataDir, "--port", strconv.Itoa(c.opts.Port))
	// Its own process group, so a Ctrl-C in the terminal reaches keiko
	// alone and keiko decides the shutdown order; Pdeathsig so a SIGKILLed
	// keiko never leaves an orphaned cluster holding the port.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, fmt.Errorf("cluster output: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start %s: %w", c.opts.Binary, err)
	}
	c.mu.Lock()
	c.pid = cmd.Process.Pid
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.pid = 0
		c.mu.Unlock()
	}()

	copied := make(chan struct{})
	go func() {
		defer close(copied)
		s := bufio.NewScanner(out)
		for s.Scan() {
			fmt.Fprintln(c.opts.Output, s.Text())
		}
	}()

	exited := make(chan error, 1)
	go func() {
		<-copied // Wait closes the pipe; drain it first.
		exited <- cmd.Wait()
	}()

	readyCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	ready := make(chan struct{})
	go func() {
		if c.WaitReady(readyCtx) == nil {
			close(ready)
		}
	}()

	for {
		select {
		case <-ready:
			becameReady = true
			ready = nil
		case err := <-exited:
			if err == nil {
				err = errors.New("exited unexpectedly")
			}
			return becameReady, err
		case <-ctx.Done():
			return becameReady, stop(cmd, exited)
		}
	}
}

// stop sends SIGTERM and waits; a cluster that ignores it is killed with its
// whole process group.
func stop(cmd *exec.Cmd, exited <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("%s stopped uncleanly: %w", BinaryName, err)
		}
		return nil
	case <-time.After(stopGrace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return fmt.Errorf("%s did not stop within %s and was killed", BinaryName, stopGrace)
	}
}
