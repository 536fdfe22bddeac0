package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantCode    string
		wantMessage string
		wantLogged  bool
	}{
		{"invalid", keiko.Errorf(keiko.EINVALID, "title is required"), http.StatusBadRequest, "invalid", "title is required", false},
		{"not found", keiko.Errorf(keiko.ENOTFOUND, "no scenario %q", "x"), http.StatusNotFound, "not_found", `no scenario "x"`, false},
		{"conflict", keiko.Errorf(keiko.ECONFLICT, "session already started"), http.StatusConflict, "conflict", "session already started", false},
		{"unauthorized", keiko.Errorf(keiko.EUNAUTHORIZED, "sign in first"), http.StatusUnauthorized, "unauthorized", "sign in first", false},
		{"unavailable", keiko.Errorf(keiko.EUNAVAILABLE, "all sandboxes are busy"), http.StatusServiceUnavailable, "unavailable", "all sandboxes are busy", false},
		{"internal", keiko.Errorf(keiko.EINTERNAL, "something broke"), http.StatusInternalServerError, "internal", "something broke", true},
		{"wrapped", fmt.Errorf("start session: %w", keiko.Errorf(keiko.ECONFLICT, "busy")), http.StatusConflict, "conflict", "busy", false},
		// A plain error may hold paths or SQL: users get a generic message.
		{"plain error", errors.New("open /secret/keiko.db: permission denied"), http.StatusInternalServerError, "internal", "Internal error.", true},
		{"unknown code", keiko.Errorf("bogus", "x"), http.StatusInternalServerError, "bogus", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
			rec := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(rec)
			c.Request = httptest.NewRequest(http.MethodGet, "/api/x", nil)

			s.writeError(c, tt.err)

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			var got errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %q: %v", rec.Body.String(), err)
			}
			if got.Error.Code != tt.wantCode || got.Error.Message != tt.wantMessage {
				t.Errorf("body = %+v, want code %q message %q", got.Error, tt.wantCode, tt.wantMessage)
			}
			if gotLogged := strings.Contains(logs.String(), "internal error"); gotLogged != tt.wantLogged {
				t.Errorf("logged = %v, want %v (log %q)", gotLogged, tt.wantLogged, logs.String())
			}
		})
	}
}

func TestErrorTableCoversEveryCode(t *testing.T) {
	codes := []string{keiko.EINVALID, keiko.ENOTFOUND, keiko.ECONFLICT, keiko.EUNAUTHORIZED, keiko.EUNAVAILABLE, keiko.EINTERNAL}
	for _, code := range codes {
		if _, ok := statusOf[code]; !ok {
			t.Errorf("statusOf has no entry for %q", code)
		}
	}
	if got, want := len(statusOf), len(codes); got != want {
		t.Errorf("len(statusOf) = %d, want %d", got, want)
	}
}

func TestRecoverPanics(t *testing.T) {
	var logs bytes.Buffer
	s := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.engine.GET("/api/panic", func(*gin.Context) { panic("boom") })
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/panic", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("body %q leaks the panic value", rec.Body.String())
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Errorf("log %q does not record the panic", logs.String())
	}
}
