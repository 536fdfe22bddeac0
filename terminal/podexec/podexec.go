// Package podexec runs learners' shells in terminal pods on a real
// cluster, reached like `kubectl exec -it`: the WebSocket stream protocol
// v5, falling back to SPDY for apiservers that lack it.
package podexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// Target is the container a shell runs in.
type Target struct {
	Namespace, Pod, Container string
	Command                   []string // default: bash -il
	// NoTTY runs Command without a pty, with stderr apart, as scripts
	// need.
	NoTTY bool
}

// Executor builds the stream for a target; NewExecutor gives the real one.
type Executor func(t Target) (remotecommand.Executor, error)

// NewExecutor returns the client-go executor for rc's cluster: WebSocket
// first, SPDY when the apiserver refuses the upgrade.
func NewExecutor(rc *rest.Config) (Executor, error) { return newExecutor(rc, fallback) }

// A transport picks the stream protocols to offer; tests pin one.
type transport func(ws, spdy remotecommand.Executor) (remotecommand.Executor, error)

func fallback(ws, spdy remotecommand.Executor) (remotecommand.Executor, error) {
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

func newExecutor(rc *rest.Config, pick transport) (Executor, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("exec client: %w", err)
	}
	return func(t Target) (remotecommand.Executor, error) {
		cmd := t.Command
		if len(cmd) == 0 {
			cmd = []string{"bash", "-il"}
		}
		req := cs.CoreV1().RESTClient().Post().Namespace(t.Namespace).Resource("pods").Name(t.Pod).SubResource("exec")
		q := req.URL().Query()
		for _, c := range cmd {
			q.Add("command", c)
		}
		q.Set("container", t.Container)
		q.Set("stdin", "true")
		q.Set("stdout", "true")
		if t.NoTTY {
			q.Set("stderr", "true")
		} else {
			q.Set("tty", "true")
		}
		u := req.URL()
		u.RawQuery = q.Encode()
		ws, err := remotecommand.NewWebSocketExecutor(rc, http.MethodGet, u.String())
		if err != nil {
			return nil, fmt.Errorf("websocket exec: %w", err)
		}
		spdy, err := remotecommand.NewSPDYExecutor(rc, http.MethodPost, u)
		if err != nil {
			return nil, fmt.Errorf("spdy exec: %w", err)
		}
		return pick(ws, spdy)
	}, nil
}

// Shell is a shell in a pod; it implements terminal.Backend.
type Shell struct {
	stdin  *io.PipeWriter
	stdout *io.PipeReader
	sizes  chan remotecommand.TerminalSize
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	once   sync.Once
}

// Start opens a shell in target with the given size.
func Start(ctx context.Context, exec Executor, target Target, cols, rows uint16) (*Shell, error) {
	e, err := exec(target)
	if err != nil {
		return nil, err
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	s := &Shell{stdin: inW, stdout: outR, sizes: make(chan remotecommand.TerminalSize, 4), cancel: cancel, done: make(chan struct{})}
	s.sizes <- remotecommand.TerminalSize{Width: max(cols, 1), Height: max(rows, 1)}
	go func() {
		defer close(s.done)
		err := e.StreamWithContext(ctx, remotecommand.StreamOptions{
			Stdin: inR, Stdout: outW, Tty: true, TerminalSizeQueue: sizeQueue(s.sizes),
		})
		s.code = exitCode(err)
		inW.Close() // the stdin copier sees EOF, and writes fail
		outW.CloseWithError(io.EOF)
	}()
	return s, nil
}

// exitCode turns a stream's end into an exit status: the command's own,
// 0 for a clean end, -1 when the stream failed.
func exitCode(err error) int {
	var ce exec.CodeExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return ce.Code
	}
	return -1
}

type sizeQueue chan remotecommand.TerminalSize

// Next blocks until a resize; the queue ends when the shell does.
func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &s
}

func (s *Shell) Read(p []byte) (int, error)  { return s.stdout.Read(p) }
func (s *Shell) Write(p []byte) (int, error) { return s.stdin.Write(p) }

// Resize queues a new size; a burst of resizes keeps only what fits, the
// last ones being what matter.
func (s *Shell) Resize(cols, rows uint16) error {
	select {
	case <-s.done:
		return errors.New("shell has ended")
	case s.sizes <- remotecommand.TerminalSize{Width: cols, Height: rows}:
	default:
	}
	return nil
}

// Close ends the stream; the pod's shell gets a hangup.
func (s *Shell) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.stdin.Close()
	})
	return nil
}

// Wait returns the shell's exit status once the stream has ended.
func (s *Shell) Wait() int {
	<-s.done
	return s.code
}
