// Package controlplane runs a real Kubernetes control plane in one process:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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

	"github.com/keiko-lab/keiko/deploy/cluster/internal/pki"
)

// Config says where the control plane keeps its state and how it reports.
type Config struct {
	// DataDir holds everything: admin.kubeconfig at its top, the rest under
	// cluster/. It is made 0700 because it holds the CA and signing keys.
	DataDir string
	// Port is the apiserver's port on 127.0.0.1.
	Port int
	// Progress receives one human-readable line per startup phase.
	Progress io.Writer
	// LogPath receives etcd's log; the caller points klog there too.
	LogPath string
	// Logs receives kwok's log, normally the file at LogPath.
	Logs io.Writer
	// Tracks are the built-in tracks' APIs and stages.
	Tracks Tracks
}

type paths struct {
	root, cluster, pki, etcd, run string
}

func newPaths(dataDir string) paths {
	c := filepath.Join(dataDir, "cluster")
	return paths{
		root:    dataDir,
		cluster: c,
		pki:     filepath.Join(c, "pki"),
		etcd:    filepath.Join(c, "etcd"),
		run:     filepath.Join(c, "run"),
	}
}

func (p paths) kubeconfig(client string) string {
	return filepath.Join(p.pki, client+".kubeconfig")
}

// AdminKubeconfig is where the admin kubeconfig is written.
func AdminKubeconfig(dataDir string) string {
	return filepath.Join(dataDir, "admin.kubeconfig")
}

// Run starts the control plane, reports readiness on cfg.Progress, and
// blocks until ctx is cancelled; then it stops every component and returns.
func Run(ctx context.Context, cfg Config) error {
	start := time.Now()
	say := func(format string, a ...any) { fmt.Fprintf(cfg.Progress, "keiko-cluster: "+format+"\n", a...) }

	// A broken stage file is a build defect; find it before starting anything.
	stages, err := trackStages(cfg.Tracks.Stages)
	if err != nil {
		return err
	}
	p := newPaths(cfg.DataDir)
	for _, d := range []string{p.root, p.cluster, p.pki, p.etcd, p.run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("restrict %s: %w", d, err)
		}
	}
	unlock, err := lock(filepath.Join(p.cluster, "lock"))
	if err != nil {
		return err
	}
	defer unlock()

	created, err := pki.Ensure(p.pki, time.Now())
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	if created {
		say("created certificates and keys in %s", p.pki)
	}
	server := "https://127.0.0.1:" + strconv.Itoa(cfg.Port)
	files := pki.Files{Dir: p.pki}
	for _, c := range pki.Clients {
		if err := writeKubeconfig(p.kubeconfig(c.Name), server, files, c.Name); err != nil {
			return err
		}
	}
	admin := AdminKubeconfig(p.root)
	if err := writeKubeconfig(admin, server, files, "admin"); err != nil {
		return err
	}

	// The peer socket path is relative (see etcd.go).
	if err := os.Chdir(p.run); err != nil {
		return fmt.Errorf("enter run dir: %w", err)
	}
	say("starting etcd")
	t := time.Now()
	etcd, etcdURL, err := startEtcd(ctx, p.etcd, p.run, cfg.LogPath)
	if err != nil {
		return stopped(ctx, err, say)
	}
	defer etcd.Close()
	say("etcd ready in %s", since(t))

	// Components stop in the reverse order of their start: the controllers,
	// the scheduler and kwok first, while the apiserver still answers them,
	// then the apiserver, then etcd. The namespace controller exits the
	// whole process with status 1 if discovery fails while it starts, as it
	// would when the apiserver went first in a stop soon after a start.
	apiCtx, stopAPI := context.WithCancel(context.WithoutCancel(ctx))
	clientsCtx, stopClients := context.WithCancel(ctx)
	var apiWG, clientsWG sync.WaitGroup
	failed := make(chan error, 5)
	run := func(ctx context.Context, wg *sync.WaitGroup, name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	defer func() {
		stopClients()
		waitTimeout(&clientsWG, 15*time.Second)
		stopAPI()
		waitTimeout(&apiWG, 15*time.Second)
	}()

	say("starting kube-apiserver on %s", server)
	t = time.Now()
	run(apiCtx, &apiWG, "kube-apiserver", func(ctx context.Context) error { return runAPIServer(ctx, p, cfg.Port, etcdURL) })
	rc, err := adminConfig(admin)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	if err := waitReady(ctx, client, failed, say); err != nil {
		return stopped(ctx, err, say)
	}
	say("kube-apiserver ready in %s", since(t))

	t = time.Now()
	mapper, err := newMapper(rc)
	if err != nil {
		return err
	}
	n, err := installAPIs(ctx, rc, mapper, cfg.Tracks.APIs, say)
	if err != nil {
		return stopped(ctx, fmt.Errorf("install the tracks' APIs: %w", err), say)
	}
	if err := ensureStorageClass(ctx, client); err != nil {
		return stopped(ctx, err, say)
	}
	say("%d track APIs (CRDs) established in %s", n, since(t))
	stages, err = servedStages(mapper, stages, say)
	if err != nil {
		return stopped(ctx, err, say)
	}

	say("starting kube-controller-manager, kube-scheduler and kwok")
	kubelet, err := listenKubelet(files)
	if err != nil {
		return err
	}
	run(clientsCtx, &clientsWG, "kube-controller-manager", func(ctx context.Context) error { return runControllerManager(ctx, p) })
	run(clientsCtx, &clientsWG, "kube-scheduler", func(ctx context.Context) error { return runScheduler(ctx, p) })
	run(clientsCtx, &clientsWG, "kubelet endpoint", func(ctx context.Context) error { return serveKubelet(ctx, kubelet, client, cfg.Logs) })
	kubeletPort := kubelet.Addr().(*net.TCPAddr).Port
	run(clientsCtx, &clientsWG, "kwok", func(ctx context.Context) error {
		return runKwok(ctx, p.kubeconfig("kwok"), kubeletPort, stages, cfg.Logs)
	})
	for _, n := range nodes {
		if err := waitNode(ctx, client, n.Name, kubeletPort, failed); err != nil {
			return stopped(ctx, err, say)
		}
		say("node %s Ready", n.Name)
	}
	say("ready in %s; admin kubeconfig: %s", since(start), admin)

	select {
	case <-ctx.Done():
		say("stopping")
		return nil
	case err := <-failed:
		return err
	}
}

// stopped turns a startup wait cut short by a signal into a clean stop: a
// user pressing Ctrl-C during a slow first start is not an error.
func stopped(ctx context.Context, err error, say func(string, ...any)) error {
	if ctx.Err() != nil {
		say("stopping")
		return nil
	}
	return err
}

func adminConfig(kubeconfig string) (*rest.Config, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("admin kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 100, 200
	rc.Timeout = 5 * time.Second
	return rc, nil
}

// waitReady polls /readyz and says why it is still waiting every few
// seconds, because a cold start after a build is slow and silence looks
// like a hang.
func waitReady(ctx context.Context, c *kubernetes.Clientset, failed <-chan error, say func(string, ...any)) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	start, lastSaid := time.Now(), time.Now()
	for {
		body, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil {
			return nil
		}
		if time.Since(lastSaid) > 5*time.Second {
			lastSaid = time.Now()
			say("still waiting for kube-apiserver (%s): %s", since(start), firstLine(err, body))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return err
		case <-tick.C:
		}
	}
}

// waitNode waits until the node is Ready and advertises this process's
// kubelet endpoint: after a restart the node is still Ready from before,
// with the old port, until kwok has started.
func waitNode(ctx context.Context, c *kubernetes.Clientset, name string, kubeletPort int, failed <-chan error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil && int(n.Status.DaemonEndpoints.KubeletEndpoint.Port) == kubeletPort {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return err
		case <-tick.C:
		}
	}
}

func firstLine(err error, body []byte) string {
	s := err.Error()
	if len(body) > 0 {
		s = string(body)
	}
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

func since(t time.Time) string {
	return time.Since(t).Round(10 * time.Millisecond).String()
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// lock takes an exclusive lock on the data directory, so two clusters never
// share one etcd; the second gets a clear error instead of a corrupt store.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another keiko-cluster; stop it or pass another --data-dir", filepath.Dir(filepath.Dir(path)))
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return func() { f.Close() }, nil
}
