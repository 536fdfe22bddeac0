package controlplane

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
	"sigs.k8s.io/kwok/pkg/apis/internalversion"
	kwokserver "sigs.k8s.io/kwok/pkg/kwok/server"

	"github.com/keiko-lab/keiko/deploy/cluster/internal/pki"
)

// The simulated node's kubelet endpoint: where the apiserver sends
// `kubectl exec`. kwok's own server would do, but it answers plain HTTP and
// any TLS client on the same port, and learners' shells share the host's
// loopback; this one admits only the apiserver's kubelet-client certificate.

// ExecNamespace is a namespace whose pods can be exec'd into, through
// kwok's local Exec simulation. Only cluster admins can create pods there;
// learners' pods, in their own namespaces, have no process to enter.
const ExecNamespace = "keiko-system"

// A learner's terminal pod, which Keiko makes when learners' terminals run
// as pods, can be exec'd into too: the pod carries terminalLabel, in a
// namespace carrying sandboxLabel. Keiko's admission guard refuses
// terminalLabel to anyone but Keiko and cluster admins, so a learner cannot
// make a pod that runs something here.
const (
	terminalLabel = "keiko.dev/terminal"
	sandboxLabel  = "app.kubernetes.io/managed-by"
	sandboxValue  = "keiko"
)

// apiserverUser is the identity the apiserver presents to kubelets.
const apiserverUser = "kube-apiserver-kubelet-client"

// listenKubelet opens the endpoint's TLS listener on a free loopback port.
func listenKubelet(files pki.Files) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(files.KubeletCert(), files.KubeletKey())
	if err != nil {
		return nil, fmt.Errorf("kubelet certificate: %w", err)
	}
	caPEM, err := os.ReadFile(files.CACert())
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("cluster CA %s holds no certificate", files.CACert())
	}
	return tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    cas,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if cn := cs.PeerCertificates[0].Subject.CommonName; cn != apiserverUser {
				return fmt.Errorf("client %q is not the apiserver", cn)
			}
			return nil
		},
	})
}

// serveKubelet answers exec requests on ln until ctx ends.
func serveKubelet(ctx context.Context, ln net.Listener, client kubernetes.Interface, logs io.Writer) error {
	kwok, err := kwokserver.NewServer(kwokserver.Config{ClusterExecs: []*internalversion.ClusterExec{{
		Spec: internalversion.ClusterExecSpec{
			// Every pod: executor.allowed chooses, by labels kwok cannot see.
			Execs: []internalversion.ExecTarget{{Local: &internalversion.ExecTargetLocal{
				WorkDir:         "/",
				SecurityContext: &internalversion.SecurityContext{RunAsUser: ptr(int64(65534)), RunAsGroup: ptr(int64(65534))},
			}}},
		},
	}}})
	if err != nil {
		return fmt.Errorf("kwok exec: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{namespace}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		opts, err := remotecommand.NewOptions(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pod := r.PathValue("pod") + "/" + r.PathValue("namespace") // kwok's order
		remotecommand.ServeExec(w, r, executor{kwok, client}, pod, "", r.PathValue("container"), r.URL.Query()["command"],
			opts, time.Hour, 30*time.Second, remotecommand.SupportedStreamingProtocols)
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(probesDropped{logs}, "kubelet endpoint: ", 0), // refused handshakes, among others
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	fmt.Fprintf(logs, "kubelet endpoint for %s on %s\n", NodeName, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// probesDropped leaves out the handshakes readiness probes cut short by
// connecting and closing at once: one per probe, and nothing wrong.
type probesDropped struct{ w io.Writer }

func (p probesDropped) Write(b []byte) (int, error) {
	if bytes.HasSuffix(bytes.TrimSpace(b), []byte(": EOF")) {
		return len(b), nil
	}
	return p.w.Write(b)
}

// executor refuses pods other than ExecNamespace's and terminal pods with a
// message a learner can act on, and reports a command's exit status the way
// a kubelet does, which kwok's wrapped errors do not.
type executor struct {
	kwok   *kwokserver.Server
	client kubernetes.Interface
}

func (e executor) ExecInContainer(ctx context.Context, name, uid, container string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, timeout time.Duration) error {
	pod, ns, _ := strings.Cut(name, "/")
	if ok, err := e.allowed(ctx, ns, pod); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("pods on %s are simulated and run no processes, so there is nothing to exec into; use your terminal instead", NodeName)
	}
	err := e.kwok.ExecInContainer(ctx, name, uid, container, cmd, in, out, errOut, tty, resize, timeout)
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.Exited() {
		return utilexec.CodeExitError{Err: err, Code: ee.ExitCode()}
	}
	return err
}

// allowed reports whether pod of ns may be exec'd into.
func (e executor) allowed(ctx context.Context, ns, pod string) (bool, error) {
	if ns == ExecNamespace {
		return true, nil
	}
	p, err := e.client.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("exec: %w", err)
	}
	if _, ok := p.Labels[terminalLabel]; !ok {
		return false, nil
	}
	n, err := e.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("exec: %w", err)
	}
	return n.Labels[sandboxLabel] == sandboxValue, nil
}

// advertiseKubelet points the node at the endpoint. kwok writes the address
// and port only when it first initialises a node, so a restart, which gets a
// new port, sets them here.
func advertiseKubelet(ctx context.Context, c kubernetes.Interface, node string, port int) error {
	patch := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"},{"type":"Hostname","address":%q}],"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}}}}`, node, port)
	_, err := c.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("advertise kubelet endpoint on node %s: %w", node, err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
