package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBackend is a shell whose output the test writes and whose input and
// resizes it records.
type fakeBackend struct {
	out     *io.PipeReader
	outW    *io.PipeWriter
	mu      sync.Mutex
	input   bytes.Buffer
	resizes []Size
	code    int
}

func newFakeBackend() *fakeBackend {
	r, w := io.Pipe()
	return &fakeBackend{out: r, outW: w}
}

func (b *fakeBackend) Read(p []byte) (int, error) { return b.out.Read(p) }
func (b *fakeBackend) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.input.Write(p)
}
func (b *fakeBackend) Resize(c, r uint16) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resizes = append(b.resizes, Size{c, r})
	return nil
}
func (b *fakeBackend) Close() error { return b.outW.Close() }
func (b *fakeBackend) Wait() int    { return b.code }

func (b *fakeBackend) exit(code int) {
	b.code = code
	b.outW.Close()
}

func (b *fakeBackend) typed() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.input.String()
}

// fakeConn is a client: the test sends frames into in and reads frames from out.
type fakeConn struct {
	in     chan []byte
	out    chan []byte
	closed chan error
	once   sync.Once
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan []byte, 16), out: make(chan []byte, 1024), closed: make(chan error, 1)}
}

func (c *fakeConn) ReadMessage() ([]byte, error) {
	select {
	case f := <-c.in:
		return f, nil
	case err := <-c.closed:
		c.closed <- err
		return nil, io.EOF
	}
}
func (c *fakeConn) WriteMessage(p []byte) error {
	select {
	case err := <-c.closed:
		c.closed <- err
		return io.ErrClosedPipe
	default:
	}
	c.out <- bytes.Clone(p)
	return nil
}
func (c *fakeConn) Close(reason error) error {
	c.once.Do(func() { c.closed <- reason })
	return nil
}

// next returns the next frame the client receives.
func (c *fakeConn) next(t *testing.T) []byte {
	t.Helper()
	select {
	case f := <-c.out:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10s")
		return nil
	}
}

// output reads output frames until n bytes have arrived.
func (c *fakeConn) output(t *testing.T, n int) string {
	t.Helper()
	var got []byte
	for len(got) < n {
		f := c.next(t)
		if f[0] != MsgOutput {
			t.Fatalf("frame %q while waiting for output", f)
		}
		got = append(got, f[1:]...)
	}
	return string(got)
}

func attach(t *testing.T, term *Terminal, offset int64, readOnly bool) (*fakeConn, <-chan error) {
	t.Helper()
	c := newFakeConn()
	done := make(chan error, 1)
	go func() { done <- term.Attach(context.Background(), c, offset, readOnly) }()
	return c, done
}

func hello(t *testing.T, c *fakeConn) Hello {
	t.Helper()
	f := c.next(t)
	if f[0] != MsgHello {
		t.Fatalf("first frame %q, want a hello", f)
	}
	var h Hello
	if err := json.Unmarshal(f[1:], &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// sync makes sure every frame the client sent before it was handled, by
// sending a resize and waiting for the backend to see it.
func syncFrames(t *testing.T, b *fakeBackend, c *fakeConn) {
	t.Helper()
	b.mu.Lock()
	n := len(b.resizes)
	b.mu.Unlock()
	c.in <- []byte(`1{"cols":80,"rows":24}`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		done := len(b.resizes) > n
		b.mu.Unlock()
		if done {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("frames not handled")
}

func TestOutputInputAndResize(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{})
	c, _ := attach(t, term, -1, false)
	if h := hello(t, c); h.Offset != 0 || h.ReadOnly {
		t.Errorf("hello = %+v", h)
	}
	go b.outW.Write([]byte("$ "))
	if got := c.output(t, 2); got != "$ " {
		t.Errorf("output = %q", got)
	}
	c.in <- []byte("0echo hello\r")
	c.in <- []byte(`1{"cols":120,"rows":40}`)
	syncFrames(t, b, c)
	if got := b.typed(); got != "echo hello\r" {
		t.Errorf("shell got %q", got)
	}
	b.mu.Lock()
	first := b.resizes[0]
	b.mu.Unlock()
	if first != (Size{120, 40}) {
		t.Errorf("resize = %+v", first)
	}
}

func TestBadFrameClosesWithAProtocolError(t *testing.T) {
	tests := []string{`1{"cols":0,"rows":0}`, "x", ""}
	for _, frame := range tests {
		t.Run(strconv.Quote(frame), func(t *testing.T) {
			term := New(newFakeBackend(), Options{})
			c, done := attach(t, term, -1, false)
			hello(t, c)
			c.in <- []byte(frame)
			f := c.next(t)
			if f[0] != MsgError {
				t.Errorf("frame %q, want an error message", f)
			}
			if err := <-done; !errors.Is(err, ErrProtocol) {
				t.Errorf("Attach() = %v, want ErrProtocol", err)
			}
		})
	}
}

func TestPauseHoldsTheShellAndResumeReleasesIt(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{})
	c, _ := attach(t, term, -1, false)
	hello(t, c)
	c.in <- []byte("2")
	syncFrames(t, b, c)

	// The pump may already be in a read when the pause arrives: that read
	// completes, but is not sent, and no further read is made. So of two
	// writes by the shell, the second cannot complete while paused.
	wrote := make(chan struct{})
	go func() {
		b.outW.Write([]byte("while "))
		b.outW.Write([]byte("paused"))
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatal("the shell's output was read while the client was paused")
	case f := <-c.out:
		t.Fatalf("client got %q while paused", f)
	case <-time.After(100 * time.Millisecond):
	}
	c.in <- []byte("3")
	if got := c.output(t, len("while paused")); got != "while paused" {
		t.Errorf("after resume got %q", got)
	}
	<-wrote
}

func TestReconnectResumesFromOffset(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{})
	c1, _ := attach(t, term, -1, false)
	hello(t, c1)
	go b.outW.Write([]byte("first part,"))
	c1.output(t, len("first part,"))
	c1.Close(nil)
	for term.Clients() != 0 {
		time.Sleep(time.Millisecond)
	}

	b.outW.Write([]byte("missed while away"))
	c2, _ := attach(t, term, int64(len("first part,")), false)
	if h := hello(t, c2); h.Offset != int64(len("first part,")) {
		t.Errorf("hello offset = %d", h.Offset)
	}
	if got := c2.output(t, len("missed while away")); got != "missed while away" {
		t.Errorf("resumed output = %q", got)
	}
	c2.in <- []byte("0still the same shell\r")
	syncFrames(t, b, c2)
	if got := b.typed(); got != "still the same shell\r" {
		t.Errorf("shell got %q", got)
	}
}

func TestOffsetOlderThanTheReplayBufferStartsAtItsStart(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{ReplaySize: 64 << 10})
	b.outW.Write(bytes.Repeat([]byte("x"), 100<<10))
	b.outW.Write([]byte("END"))
	for term.written() < 100<<10+3 {
		time.Sleep(time.Millisecond)
	}
	c, _ := attach(t, term, 0, false)
	h := hello(t, c)
	if want := int64(100<<10 + 3 - 64<<10); h.Offset != want {
		t.Errorf("hello offset = %d, want %d (what is still held)", h.Offset, want)
	}
	got := c.output(t, 64<<10)
	if len(got) != 64<<10 || got[len(got)-3:] != "END" {
		t.Errorf("got %d bytes ending %q", len(got), got[len(got)-3:])
	}
}

func TestExitIsReportedAfterTheLastOutput(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{})
	c, done := attach(t, term, -1, false)
	hello(t, c)
	go func() {
		b.outW.Write([]byte("bye"))
		b.exit(3)
	}()
	if got := c.output(t, 3); got != "bye" {
		t.Errorf("output = %q", got)
	}
	f := c.next(t)
	if string(f) != `2{"code":3}` {
		t.Errorf("frame %q, want the exit status", f)
	}
	if err := <-done; !errors.Is(err, ErrExited) {
		t.Errorf("Attach() = %v, want ErrExited", err)
	}
	<-term.Done()
}

func TestReadOnlyClientCannotType(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{})
	rw, _ := attach(t, term, -1, false)
	hello(t, rw)
	ro, _ := attach(t, term, -1, true)
	if h := hello(t, ro); !h.ReadOnly {
		t.Error("mirror not told it is read-only")
	}
	ro.in <- []byte("0rm -rf ~\r")
	ro.in <- []byte(`1{"cols":10,"rows":10}`)
	rw.in <- []byte("0ls\r")
	syncFrames(t, b, rw)
	if got := b.typed(); got != "ls\r" {
		t.Errorf("shell got %q; a read-only client typed", got)
	}
	go b.outW.Write([]byte("shared"))
	for _, c := range []*fakeConn{rw, ro} {
		if got := c.output(t, 6); got != "shared" {
			t.Errorf("client got %q", got)
		}
	}
}

// slowConn is a client that acknowledges output only after a delay, as
// xterm.js does once it has parsed it.
type slowConn struct {
	*fakeConn
	got []byte
}

// TestNoByteLostOrReorderedUnderFlowControl floods 8 MiB through a small
// replay buffer to a client that reads slowly and acknowledges, and to a
// second one that never acknowledges; both must get every byte in order.
func TestNoByteLostOrReorderedUnderFlowControl(t *testing.T) {
	b := newFakeBackend()
	term := New(b, Options{ReplaySize: 64 << 10, HighWater: 16 << 10})
	const total = 8 << 20
	want := make([]byte, total)
	for i := range want {
		want[i] = byte(i % 251)
	}
	var wg sync.WaitGroup
	results := make([][]byte, 2)
	for i, acks := range []bool{true, false} {
		c, _ := attach(t, term, -1, false)
		hello(t, c)
		wg.Go(func() {
			var got []byte
			for len(got) < total {
				f := <-c.out
				if f[0] != MsgOutput {
					t.Errorf("client %d: unexpected frame %q after %d bytes", i, f, len(got))
					return
				}
				got = append(got, f[1:]...)
				if acks {
					time.Sleep(10 * time.Microsecond)
					c.in <- []byte(fmt.Sprintf("4%d", len(got)))
				}
			}
			results[i] = got
		})
	}
	go b.outW.Write(want)
	wg.Wait()
	for i, got := range results {
		if !bytes.Equal(got, want) {
			t.Errorf("client %d: %d bytes, equal=%v", i, len(got), bytes.Equal(got, want))
		}
	}
}

func (t *Terminal) written() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ring.end
}

func TestRegistryStartsOneShellPerSessionAndRestartsAfterExit(t *testing.T) {
	var started []*fakeBackend
	r := NewRegistry(func(_ context.Context, id string) (Backend, error) {
		if id == "broken" {
			return nil, errors.New("no shell today")
		}
		b := newFakeBackend()
		started = append(started, b)
		return b, nil
	}, Options{})
	a1, err := r.Get(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := r.Get(context.Background(), "a")
	if a1 != a2 || len(started) != 1 {
		t.Fatalf("second Get started another shell (%d started)", len(started))
	}
	started[0].exit(0)
	<-a1.Done()
	a3, _ := r.Get(context.Background(), "a")
	if a3 == a1 || len(started) != 2 {
		t.Errorf("Get after exit did not start a fresh shell")
	}
	if _, err := r.Get(context.Background(), "broken"); err == nil || !strings.Contains(err.Error(), "no shell today") {
		t.Errorf("Get of a failing start = %v", err)
	}
	r.CloseAll()
	if r.Len() != 0 {
		t.Errorf("%d terminals after CloseAll", r.Len())
	}
}
