// Command keiko-cluster runs Keiko's embedded Kubernetes control plane in one
// process. Invoked as "kubectl", or as "keiko-cluster kubectl ...", it is a
// kubectl of exactly the cluster's version.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/keiko-lab/keiko/deploy/cluster/internal/controlplane"
)

// tracks are the built-in tracks' CRDs, the ClusterRoles that give
// learners rights on them, and the kwok stages that play their controllers.
//
//go:embed crds/*.yaml stages/*.yaml
var tracks embed.FS

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		os.Exit(kubectl(os.Args[1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "kubectl" {
		os.Exit(kubectl(os.Args[2:]))
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "keiko-cluster: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("keiko-cluster", pflag.ContinueOnError)
	dataDir := fs.String("data-dir", envOr("KEIKO_DATA_DIR", ".keiko"), "directory for the cluster's state and credentials, made 0700 (env KEIKO_DATA_DIR)")
	port := fs.Int("port", 6443, "kube-apiserver port, on 127.0.0.1 only")
	logFile := fs.String("log-file", "", "file for the components' logs (default <data-dir>/cluster/cluster.log)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, `keiko-cluster runs a real Kubernetes control plane in one process: etcd,
kube-apiserver, kube-controller-manager, kube-scheduler and kwok, which
simulates a node so pods become Ready without a container runtime.

It listens only on 127.0.0.1: the apiserver on <port>, and the fake node's
kubelet endpoint (for kubectl exec) on a free port, admitting only the
apiserver's client certificate. etcd listens on a unix socket inside the
0700 data directory. The admin kubeconfig is <data-dir>/admin.kubeconfig.
SIGINT or SIGTERM stops it cleanly; state survives restarts.

For Keiko's built-in tracks it also serves their APIs as CRDs (Knative
Serving and Eventing, Argo Workflows, KServe, OLM, and the tracks' demo
APIs), with kwok stages that give their objects the status a real
controller would; a second node labelled and tainted as an EKS Fargate node;
and a default StorageClass, kwok-volume, that binds claims at once. See
docs/tracks.md.

Usage:
  keiko-cluster [flags]
  keiko-cluster kubectl [kubectl args]   (or invoke the binary as "kubectl")

Flags:
%s`, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see --help", fs.Arg(0))
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cluster"), 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restrict data dir: %w", err)
	}
	if *logFile == "" {
		*logFile = filepath.Join(dir, "cluster", "cluster.log")
	}
	logs, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	defer logs.Close()
	quietKlog(logs)

	// The components together idle at about 330 MB; a soft limit keeps the
	// heap from doubling between collections on a small laptop.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(400 << 20)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Printf("keiko-cluster: data directory %s; component logs in %s\n", dir, *logFile)
	return controlplane.Run(ctx, controlplane.Config{
		DataDir:  dir,
		Port:     *port,
		Progress: os.Stdout,
		LogPath:  *logFile,
		Logs:     logs,
		Tracks:   controlplane.Tracks{APIs: sub(tracks, "crds"), Stages: sub(tracks, "stages")},
	})
}

// quietKlog sends every component's klog output to the log file, so the
// terminal shows only progress and errors.
func quietKlog(w *os.File) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(w)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func sub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a literal embedded above
	}
	return s
}
