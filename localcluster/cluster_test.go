package localcluster_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/localcluster"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func newNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func TestAPIServesTheBuiltVersionAndAReadyNode(t *testing.T) {
	cs := clustertest.Client(t)
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.GitVersion, "v1.36.3"; got != want {
		t.Errorf("server version = %q, want %q", got, want)
	}
	clustertest.Eventually(t, "node ready", func(ctx context.Context) (bool, error) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					if pods := n.Status.Allocatable.Pods().Value(); pods < 1000 {
						t.Fatalf("node %s allocates %d pods, want at least 1000", n.Name, pods)
					}
					return true, nil
				}
			}
		}
		return false, nil
	})
}

func TestDeploymentBecomesReady(t *testing.T) {
	cs := clustertest.Client(t)
	ns := newNamespace(t, cs)
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	_, err := cs.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "3/3 ready", func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.ReadyReplicas == 3 && d.Status.AvailableReplicas == 3, nil
	})
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q phase %s, want scheduled and Running", p.Name, p.Spec.NodeName, p.Status.Phase)
		}
	}
}

func TestNamespaceDeletionCompletes(t *testing.T) {
	cs := clustertest.Client(t)
	ctx := context.Background()
	ns := newNamespace(t, cs)
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "namespace gone", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func TestAnonymousRequestsAreRefused(t *testing.T) {
	host := clustertest.Config(t).Host
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(host + "/api/v1/namespaces/kube-system/secrets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous list of secrets: status %d, want 401 or 403", resp.StatusCode)
	}
}

func TestDataDirectoryIsPrivate(t *testing.T) {
	c := clustertest.Cluster(t)
	dir := filepath.Dir(c.KubeconfigPath())
	want := map[string]os.FileMode{
		dir:                                   0o700,
		c.KubeconfigPath():                    0o600,
		filepath.Join(dir, "cluster", "pki"):  0o700,
		filepath.Join(dir, "cluster", "etcd"): 0o700,
		filepath.Join(dir, "cluster", "run"):  0o700,
	}
	for path, mode := range want {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != mode {
			t.Errorf("%s mode = %o, want %o", path, got, mode)
		}
	}
	keys, err := filepath.Glob(filepath.Join(dir, "cluster", "pki", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		st, err := os.Stat(k)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others (mode %o)", k, st.Mode().Perm())
		}
	}
}

// TestListensOnlyOnLoopbackWithClientAuth reads the kernel's socket
// tables, as `ss -ltnp` does, and requires that the cluster process owns
// exactly two TCP listeners, both on 127.0.0.1: the apiserver, and the
// simulated node's kubelet endpoint, which admits only the apiserver's
// client certificate. etcd must be on unix sockets.
func TestListensOnlyOnLoopbackWithClientAuth(t *testing.T) {
	c := clustertest.Cluster(t)
	pid := c.Pid()
	if pid == 0 {
		t.Fatal("cluster process not running")
	}
	inodes := socketInodes(t, pid)
	listeners := tcpListeners(t)
	var own []string
	for inode, addr := range listeners {
		if inodes[inode] {
			own = append(own, addr)
		}
	}
	node, err := clustertest.Client(t).CoreV1().Nodes().Get(context.Background(), "kwok-node-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := "127.0.0.1:" + strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port))
	want := []string{strings.TrimPrefix(clustertest.Config(t).Host, "https://"), kubelet}
	slices.Sort(own)
	slices.Sort(want)
	if !slices.Equal(own, want) {
		t.Errorf("cluster TCP listeners = %v, want only %v", own, want)
	}

	pki := filepath.Join(filepath.Dir(c.KubeconfigPath()), "cluster", "pki")
	for _, tc := range []struct {
		client string // certificate stem, or "" for none
		ok     bool
	}{
		{"", false},
		{"admin", false}, // a cluster admin, but not the apiserver
		{"apiserver-kubelet-client", true},
	} {
		cfg := &tls.Config{InsecureSkipVerify: true}
		if tc.client != "" {
			cert, err := tls.LoadX509KeyPair(filepath.Join(pki, tc.client+".crt"), filepath.Join(pki, tc.client+".key"))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		// Any HTTP answer, even a 404, means the handshake was accepted.
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}).Get("https://" + kubelet + "/")
		if err == nil {
			resp.Body.Close()
		}
		if ok := err == nil; ok != tc.ok {
			t.Errorf("kubelet endpoint with client %q: err = %v, want accepted = %v", tc.client, err, tc.ok)
		}
	}

	// etcd's sockets are named relative to the run directory.
	run := filepath.Join(filepath.Dir(c.KubeconfigPath()), "cluster", "run")
	st, err := os.Stat(run)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("etcd socket dir %s mode %o, want 700", run, st.Mode().Perm())
	}
	if !slices.Contains(unixSockets(t, inodes), "etcd:2379") {
		t.Error("cluster has no etcd client unix socket")
	}
	sock, err := os.Stat(filepath.Join(run, "etcd:2379"))
	if err != nil {
		t.Fatal(err)
	}
	if sock.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is not a socket", sock.Name())
	}
}

func TestKubectlIsBuiltIn(t *testing.T) {
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := clustertest.Cluster(t).KubeconfigPath()

	out, err := exec.Command(bin, "kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("keiko-cluster kubectl get nodes: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "node/kwok-node-0") {
		t.Errorf("kubectl get nodes = %q, want node/kwok-node-0", out)
	}

	// Under the name kubectl, as learners' terminals see it.
	link := filepath.Join(t.TempDir(), "kubectl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(link, "--kubeconfig", kubeconfig, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("kubectl version: %v", err)
	}
	var v struct {
		Client struct{ GitVersion string } `json:"clientVersion"`
		Server struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("kubectl version output %q: %v", out, err)
	}
	if v.Client.GitVersion != "v1.36.3" || v.Server.GitVersion != "v1.36.3" {
		t.Errorf("kubectl client %q, server %q; want both v1.36.3", v.Client.GitVersion, v.Server.GitVersion)
	}
}

// TestRestartKeepsObjectsAndStopsCleanly runs a cluster of its own: it
// stops it with SIGTERM, checks nothing is left running, and restarts it on
// the same data directory.
func TestRestartKeepsObjectsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	c, stopped, err := clustertest.Start(ctx, dir, &out)
	if err != nil {
		cancel()
		t.Fatalf("%v\n%s", err, out.String())
	}
	rc, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "survivor"}, Data: map[string]string{"k": "v"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	cancel()
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v\n%s\nlog:\n%s", err, out.String(), clustertest.LogTail(dir))
	}
	if left := processesInGroup(t, pid); len(left) > 0 {
		t.Errorf("processes left in the cluster's group after SIGTERM: %v", left)
	}
	if !strings.Contains(out.String(), "keiko-cluster: stopping") {
		t.Errorf("cluster did not report a clean stop:\n%s", out.String())
	}

	out.Reset()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	c, stopped, err = clustertest.Start(ctx, dir, &out)
	if err != nil {
		t.Fatalf("restart: %v\n%s", err, out.String())
	}
	defer func() { cancel(); <-stopped }()
	if strings.Contains(out.String(), "created certificates") {
		t.Error("restart created new certificates; it must reuse the data directory's")
	}
	rc, err = c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := kubernetes.NewForConfigOrDie(rc).CoreV1().ConfigMaps("default").Get(context.Background(), "survivor", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object lost across restart: %v", err)
	}
	if cm.Data["k"] != "v" {
		t.Errorf("configmap data = %v after restart", cm.Data)
	}
	// The kubelet endpoint gets a new port; the node must point at it.
	node, err := kubernetes.NewForConfigOrDie(rc).CoreV1().Nodes().Get(context.Background(), "kwok-node-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet := "127.0.0.1:" + strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port))
	inodes, listening := socketInodes(t, c.Pid()), false
	for inode, addr := range tcpListeners(t) {
		listening = listening || inodes[inode] && addr == kubelet
	}
	if !listening {
		t.Errorf("after restart the node advertises its kubelet endpoint at %s, where the cluster does not listen", kubelet)
	}
}

func TestSecondClusterOnSameDataDirIsRefused(t *testing.T) {
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	port, err := localcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(clustertest.Cluster(t).KubeconfigPath())
	out, err := exec.Command(bin, "--data-dir", dir, "--port", strconv.Itoa(port)).CombinedOutput()
	if err == nil {
		t.Fatalf("second keiko-cluster on a data dir in use succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "in use by another keiko-cluster") {
		t.Errorf("error does not say the data dir is in use:\n%s", out)
	}
}
