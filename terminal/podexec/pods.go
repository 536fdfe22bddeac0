package podexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// PodName is the terminal pod's name in every learner namespace.
const PodName = "keiko-terminal"

// container is the terminal pod's one container.
const container = "shell"

// Pods keeps one terminal pod per learner namespace and opens shells in
// it. It implements check.ScriptRunner, so setup scripts and script checks
// run where the learner's shell does.
type Pods struct {
	Client kubernetes.Interface
	Exec   Executor
	// Image is the terminal image (deploy/images/terminal).
	Image string
	// ServiceAccount is the learner's: kubectl in the pod uses its token,
	// and the namespace the token names, with no kubeconfig at all.
	ServiceAccount string
	// Labels mark the pod as a terminal, for its NetworkPolicy.
	Labels map[string]string
	// Namespace maps a session to its namespace.
	Namespace func(session string) string
	// Resources default to a small request and a limit that leaves most
	// of the learner's quota to their own pods.
	Resources corev1.ResourceRequirements
}

// Prepare creates the terminal pod of namespace ns, if it has none, without
// waiting for it: a warm sandbox's pod is then running before its learner
// arrives.
func (p *Pods) Prepare(ctx context.Context, ns string) error {
	_, err := p.ensure(ctx, ns)
	return err
}

// Start opens a shell in session's terminal pod, creating the pod and
// waiting for it to run if need be. ctx bounds the wait, not the shell,
// which lives until it exits or is closed.
func (p *Pods) Start(ctx context.Context, session string, cols, rows uint16) (*Shell, error) {
	t, err := p.running(ctx, p.Namespace(session))
	if err != nil {
		return nil, err
	}
	return Start(context.WithoutCancel(ctx), p.Exec, t, cols, rows)
}

// Run runs script with bash in session's terminal pod, without a pty, and
// returns its exit status and combined output. The kubeconfig is unused:
// the pod's own ServiceAccount token already is the learner's.
func (p *Pods) Run(ctx context.Context, session string, _ []byte, script string) (int, []byte, error) {
	t, err := p.running(ctx, p.Namespace(session))
	if err != nil {
		return -1, nil, err
	}
	t.Command, t.NoTTY = []string{"bash", "-s"}, true
	e, err := p.Exec(t)
	if err != nil {
		return -1, nil, err
	}
	var out syncBuffer // stdout and stderr are copied in goroutines of their own
	err = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader(script), Stdout: &out, Stderr: &out})
	if ee := (exec.CodeExitError{}); errors.As(err, &ee) {
		return ee.Code, out.bytes(), nil
	}
	if err != nil {
		return -1, out.bytes(), fmt.Errorf("run script in %s/%s: %w", t.Namespace, t.Pod, err)
	}
	return 0, out.bytes(), nil
}

// syncBuffer is a buffer two streams may write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

// running returns the terminal pod of ns once it runs.
func (p *Pods) running(ctx context.Context, ns string) (Target, error) {
	pod, err := p.ensure(ctx, ns)
	for delay := 50 * time.Millisecond; err == nil; delay = min(2*delay, time.Second) {
		if pod.Status.Phase == corev1.PodRunning {
			return Target{Namespace: ns, Pod: pod.Name, Container: container}, nil
		}
		if err = stuck(pod); err != nil {
			break
		}
		select {
		case <-ctx.Done():
			return Target{}, fmt.Errorf("terminal pod %s/%s is still %s: %w", ns, PodName, pod.Status.Phase, ctx.Err())
		case <-time.After(delay):
		}
		pod, err = p.Client.CoreV1().Pods(ns).Get(ctx, PodName, metav1.GetOptions{})
	}
	return Target{}, err
}

// stuck says why a pod cannot start, in words an operator can act on.
func stuck(pod *corev1.Pod) error {
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return fmt.Errorf("terminal pod %s/%s has ended (%s); reconnect to get a new one", pod.Namespace, pod.Name, pod.Status.Phase)
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "InvalidImageName") {
			return fmt.Errorf("terminal pod %s/%s cannot pull image %s (%s: %s); check serve's --terminal-image and the cluster's access to its registry", pod.Namespace, pod.Name, cs.Image, w.Reason, w.Message)
		}
	}
	return nil
}

// ensure gets or creates the terminal pod of ns. A pod that has ended is
// replaced: the learner's files live in their namespace's objects, not in
// the pod. So is a pod of that name the learner made themselves, which
// lacks Keiko's labels: their shell must not open in a pod of their own.
func (p *Pods) ensure(ctx context.Context, ns string) (*corev1.Pod, error) {
	pods := p.Client.CoreV1().Pods(ns)
	pod, err := pods.Get(ctx, PodName, metav1.GetOptions{})
	if err == nil && pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded && p.labelled(pod) {
		return pod, nil
	}
	if err == nil {
		zero := int64(0)
		if err := pods.Delete(ctx, PodName, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("replace terminal pod in %s: %w", ns, err)
		}
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get terminal pod in %s: %w", ns, err)
	}
	// A namespace's ResourceQuota refuses every pod until the quota
	// controller has counted it, a few milliseconds after it is made.
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		pod, err = pods.Create(ctx, p.pod(), metav1.CreateOptions{})
		switch {
		case err == nil:
			return pod, nil
		case apierrors.IsAlreadyExists(err):
			return pods.Get(ctx, PodName, metav1.GetOptions{})
		case !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "status unknown for quota"):
			return nil, fmt.Errorf("create terminal pod in %s: %w", ns, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("create terminal pod in %s: %w", ns, err)
		case <-time.After(delay):
		}
	}
}

func (p *Pods) labelled(pod *corev1.Pod) bool {
	for k, v := range p.Labels {
		if pod.Labels[k] != v {
			return false
		}
	}
	return true
}

// pod is the terminal pod: the learner's ServiceAccount, and a container
// that passes the restricted Pod Security level, which sandboxes enforce by
// default.
func (p *Pods) pod() *corev1.Pod {
	no, yes := false, true
	grace := int64(1) // tini ends the idle container at once
	res := p.Resources
	if res.Requests == nil && res.Limits == nil {
		res = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: PodName, Labels: p.Labels},
		Spec: corev1.PodSpec{
			ServiceAccountName:            p.ServiceAccount,
			AutomountServiceAccountToken:  &yes,
			EnableServiceLinks:            &no,
			TerminationGracePeriodSeconds: &grace,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   &yes,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            container,
				Image:           p.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Stdin:           true,
				TTY:             true,
				Resources:       res,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}
