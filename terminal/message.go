// Package terminal joins browser connections to a shell: the wire protocol,
// a replay buffer keyed by byte offset, flow control, and sharing one shell
// among several clients. It knows nothing of HTTP or of how the shell runs.
package terminal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Message types. Every frame is binary; its first byte is the type. The
// protocol is documented in docs/terminal-protocol.md.
const (
	// Client to server.
	MsgInput  byte = '0' // input bytes for the shell
	MsgResize byte = '1' // JSON {"cols":N,"rows":N}
	MsgPause  byte = '2' // stop sending output
	MsgResume byte = '3' // send output again
	MsgAck    byte = '4' // ASCII decimal: output bytes processed so far (an absolute offset)

	// Server to client.
	MsgOutput byte = '0' // output bytes
	MsgHello  byte = '1' // JSON Hello: where the output that follows starts
	MsgExit   byte = '2' // JSON {"code":N}: the shell has exited
	MsgError  byte = '3' // JSON {"message":"..."}: a problem the client should show
	MsgGap    byte = '4' // JSON {"from":N,"to":N}: output lost to this client (a mirror fell behind)
)

// Limits on what clients may send.
const (
	MaxCols = 1000
	MaxRows = 1000
)

// Hello is the first message a client receives.
type Hello struct {
	// Offset is the absolute position of the first output byte that
	// follows; a reconnecting client that asked for an earlier offset
	// learns here how much was lost.
	Offset   int64 `json:"offset"`
	ReadOnly bool  `json:"readOnly"`
}

// Size is a terminal size in character cells.
type Size struct {
	Cols uint16 `json:"cols"`
	Rows uint16 `json:"rows"`
}

// Message is a decoded client frame.
type Message struct {
	Type  byte
	Input []byte // MsgInput; aliases the frame
	Size  Size   // MsgResize
	Ack   int64  // MsgAck
}

// ErrEmptyFrame is returned for a frame with no type byte.
var ErrEmptyFrame = errors.New("empty frame")

// Decode parses one client frame. It never panics, whatever the bytes.
func Decode(frame []byte) (Message, error) {
	if len(frame) == 0 {
		return Message{}, ErrEmptyFrame
	}
	m := Message{Type: frame[0]}
	body := frame[1:]
	switch m.Type {
	case MsgInput:
		m.Input = body
	case MsgResize:
		var s struct {
			Cols *int `json:"cols"`
			Rows *int `json:"rows"`
		}
		if err := json.Unmarshal(body, &s); err != nil {
			return Message{}, fmt.Errorf("resize: %w", err)
		}
		if s.Cols == nil || s.Rows == nil {
			return Message{}, errors.New("resize: cols and rows are required")
		}
		if *s.Cols < 1 || *s.Cols > MaxCols || *s.Rows < 1 || *s.Rows > MaxRows {
			return Message{}, fmt.Errorf("resize: %dx%d is outside 1x1 to %dx%d", *s.Cols, *s.Rows, MaxCols, MaxRows)
		}
		m.Size = Size{Cols: uint16(*s.Cols), Rows: uint16(*s.Rows)}
	case MsgPause, MsgResume:
		if len(body) != 0 {
			return Message{}, fmt.Errorf("message %q takes no body", m.Type)
		}
	case MsgAck:
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil || n < 0 {
			return Message{}, fmt.Errorf("ack: %q is not a byte offset", body)
		}
		m.Ack = n
	default:
		return Message{}, fmt.Errorf("unknown message type %q", m.Type)
	}
	return m, nil
}

// control encodes a server control message with a JSON body.
func control(t byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("terminal: encode %T: %v", v, err)) // only our own types get here
	}
	return append([]byte{t}, b...)
}
