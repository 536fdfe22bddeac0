package terminal

import (
	"bytes"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		want    Message
		wantErr string
	}{
		{name: "input", frame: "0ls -l\r", want: Message{Type: MsgInput, Input: []byte("ls -l\r")}},
		{name: "empty input", frame: "0", want: Message{Type: MsgInput, Input: []byte{}}},
		{name: "resize", frame: `1{"cols":120,"rows":40}`, want: Message{Type: MsgResize, Size: Size{120, 40}}},
		{name: "pause", frame: "2", want: Message{Type: MsgPause}},
		{name: "resume", frame: "3", want: Message{Type: MsgResume}},
		{name: "ack", frame: "4123456", want: Message{Type: MsgAck, Ack: 123456}},
		{name: "empty", frame: "", wantErr: "empty frame"},
		{name: "unknown type", frame: "9x", wantErr: "unknown message type"},
		{name: "resize not json", frame: "1{cols:1}", wantErr: "resize"},
		{name: "resize missing rows", frame: `1{"cols":80}`, wantErr: "cols and rows are required"},
		{name: "resize zero", frame: `1{"cols":0,"rows":24}`, wantErr: "outside"},
		{name: "resize huge", frame: `1{"cols":80,"rows":100000}`, wantErr: "outside"},
		{name: "resize negative", frame: `1{"cols":-1,"rows":24}`, wantErr: "outside"},
		{name: "pause with body", frame: "2x", wantErr: "takes no body"},
		{name: "ack not a number", frame: "4abc", wantErr: "not a byte offset"},
		{name: "ack negative", frame: "4-5", wantErr: "not a byte offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.frame))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode(%q) error = %v, want %q", tt.frame, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || !bytes.Equal(got.Input, tt.want.Input) || got.Size != tt.want.Size || got.Ack != tt.want.Ack {
				t.Errorf("Decode(%q) = %+v, want %+v", tt.frame, got, tt.want)
			}
		})
	}
}

// FuzzDecode checks the decoder never panics and that whatever it accepts
// is within the documented limits.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"0hello", `1{"cols":80,"rows":24}`, "2", "3", "442", "", "9", `1{"cols":1e9,"rows":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			return
		}
		if m.Type == MsgResize && (m.Size.Cols < 1 || m.Size.Cols > MaxCols || m.Size.Rows < 1 || m.Size.Rows > MaxRows) {
			t.Errorf("accepted resize %+v", m.Size)
		}
		if m.Type == MsgAck && m.Ack < 0 {
			t.Errorf("accepted negative ack %d", m.Ack)
		}
	})
}
