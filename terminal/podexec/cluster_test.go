package podexec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/keiko-lab/keiko/internal/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// execNamespace is where the embedded cluster simulates exec, through
// kwok's Exec, by running the command on the host as nobody.
const execNamespace = "keiko-system"

// terminalPod creates a pod in ns, with the labels given, and waits until
// kwok reports it Running.
func terminalPod(t *testing.T, ns string, nsLabels, podLabels map[string]string) Target {
	t.Helper()
	cs := clustertest.Client(t)
	ctx := context.Background()
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: nsLabels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "terminal-", Labels: podLabels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "shell", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "terminal pod Running", func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	return Target{Namespace: ns, Pod: pod.Name, Container: "shell", Command: []string{"sh"}}
}


// TestShellInAPodThroughTheAPIServer runs the exec backend against the
// embedded cluster's apiserver, over each stream protocol: the request goes
// through RBAC and the apiserver's stream handling to the simulated node,
// where kwok's Exec runs the shell with a real pty.
func TestShellInAPodThroughTheAPIServer(t *testing.T) {
	target := terminalPod(t, execNamespace, nil, nil)
	for name, pick := range map[string]transport{
		"websocket v5": func(ws, _ remotecommand.Executor) (remotecommand.Executor, error) { return ws, nil },
		"spdy":         func(_, spdy remotecommand.Executor) (remotecommand.Executor, error) { return spdy, nil },
		"fallback":     fallback,
	} {
		t.Run(name, func(t *testing.T) {
			exec, err := newExecutor(clustertest.Config(t), pick)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Start(context.Background(), exec, target, 100, 30)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var out bytes.Buffer
			// Quoted apart, so that the echo of the typed line cannot match.
			if _, err := io.WriteString(s, "echo he''llo; id -u\n"); err != nil {
				t.Fatal(err)
			}
			clustertest.ReadUntil(t, s, &out, 0, "hello")
			clustertest.ReadUntil(t, s, &out, 0, "65534")
			// Sizes travel on their own stream and may land after a
			// command has run, as with a real kubelet; ask until they have.
			waitSize := func(want string) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					from := out.Len()
					if _, err := io.WriteString(s, "stty size\n"); err != nil {
						t.Fatal(err)
					}
					clustertest.ReadUntil(t, s, &out, from, "$ ")
					if strings.Contains(out.String()[from:], want) {
						return
					}
				}
				t.Fatalf("the pty never became %q; output: %q", want, out.String())
			}
			waitSize("30 100")
			if err := s.Resize(120, 40); err != nil {
				t.Fatal(err)
			}
			waitSize("40 120")

			if _, err := io.WriteString(s, "exit 7\n"); err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, s)
			if code := s.Wait(); code != 7 {
				t.Errorf("exit status = %d, want 7", code)
			}
		})
	}
}

// TestExecIntoSimulatedPodsIsRefused: a learner's pods, anywhere but
// keiko-system, run no process; exec must say so, not run anything. Only a
// pod with Keiko's terminal label, in a namespace labelled as a sandbox, is
// a terminal pod; the label alone, or the namespace alone, is not.
func TestExecIntoSimulatedPodsIsRefused(t *testing.T) {
	sandboxNS := map[string]string{"app.kubernetes.io/managed-by": "keiko"}
	terminal := map[string]string{"keiko.dev/terminal": "true"}
	for name, c := range map[string]struct{ nsLabels, podLabels map[string]string }{
		"a learner's pod":                     {sandboxNS, nil},
		"a terminal label outside a sandbox":  {nil, terminal},
		"an unlabelled pod outside a sandbox": {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			target := terminalPod(t, fmt.Sprintf("learner-%d", time.Now().UnixNano()%1e6), c.nsLabels, c.podLabels)
			target.Command = []string{"sh", "-c", "echo ran"}
			exec, err := NewExecutor(clustertest.Config(t))
			if err != nil {
				t.Fatal(err)
			}
			e, err := exec(target)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdin: strings.NewReader(""), Stdout: &out, Tty: true})
			if err == nil || !strings.Contains(err.Error(), "simulated") {
				t.Errorf("exec: err = %v, want one saying the pod is simulated", err)
			}
			if strings.Contains(out.String(), "ran") {
				t.Errorf("the command ran: %q", out.String())
			}
		})
	}
}
