package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/terminal/podexec"
)

// clusterMode runs serve as it runs on a real cluster: installed by
// deploy/kubernetes, acting as its least-privilege ServiceAccount, with
// learners' terminals in pods. kwok's exec simulation runs the shell.
func clusterMode(t *testing.T, adminKubeconfig string) {
	root, err := clustertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	manifests := filepath.Join(root, "deploy", "kubernetes")
	for _, args := range [][]string{
		{"apply", "--server-side", "-f", filepath.Join(manifests, "base", "namespace.yaml")},
		// The embedded serve installed the sandbox guard already, as its
		// own: the manifests take it over, as an upgrade does.
		{"apply", "--server-side", "--force-conflicts", "-k", filepath.Join(manifests, "overlays", "dev")},
	} {
		cmd := exec.Command(bin, append([]string{"kubectl", "--kubeconfig", adminKubeconfig}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	admin, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tr, err := cs.CoreV1().ServiceAccounts("keiko-system").CreateToken(ctx, "keiko", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	kc.AuthInfos["keiko"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "keiko"}
	kc.CurrentContext = "c"
	saKubeconfig := filepath.Join(t.TempDir(), "keiko.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, saKubeconfig); err != nil {
		t.Fatal(err)
	}

	o := serveOptions{addr: "127.0.0.1:0", dataDir: filepath.Join(t.TempDir(), "data"), kubeconfig: saKubeconfig,
		terminal: terminalPod, termImage: "ghcr.io/keiko-lab/keiko-terminal:test", logFormat: "text", logLevel: "error"}
	o.sandbox.poolSize = 1
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	url, out, done := startServe(t, sctx, o)
	waitForLong(t, out, regexp.MustCompile(`Keiko is ready: http://`))

	// The warm sandbox's terminal pod is made before anyone asks for it.
	clustertest.Eventually(t, "a warm sandbox with its terminal pod", func(ctx context.Context) (bool, error) {
		nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sandbox.LabelState + "=" + sandbox.StatePool})
		if err != nil || len(nss.Items) == 0 {
			return false, err
		}
		_, err = cs.CoreV1().Pods(nss.Items[0].Name).Get(ctx, podexec.PodName, metav1.GetOptions{})
		return err == nil, nil
	})

	browser, sess := newSession(t, url, "kubernetes-basics")
	ws, _, _ := dialTerminal(t, url, browser.Jar, sess.ID)
	defer ws.Close()
	// kwok runs the pod's shell on this machine as nobody (65534).
	if got := typeInTerminal(t, ws, "echo hel''lo $(id -u) do''ne", "done"); !strings.Contains(got, "hello 65534 done") {
		t.Errorf("terminal pod's shell printed %q", got)
	}
	pod, err := cs.CoreV1().Pods(sess.Namespace).Get(ctx, podexec.PodName, metav1.GetOptions{})
	if err != nil || pod.Spec.ServiceAccountName != sandbox.LearnerServiceAccount || pod.Labels[sandbox.LabelTerminal] == "" {
		t.Errorf("terminal pod of %s: %v, %+v", sess.Namespace, err, pod)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("runServe() = %v\n%s", err, out.String())
	}
}
