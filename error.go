// Package keiko holds Keiko's domain types: scenarios, steps, learners,
// sessions and progress, plus the error codes every layer shares.
//
// It imports only the standard library so that the adapters (server, store,
// sandbox) can all depend on it without depending on each other.
package keiko

import (
	"errors"
	"fmt"
)

// Error codes. They are few on purpose: each maps to one HTTP status in the
// server's error table, and callers branch on the code, not on the message.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	// EUNAVAILABLE means "try again later": capacity is full or the cluster
	// is not ready yet. It is the learner's problem to wait, not a bug.
	EUNAVAILABLE = "unavailable"
	EINTERNAL    = "internal"
)

// Error is an application error. Its Message is safe to show to a learner;
// Err holds the underlying cause, which is only ever logged.
type Error struct {
	Code    string // one of the E* constants
	Message string // human-readable, shown to users
	Op      string // optional: the operation that failed, e.g. "store.Open"
	Err     error  // optional: the underlying cause
}

// Error implements the error interface for operators and logs; users see
// ErrorMessage instead.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause so errors.Is and errors.As see through an Error.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain. Any other
// non-nil error is EINTERNAL, because an error nobody classified is a bug.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's
// chain. Other errors may carry paths or SQL, so users get a generic message.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Internal error."
}

// Errorf returns an *Error with the given code and formatted message. Note
// that %w is not honoured: wrap a cause by setting Err instead.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
