package terminal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Backend is a running shell: a pty on this machine, or an exec stream into
// a pod.
type Backend interface {
	io.Reader // output; an error means the shell has gone
	io.Writer // input
	Resize(cols, rows uint16) error
	// Close ends the shell and everything it started.
	Close() error
	// Wait returns the shell's exit code once Read has failed.
	Wait() int
}

// Conn is one client connection carrying binary frames, such as a
// WebSocket. ReadMessage is called from one goroutine, WriteMessage from
// one at a time. Close is called once, when the attachment ends, with why:
// nil (the client went away), ErrExited, an error wrapping ErrProtocol, or
// the context's error; the transport picks its close code from it.
type Conn interface {
	ReadMessage() ([]byte, error)
	WriteMessage([]byte) error
	Close(reason error) error
}

// Options tune a Terminal; zero values take the defaults.
type Options struct {
	// ReplaySize is how much recent output is kept for reconnecting
	// clients; default 256 KiB.
	ReplaySize int
	// HighWater is how much output a client that acknowledges output may
	// have unacknowledged before the shell is paused; default 128 KiB.
	HighWater int
}

// Terminal is one shell shared by any number of clients. All writable
// clients see the same output and may all type, as in a shared tmux
// session; read-only clients (an instructor's mirror) only watch.
type Terminal struct {
	b    Backend
	opts Options

	mu      sync.Mutex
	cond    *sync.Cond // any change below
	ring    ring
	clients map[*client]struct{}
	exited  bool
	code    int
	done    chan struct{}
}

type client struct {
	readOnly bool
	sent     int64 // offset of the next byte to send
	acked    int64 // offset the client has processed, if it acknowledges
	acking   bool
	paused   bool
	closed   bool
	// A sender goroutine runs only while the client has output to catch
	// up on, so an idle terminal holds no goroutine for it.
	sending bool
	senders sync.WaitGroup
	w       *serialWriter
	end     func(error)
}

// Errors Attach returns, for the transport to turn into close reasons.
var (
	ErrExited   = errors.New("shell exited")
	ErrProtocol = errors.New("protocol error")
)

// readBuffer is the size of one read from the shell. A pty hands over at
// most about 4 KiB per read, and every idle shell holds this buffer while
// it waits, so it is small; throughput comes from sendChunk.
const readBuffer = 4 << 10

// sendChunk is the most output one frame carries: the sender coalesces
// what several reads left in the ring, so a flood costs few frames. The
// buffers are pooled, so idle clients hold none.
const sendChunk = 32 << 10

var sendBuffers = sync.Pool{New: func() any { b := make([]byte, 1+sendChunk); return &b }}

// New starts reading b's output and returns the Terminal.
func New(b Backend, opts Options) *Terminal {
	if opts.ReplaySize <= 0 {
		opts.ReplaySize = 256 << 10
	}
	if opts.HighWater <= 0 {
		opts.HighWater = 128 << 10
	}
	t := &Terminal{b: b, opts: opts, ring: ring{max: opts.ReplaySize}, clients: map[*client]struct{}{}, done: make(chan struct{})}
	t.cond = sync.NewCond(&t.mu)
	go t.pump()
	return t
}

// Done is closed when the shell has exited.
func (t *Terminal) Done() <-chan struct{} { return t.done }

// Close ends the shell.
func (t *Terminal) Close() error { return t.b.Close() }

// Clients is the number of attached clients.
func (t *Terminal) Clients() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.clients)
}

func (t *Terminal) pump() {
	buf := make([]byte, readBuffer)
	for {
		t.mu.Lock()
		for t.blocked() {
			t.cond.Wait()
		}
		t.mu.Unlock()
		n, err := t.b.Read(buf)
		if n > 0 {
			t.mu.Lock()
			t.ring.write(buf[:n])
			t.kickAll()
			t.mu.Unlock()
		}
		if err != nil {
			code := t.b.Wait()
			t.mu.Lock()
			t.exited, t.code = true, code
			t.kickAll()
			t.mu.Unlock()
			close(t.done)
			return
		}
	}
}

// blocked reports whether the shell must not be read now: a writable
// client has paused, has too much output unacknowledged, or is so far
// behind that more output would push bytes it has not been sent out of the
// replay buffer. Read-only clients never hold the shell back; they skip
// ahead if they fall behind.
func (t *Terminal) blocked() bool {
	for c := range t.clients {
		switch {
		case c.readOnly || c.closed:
		case c.paused,
			t.ring.end-c.sent > int64(t.ring.max-readBuffer),
			c.acking && t.ring.end-c.acked > int64(t.opts.HighWater):
			return true
		}
	}
	return false
}

// Attach serves one client until it disconnects, the shell exits, or ctx
// ends. The client receives output from offset on: its last offset when
// reconnecting, or a negative number for everything still held. It returns
// why the attachment ended, as passed to conn.Close.
func (t *Terminal) Attach(ctx context.Context, conn Conn, offset int64, readOnly bool) error {
	c := &client{readOnly: readOnly, w: &serialWriter{conn: conn}}
	var (
		once   sync.Once
		reason error
	)
	c.end = func(why error) {
		once.Do(func() {
			reason = why
			t.mu.Lock()
			c.closed = true
			delete(t.clients, c)
			t.cond.Broadcast()
			t.mu.Unlock()
			if errors.Is(why, ErrProtocol) {
				_ = c.w.write(control(MsgError, map[string]string{"message": why.Error()}))
			}
			_ = conn.Close(why)
		})
	}
	t.mu.Lock()
	c.sent = min(max(offset, t.ring.start), t.ring.end)
	c.acked = c.sent
	hello := Hello{Offset: c.sent, ReadOnly: readOnly}
	// Marked as sending while the hello is written, outside the lock, so
	// that no output overtakes it.
	c.sending = true
	t.clients[c] = struct{}{}
	t.mu.Unlock()
	if err := c.w.write(control(MsgHello, hello)); err != nil {
		c.end(nil)
		return nil
	}
	t.mu.Lock()
	c.sending = false
	t.kick(c)
	t.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { c.end(ctx.Err()) })
	defer stop()
	c.end(t.receive(c, conn))
	c.senders.Wait()
	return reason
}

// kickAll starts a sender for every client with output to catch up on.
// t.mu is held.
func (t *Terminal) kickAll() {
	for c := range t.clients {
		t.kick(c)
	}
}

// kick starts c's sender if it has something to send and none is running.
// t.mu is held.
func (t *Terminal) kick(c *client) {
	if c.sending || c.closed || c.paused || !t.exited && c.sent == t.ring.end {
		return
	}
	c.sending = true
	c.senders.Add(1)
	go func() {
		defer c.senders.Done()
		if err := t.send(c); err != nil {
			c.end(err)
		}
	}()
}

// serialWriter keeps the sender's output and a final error message from
// being written at once.
type serialWriter struct {
	mu   sync.Mutex
	conn Conn
}

func (w *serialWriter) write(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn.WriteMessage(p)
}

// send writes output to c until it has caught up, then returns; after the
// last output of an exited shell it writes the exit status and returns
// ErrExited. c.sending is set on entry and cleared on return.
func (t *Terminal) send(c *client) error {
	for {
		t.mu.Lock()
		if c.closed || c.paused || !t.exited && c.sent == t.ring.end {
			c.sending = false
			t.mu.Unlock()
			return nil
		}
		if c.sent < t.ring.start {
			gap := map[string]int64{"from": c.sent, "to": t.ring.start}
			c.sent = t.ring.start
			t.mu.Unlock()
			if err := c.w.write(control(MsgGap, gap)); err != nil {
				return nil
			}
			continue
		}
		if c.sent == t.ring.end { // and so the shell has exited
			code := t.code
			c.sending = false
			t.mu.Unlock()
			_ = c.w.write(control(MsgExit, map[string]int{"code": code}))
			return ErrExited
		}
		bp := sendBuffers.Get().(*[]byte)
		buf := *bp
		buf[0] = MsgOutput
		n := t.ring.read(c.sent, buf[1:])
		// Counted as sent once copied out, not once written: an ack for
		// these bytes may arrive before the write returns.
		c.sent += int64(n)
		t.cond.Broadcast() // the pump may be waiting for this client to catch up
		t.mu.Unlock()
		err := c.w.write(buf[:1+n])
		sendBuffers.Put(bp)
		if err != nil {
			t.mu.Lock()
			c.sending = false
			t.mu.Unlock()
			return nil // the client went away; receive sees it too
		}
	}
}

// receive handles c's frames until the connection fails or a frame is bad.
func (t *Terminal) receive(c *client, conn Conn) error {
	for {
		frame, err := conn.ReadMessage()
		if err != nil {
			return nil // the client went away, or end closed the connection
		}
		m, err := Decode(frame)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		switch m.Type {
		case MsgInput:
			if c.readOnly || len(m.Input) == 0 {
				continue
			}
			if _, err := t.b.Write(m.Input); err != nil {
				return nil // the shell has gone; send reports the exit
			}
		case MsgResize:
			if !c.readOnly {
				_ = t.b.Resize(m.Size.Cols, m.Size.Rows) // a shell that has gone cannot be resized, nor needs to be
			}
		case MsgPause, MsgResume, MsgAck:
			t.mu.Lock()
			switch m.Type {
			case MsgPause:
				c.paused = true
			case MsgResume:
				c.paused = false
				t.kick(c)
			case MsgAck:
				c.acking = true
				c.acked = min(m.Ack, c.sent)
			}
			t.cond.Broadcast()
			t.mu.Unlock()
		}
	}
}
