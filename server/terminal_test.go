package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/terminal"
)

// echoShell is a fake shell that prints back what it is sent, and exits
// when sent "exit".
type echoShell struct {
	r    *io.PipeReader
	w    *io.PipeWriter
	once sync.Once
}

func newEchoShell() *echoShell {
	r, w := io.Pipe()
	return &echoShell{r: r, w: w}
}

func (e *echoShell) Read(p []byte) (int, error) { return e.r.Read(p) }
func (e *echoShell) Write(p []byte) (int, error) {
	if string(p) == "exit" {
		e.Close()
		return len(p), nil
	}
	go e.w.Write(append([]byte(nil), p...))
	return len(p), nil
}
func (e *echoShell) Resize(uint16, uint16) error { return nil }
func (e *echoShell) Close() error                { e.once.Do(func() { e.w.Close() }); return nil }
func (e *echoShell) Wait() int                   { return 7 }

type fakeTerminals map[string]*terminal.Terminal

func (f fakeTerminals) Terminal(_ *http.Request, id string) (*terminal.Terminal, bool, func(), error) {
	t, ok := f[id]
	if !ok {
		return nil, false, nil, keiko.Errorf(keiko.ENOTFOUND, "No session %q.", id)
	}
	return t, false, func() {}, nil
}

func terminalServer(t *testing.T) (*httptest.Server, fakeTerminals) {
	t.Helper()
	terms := fakeTerminals{"s1": terminal.New(newEchoShell(), terminal.Options{})}
	ts := httptest.NewServer(New(Config{Terminals: terms}).Handler())
	t.Cleanup(ts.Close)
	return ts, terms
}

func dial(t *testing.T, ts *httptest.Server, path string, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+path, h)
}

func readFrame(t *testing.T, ws *websocket.Conn) []byte {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return data
}

// closeCode reads until the server closes and returns its close code.
func closeCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Fatalf("connection ended without a close frame: %v", err)
		}
	}
}

func TestTerminalEchoesOverWebSocket(t *testing.T) {
	ts, _ := terminalServer(t)
	ws, _, err := dial(t, ts, "/api/sessions/s1/terminal", ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if f := readFrame(t, ws); f[0] != terminal.MsgHello {
		t.Fatalf("first frame %q, want hello", f)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("0echo hello")); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, ws); string(f) != "0echo hello" {
		t.Errorf("got %q", f)
	}
}

func TestTerminalHandshakeIsRefused(t *testing.T) {
	ts, _ := terminalServer(t)
	tests := []struct {
		name, path, origin string
		want               int
	}{
		{"foreign origin", "/api/sessions/s1/terminal", "https://evil.example", http.StatusUnauthorized},
		{"origin on another port", "/api/sessions/s1/terminal", "http://127.0.0.1:1", http.StatusUnauthorized},
		{"unknown session", "/api/sessions/nope/terminal", ts.URL, http.StatusNotFound},
		{"bad offset", "/api/sessions/s1/terminal?offset=-3", ts.URL, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, resp, err := dial(t, ts, tt.path, tt.origin)
			if err == nil {
				ws.Close()
				t.Fatal("handshake succeeded")
			}
			if resp == nil || resp.StatusCode != tt.want {
				t.Errorf("status = %v, want %d", resp, tt.want)
			}
		})
	}
}

func TestTerminalCloseCodes(t *testing.T) {
	tests := []struct {
		name string
		send func(*websocket.Conn) error
		want int
	}{
		{"oversize frame", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, append([]byte("0"), make([]byte, 65<<10)...))
		}, websocket.CloseMessageTooBig},
		{"unknown message type", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, []byte("9"))
		}, websocket.CloseUnsupportedData},
		{"text frame", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.TextMessage, []byte("0ls"))
		}, websocket.CloseUnsupportedData},
		{"bad resize", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, []byte(`1{"cols":99999,"rows":1}`))
		}, websocket.CloseUnsupportedData},
		{"shell exits", func(ws *websocket.Conn) error {
			return ws.WriteMessage(websocket.BinaryMessage, []byte("0exit"))
		}, closeShellExited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := terminalServer(t)
			ws, _, err := dial(t, ts, "/api/sessions/s1/terminal", "")
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			readFrame(t, ws) // hello
			if err := tt.send(ws); err != nil {
				t.Fatal(err)
			}
			if got := closeCode(t, ws); got != tt.want {
				t.Errorf("close code = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTerminalResumesByOffset(t *testing.T) {
	ts, _ := terminalServer(t)
	ws, _, err := dial(t, ts, "/api/sessions/s1/terminal", "")
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, ws)
	ws.WriteMessage(websocket.BinaryMessage, []byte("0first"))
	readFrame(t, ws)
	ws.WriteMessage(websocket.BinaryMessage, []byte("0second"))
	readFrame(t, ws)
	ws.Close()

	ws, _, err = dial(t, ts, "/api/sessions/s1/terminal?offset=5", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if f := readFrame(t, ws); string(f) != `1{"offset":5,"readOnly":false}` {
		t.Errorf("hello = %q", f)
	}
	if f := readFrame(t, ws); string(f) != "0second" {
		t.Errorf("resumed with %q, want what came after offset 5", f)
	}
}
