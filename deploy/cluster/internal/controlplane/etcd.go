package controlplane

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// etcd listens on unix sockets, which file permissions guard: unlike a
// loopback port, learners' shells on the same machine cannot reach them.
// etcd validates socket URLs as host:port and builds peer listeners from
// the host alone, so the names are relative, in etcd's own "unix://name:port"
// convention; Run changes into the 0700 run directory first, so the socket
// files land there.
const (
	clientSocket = "etcd:2379"
	peerSocket   = "etcd:2380"
)

// startEtcd starts an embedded single-member etcd that listens only on unix
// sockets inside runDir.
func startEtcd(ctx context.Context, dataDir, runDir, logPath string) (*embed.Etcd, string, error) {
	// A crash leaves the socket files behind, and bind would then fail.
	for _, s := range []string{clientSocket, peerSocket} {
		s = filepath.Join(runDir, s)
		if err := os.Remove(s); err != nil && !os.IsNotExist(err) {
			return nil, "", fmt.Errorf("remove stale socket: %w", err)
		}
	}

	cfg := embed.NewConfig()
	cfg.Name = "keiko"
	cfg.Dir = dataDir
	client := url.URL{Scheme: "unix", Host: clientSocket}
	peer := url.URL{Scheme: "unix", Host: peerSocket}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.ListenMetricsUrls = nil
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{logPath}
	// NewConfig leaves this zero, which logs every request as slow.
	cfg.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("etcd not ready after 60s; see %s", logPath)
	case <-ctx.Done():
		e.Close()
		return nil, "", ctx.Err()
	}
	// The apiserver gets the absolute path: it must not depend on the
	// working directory.
	return e, "unix://" + filepath.Join(runDir, clientSocket), nil
}
