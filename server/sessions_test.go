package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
)

type fakeSessions struct {
	learners []string
	err      error
}

func (f *fakeSessions) Start(_ context.Context, learner, scenario string) (keiko.Session, error) {
	f.learners = append(f.learners, learner)
	if f.err != nil {
		return keiko.Session{}, f.err
	}
	return keiko.Session{ID: "abc", Namespace: "keiko-abc", ScenarioID: scenario, ExpiresAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}, nil
}

// fullError is how the sandbox reports a full cluster: a keiko.Error
// wrapping a cause that knows when to retry.
type fullError struct{}

func (fullError) Error() string                 { return "cluster full" }
func (fullError) RetryAfterHint() time.Duration { return 90 * time.Second }

func TestLearnerCookie(t *testing.T) {
	h := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != learnerCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies = %+v, want one HttpOnly SameSite=Lax learner cookie", cookies)
	}

	tests := []struct {
		name     string
		value    string
		wantSame bool
	}{
		{"genuine", cookies[0].Value, true},
		{"edited id", "aaaaaaaaaaaaaaaa" + cookies[0].Value[16:], false},
		{"no signature", cookies[0].Value[:16], false},
		{"garbage", "x.y", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.AddCookie(&http.Cookie{Name: learnerCookie, Value: tt.value})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			reissued := len(rec.Result().Cookies()) > 0
			if reissued == tt.wantSame {
				t.Errorf("reissued = %v, want %v", reissued, !tt.wantSame)
			}
		})
	}
}

func TestStartSession(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		err        error
		wantStatus int
		wantRetry  string
	}{
		{"created", `{"scenario":"kubernetes-basics"}`, nil, http.StatusCreated, ""},
		{"no scenario", `{}`, nil, http.StatusBadRequest, ""},
		{"not json", `scenario`, nil, http.StatusBadRequest, ""},
		{"cluster full", `{"scenario":"s"}`, &keiko.Error{Code: keiko.EUNAVAILABLE, Message: "All 100 lab environments are in use.", Err: fullError{}}, http.StatusServiceUnavailable, "90"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSessions{err: tt.err}
			h := New(Config{Sessions: f}).Handler()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/sessions", strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if tt.wantStatus != http.StatusCreated {
				return
			}
			var got sessionResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID != "abc" || got.Namespace != "keiko-abc" {
				t.Errorf("body = %s (%v)", rec.Body, err)
			}
			if len(f.learners) != 1 || !learnerIDPattern(f.learners[0]) {
				t.Errorf("session started for learner %v, want the cookie's id", f.learners)
			}
		})
	}
}
