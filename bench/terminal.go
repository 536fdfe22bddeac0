package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// TerminalOptions size a terminal benchmark against a running server.
type TerminalOptions struct {
	URL       string // the server, http://host:port
	ServerPID int    // for its memory; 0 to leave memory out
	// TTYD says the server is ttyd, whose protocol Keiko's is modelled on,
	// so that the same client measures both side by side.
	TTYD     bool
	Idle     int // terminals to hold open while measuring echo latency
	Echoes   int // keystrokes to time
	SeqN     int // `seq 1 N` for throughput
	Progress io.Writer
}

// DefaultTerminalOptions are the figures recorded in docs/benchmarks.md.
func DefaultTerminalOptions() TerminalOptions {
	return TerminalOptions{Idle: 200, Echoes: 2000, SeqN: 3000000, Progress: io.Discard}
}

// TerminalReport is what one run measured.
type TerminalReport struct {
	SeqBytes    int64
	SeqDuration time.Duration
	Echo        Latencies
	Idle        int
	// Server resident memory in kB: with no terminal, with one, and with
	// Idle open.
	RSSBase, RSSOne, RSSIdle int64
}

// MBps is the throughput of the seq run in MB/s (10^6 bytes).
func (r *TerminalReport) MBps() float64 {
	return float64(r.SeqBytes) / 1e6 / r.SeqDuration.Seconds()
}

// Terminal measures throughput, keystroke echo latency and memory through
// the server's real terminal WebSocket.
func Terminal(ctx context.Context, opts TerminalOptions) (*TerminalReport, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	r := &TerminalReport{Idle: opts.Idle}
	var err error
	if r.RSSBase, err = rss(opts.ServerPID); err != nil {
		return nil, err
	}

	fmt.Fprintf(opts.Progress, "opening 1 terminal…\n")
	first, err := openTerminal(opts, "bench-0")
	if err != nil {
		return nil, err
	}
	defer first.Close()
	time.Sleep(time.Second) // let the server settle before reading its memory
	if r.RSSOne, err = rss(opts.ServerPID); err != nil {
		return nil, err
	}

	fmt.Fprintf(opts.Progress, "running seq 1 %d…\n", opts.SeqN)
	start := time.Now()
	n, err := first.runUntil(fmt.Sprintf("seq 1 %d; echo __E''ND__\r", opts.SeqN), "__END__")
	if err != nil {
		return nil, fmt.Errorf("seq: %w", err)
	}
	r.SeqDuration, r.SeqBytes = time.Since(start), n

	fmt.Fprintf(opts.Progress, "opening %d idle terminals…\n", opts.Idle-1)
	for i := 1; i < opts.Idle; i++ {
		c, err := openTerminal(opts, "bench-"+strconv.Itoa(i))
		if err != nil {
			return nil, fmt.Errorf("terminal %d: %w", i, err)
		}
		defer c.Close()
	}
	time.Sleep(time.Second)
	if r.RSSIdle, err = rss(opts.ServerPID); err != nil {
		return nil, err
	}

	fmt.Fprintf(opts.Progress, "timing %d keystroke echoes with %d terminals open…\n", opts.Echoes, opts.Idle)
	var ds []time.Duration
	for i := range opts.Echoes {
		key := "x"
		if i%2 == 1 {
			key = "\x7f" // backspace, so the line does not grow
		}
		t0 := time.Now()
		if err := first.echo(key); err != nil {
			return nil, fmt.Errorf("echo: %w", err)
		}
		ds = append(ds, time.Since(t0))
	}
	r.Echo = summarize(ds)
	return r, nil
}

type termClient struct {
	ws  *websocket.Conn
	buf []byte // reused for every frame, so the client's own garbage does not slow the run
}

func openTerminal(opts TerminalOptions, id string) (*termClient, error) {
	base := "ws" + strings.TrimPrefix(opts.URL, "http")
	url, dialer := base+"/api/sessions/"+id+"/terminal", websocket.Dialer{}
	if opts.TTYD {
		url, dialer.Subprotocols = base+"/ws", []string{"tty"}
	}
	ws, _, err := dialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	if opts.TTYD { // ttyd starts the shell on this first message
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"AuthToken":"","columns":80,"rows":24}`)); err != nil {
			ws.Close()
			return nil, err
		}
	}
	c := &termClient{ws: ws, buf: make([]byte, 64<<10)}
	if _, err := c.readUntil("$ "); err != nil { // hello, then the prompt
		ws.Close()
		return nil, fmt.Errorf("no prompt: %w", err)
	}
	return c, nil
}

func (c *termClient) Close() { c.ws.Close() }

// readUntil reads output until marker appears and returns the bytes read.
func (c *termClient) readUntil(marker string) (int64, error) {
	var n int64
	var tail []byte
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for {
		f, err := c.next()
		if err != nil {
			return n, err
		}
		if len(f) == 0 || f[0] != '0' {
			continue
		}
		n += int64(len(f) - 1)
		tail = append(tail, f[1:]...)
		if bytes.Contains(tail, []byte(marker)) {
			return n, nil
		}
		if len(tail) > 64 {
			tail = tail[len(tail)-64:]
		}
	}
}

func (c *termClient) runUntil(cmd, marker string) (int64, error) {
	if err := c.ws.WriteMessage(websocket.BinaryMessage, append([]byte("0"), cmd...)); err != nil {
		return 0, err
	}
	return c.readUntil(marker)
}

// echo types key and waits for the shell's next output: its echo.
func (c *termClient) echo(key string) error {
	if err := c.ws.WriteMessage(websocket.BinaryMessage, append([]byte("0"), key...)); err != nil {
		return err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := c.next()
		if err != nil {
			return err
		}
		if len(f) > 1 && f[0] == '0' {
			return nil
		}
	}
}

// next reads one frame into the client's buffer.
func (c *termClient) next() ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	n := 0
	for {
		m, err := r.Read(c.buf[n:])
		n += m
		if err == io.EOF {
			return c.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
		if n == len(c.buf) {
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
	}
}

// rss is a process's resident memory in kB, or 0 for pid 0.
func rss(pid int) (int64, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("server memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
