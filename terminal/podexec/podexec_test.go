package podexec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// fakeStream stands in for client-go's executor: a "shell" that echoes
// its input upper-cased, records resizes, and ends with a given error when
// its stdin closes.
type fakeStream struct {
	mu      sync.Mutex
	target  Target
	resizes []remotecommand.TerminalSize
	end     error
}

func (f *fakeStream) Stream(o remotecommand.StreamOptions) error {
	return f.StreamWithContext(context.Background(), o)
}

func (f *fakeStream) StreamWithContext(ctx context.Context, o remotecommand.StreamOptions) error {
	if !o.Tty || o.TerminalSizeQueue == nil {
		return errors.New("want a tty with a size queue")
	}
	go func() {
		for s := o.TerminalSizeQueue.Next(); s != nil; s = o.TerminalSizeQueue.Next() {
			f.mu.Lock()
			f.resizes = append(f.resizes, *s)
			f.mu.Unlock()
		}
	}()
	buf := make([]byte, 1024)
	for {
		n, err := o.Stdin.Read(buf)
		if n > 0 {
			o.Stdout.Write(bytes.ToUpper(buf[:n]))
		}
		if err != nil || ctx.Err() != nil {
			return f.end
		}
	}
}

func start(t *testing.T, f *fakeStream) *Shell {
	t.Helper()
	s, err := Start(context.Background(), func(tg Target) (remotecommand.Executor, error) {
		f.target = tg
		return f, nil
	}, Target{Namespace: "keiko-x", Pod: "terminal", Container: "shell"}, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShellStreamsAndResizes(t *testing.T) {
	f := &fakeStream{}
	s := start(t, f)
	if _, err := s.Write([]byte("echo hi\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(s, buf, len("ECHO HI\r"))
	if err != nil || string(buf[:n]) != "ECHO HI\r" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	s.Resize(120, 40)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		n := len(f.resizes)
		f.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []remotecommand.TerminalSize{{Width: 100, Height: 30}, {Width: 120, Height: 40}}
	if len(f.resizes) != 2 || f.resizes[0] != want[0] || f.resizes[1] != want[1] {
		t.Errorf("resizes = %v, want %v", f.resizes, want)
	}
	if f.target.Pod != "terminal" || f.target.Namespace != "keiko-x" {
		t.Errorf("target = %+v", f.target)
	}
	s.Close()
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name string
		end  error
		want int
	}{
		{"clean exit", nil, 0},
		{"command failed", exec.CodeExitError{Err: errors.New("exit 3"), Code: 3}, 3},
		{"stream broke", errors.New("connection reset"), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, &fakeStream{end: tt.end})
			s.Close()
			if _, err := io.ReadAll(s); err != nil {
				t.Fatal(err)
			}
			if got := s.Wait(); got != tt.want {
				t.Errorf("Wait() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestStuckSaysWhatToDo(t *testing.T) {
	waiting := func(reason string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: PodName, Namespace: "keiko-a"},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
				Image: "registry.example/terminal:v1",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "not found"}},
			}}},
		}
	}
	for _, c := range []struct {
		name string
		pod  *corev1.Pod
		want string // "" for a pod that may yet start
	}{
		{"pulling", waiting("ContainerCreating"), ""},
		{"image missing", waiting("ErrImagePull"), "cannot pull image registry.example/terminal:v1"},
		{"back-off", waiting("ImagePullBackOff"), "--terminal-image"},
		{"ended", &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}, "reconnect"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := stuck(c.pod)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("stuck = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("stuck = %v, want one containing %q", err, c.want)
			}
		})
	}
}
