package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/terminal"
)

// Terminals finds the terminal of a session for a request. It decides who
// may use it: the session's learner writes, its workshop's instructors
// watch read-only, and anyone else gets keiko.ENOTFOUND, so that the
// existence of other people's sessions does not leak.
//
// release is called when the connection ends, so the session knows when
// no terminal is connected (and may expire as orphaned).
type Terminals interface {
	Terminal(r *http.Request, sessionID string) (t *terminal.Terminal, readOnly bool, release func(), err error)
}

// WebSocket limits. A frame bigger than maxFrame is refused: a paste of
// 64 KiB is already a very large one, and the client splits larger input.
const (
	maxFrame = 64 << 10
	// pingEvery keeps proxies from closing a quiet terminal, and finds dead
	// peers; a peer that has not answered within pongWait is dropped.
	pingEvery = 20 * time.Second
	pongWait  = 60 * time.Second
	// idleTimeout closes a terminal nobody has typed into, resized or
	// acknowledged for this long; the shell itself lives on for a reconnect.
	idleTimeout = 30 * time.Minute
	writeWait   = 10 * time.Second
)

// closeShellExited is the close code, in the 4000-4999 range RFC 6455
// leaves to applications, for a shell that has exited.
const closeShellExited = 4000

var upgrader = websocket.Upgrader{
	ReadBufferSize: 1 << 10, // client frames are keystrokes; big pastes still pass, in several reads
	// Large enough for a whole output frame in one write; pooled, so an
	// idle connection holds none.
	WriteBufferSize: 32<<10 + 16,
	WriteBufferPool: &sync.Pool{},
	// Origin is checked before the upgrade, in sameOrigin.
	CheckOrigin: func(*http.Request) bool { return true },
}

// terminalPage is the data the full-window terminal page reads.
type terminalPage struct {
	base
	URL     string // the terminal WebSocket, as a path
	Warning string // shown above the terminal when set
}

// terminalWarner is a Terminals with something every terminal page must
// say, such as that shells run unjailed.
type terminalWarner interface {
	TerminalWarning() string
}

// handleTerminalPage renders a full-window terminal for a session. Access
// is decided by the WebSocket it opens, not here: the page holds nothing.
func (s *Server) handleTerminalPage(c *gin.Context) {
	page := terminalPage{base: s.base(c), URL: "/api/sessions/" + url.PathEscape(c.Param("id")) + "/terminal"}
	if w, ok := s.cfg.Terminals.(terminalWarner); ok {
		page.Warning = w.TerminalWarning()
	}
	s.render(c, "terminal.html", page)
}

// handleTerminal upgrades to the terminal WebSocket. The query parameter
// offset resumes output after a reconnect.
func (s *Server) handleTerminal(c *gin.Context) {
	r := c.Request
	if !sameOrigin(r) {
		// A page on another site must not drive a learner's shell with
		// the learner's cookies (cross-site WebSocket hijacking).
		s.writeError(c, keiko.Errorf(keiko.EUNAUTHORIZED, "Terminal connections are accepted from Keiko's own pages only."))
		return
	}
	offset := int64(-1)
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.writeError(c, keiko.Errorf(keiko.EINVALID, "offset must be a byte count, not %q.", v))
			return
		}
		offset = n
	}
	if s.cfg.Terminals == nil {
		s.writeError(c, keiko.Errorf(keiko.EUNAVAILABLE, "Terminals are not available on this server."))
		return
	}
	t, readOnly, release, err := s.cfg.Terminals.Terminal(r, c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	ws, err := upgrader.Upgrade(c.Writer, r, nil)
	if err != nil {
		release()
		return // the upgrader has answered
	}
	// The connection is served from a fresh goroutine and the handler
	// returns: its stack grew deep through gin and the upgrade, and an idle
	// terminal would keep it for hours. The server's own context, not the
	// request's, ends it at shutdown.
	conn := newWSConn(ws, s.cfg.Metrics)
	id := c.Param("id")
	go func() {
		defer release()
		reason := t.Attach(s.ctx, conn, offset, readOnly)
		if reason != nil && !errors.Is(reason, terminal.ErrExited) && !errors.Is(reason, terminal.ErrProtocol) {
			s.log.Debug("terminal detached", "session", id, "reason", reason)
		}
	}()
}

// sameOrigin reports whether the request's Origin, if any, is this host.
// Browsers always send Origin on WebSocket handshakes; non-browser clients
// (curl, the benchmark) may omit it and carry no ambient cookies to abuse.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
}

// wsConn adapts a WebSocket to terminal.Conn, adding the limits, the
// keepalive and the close codes.
type wsConn struct {
	ws        *websocket.Conn
	mu        sync.Mutex // gorilla allows one writer at a time; pings are writers too
	pinger    *time.Timer
	closed    bool
	closeOnce sync.Once
	tooBig    bool
	count     func(direction string, n int) // bytes through, for metrics
}

func newWSConn(ws *websocket.Conn, m Metrics) *wsConn {
	c := &wsConn{ws: ws, count: func(string, int) {}}
	if m != nil {
		c.count = m.WebSocketBytes
	}
	ws.SetReadLimit(maxFrame)
	_ = ws.SetReadDeadline(time.Now().Add(pongWait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(pongWait)) })
	// A timer, not a goroutine per connection: two hundred idle
	// terminals should not hold two hundred stacks for a ping.
	c.pinger = time.AfterFunc(pingEvery, c.ping)
	return c
}

func (c *wsConn) ping() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err == nil {
		c.pinger.Reset(pingEvery)
	}
}

func (c *wsConn) ReadMessage() ([]byte, error) {
	kind, data, err := c.ws.ReadMessage()
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			c.tooBig = true
		}
		return nil, err
	}
	// Any frame from the client is a sign of life; pongs extend the
	// deadline only to pongWait, frames to the idle timeout.
	_ = c.ws.SetReadDeadline(time.Now().Add(idleTimeout))
	c.count("in", len(data))
	if kind != websocket.BinaryMessage {
		return []byte{}, nil // decodes as an empty frame: a protocol error
	}
	return data, nil
}

func (c *wsConn) WriteMessage(p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	c.count("out", len(p))
	return c.ws.WriteMessage(websocket.BinaryMessage, p)
}

// Close sends a close frame saying why, then closes the connection.
func (c *wsConn) Close(reason error) error {
	c.closeOnce.Do(func() {
		c.pinger.Stop()
		code, text := websocket.CloseNormalClosure, "closed"
		switch {
		case c.tooBig:
			code, text = websocket.CloseMessageTooBig, "frame larger than 64 KiB"
		case errors.Is(reason, terminal.ErrExited):
			code, text = closeShellExited, "shell exited"
		case errors.Is(reason, terminal.ErrProtocol):
			code, text = websocket.CloseUnsupportedData, truncate(reason.Error(), 120)
		case errors.Is(reason, context.Canceled), errors.Is(reason, context.DeadlineExceeded):
			code, text = websocket.CloseGoingAway, "server shutting down"
		}
		c.mu.Lock()
		c.closed = true
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
		c.mu.Unlock()
		_ = c.ws.Close()
	})
	return nil
}

// truncate keeps close reasons within the 123 bytes a close frame allows.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
