package localcluster_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/localcluster"
)

func TestRunRestartsAKilledCluster(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	c, stopped, err := clustertest.Start(ctx, t.TempDir(), &out)
	if err != nil {
		cancel()
		t.Fatalf("%v\n%s", err, out.String())
	}
	defer func() { cancel(); <-stopped }()
	rc, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "before-crash"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	first := c.Pid()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "a new cluster process", func(ctx context.Context) (bool, error) {
		pid := c.Pid()
		return pid != 0 && pid != first, nil
	})
	clustertest.Eventually(t, "ready again", func(ctx context.Context) (bool, error) {
		return c.Ready(ctx) == nil, nil
	})
	if _, err := cs.CoreV1().ConfigMaps("default").Get(context.Background(), "before-crash", metav1.GetOptions{}); err != nil {
		t.Errorf("object lost across a crash: %v", err)
	}
}

func TestRunGivesUpOnAClusterThatNeverStarts(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "keiko-cluster")
	script := "#!/bin/sh\necho 'keiko-cluster: broken on purpose' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := localcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := localcluster.New(localcluster.Options{Binary: fake, DataDir: t.TempDir(), Port: port, Output: &out})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "exited 3 times before becoming ready") {
		t.Errorf("Run() = %v, want it to give up after 3 failed starts", err)
	}
	if got := strings.Count(out.String(), "broken on purpose"); got != 3 {
		t.Errorf("cluster output forwarded %d times, want 3:\n%s", got, out.String())
	}
}
