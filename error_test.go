package keiko_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/keiko-lab/keiko"
)

func TestErrorCodeAndMessage(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", ""},
		{"plain error is internal", io.EOF, keiko.EINTERNAL, "Internal error."},
		{"keiko error", keiko.Errorf(keiko.ENOTFOUND, "scenario %q not found", "pods"), keiko.ENOTFOUND, `scenario "pods" not found`},
		{"wrapped keiko error", fmt.Errorf("load: %w", keiko.Errorf(keiko.EINVALID, "bad title")), keiko.EINVALID, "bad title"},
		{"empty code is internal", &keiko.Error{Message: "x"}, keiko.EINTERNAL, "x"},
		{"unavailable", keiko.Errorf(keiko.EUNAVAILABLE, "all sandboxes are busy"), keiko.EUNAVAILABLE, "all sandboxes are busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keiko.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode() = %q, want %q", got, tt.wantCode)
			}
			if got := keiko.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage() = %q, want %q", got, tt.wantMessage)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *keiko.Error
		want string
	}{
		{"code and message", keiko.Errorf(keiko.ECONFLICT, "session exists"), "conflict: session exists"},
		{"with op", &keiko.Error{Code: keiko.EINTERNAL, Message: "db", Op: "store.Open"}, "store.Open: internal: db"},
		{"with cause", &keiko.Error{Code: keiko.EUNAVAILABLE, Message: "cluster not ready", Err: io.ErrUnexpectedEOF}, "unavailable: cluster not ready: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	err := fmt.Errorf("provision: %w", &keiko.Error{Code: keiko.EINTERNAL, Message: "x", Err: io.EOF})
	if got := errors.Is(err, io.EOF); !got {
		t.Errorf("errors.Is(err, io.EOF) = %v, want true", got)
	}
}
