package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keiko-lab/keiko/server"
)

// fakeProbe answers Ready with a fixed error.
type fakeProbe struct{ err error }

func (p fakeProbe) Ready(context.Context) error { return p.err }

// get performs a GET against a real HTTP server wrapping s.Handler(), so the
// tests exercise the same transport Keiko uses.
func get(t *testing.T, s *server.Server, path string, header http.Header) (status int, body string, h http.Header) {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestHealthz(t *testing.T) {
	// Health must not depend on the cluster: a restart can't fix a cluster.
	s := server.New(server.Config{Probe: fakeProbe{errors.New("down")}})
	status, body, _ := get(t, s, "/healthz", nil)
	if status != http.StatusOK || body != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 %q", status, body, "ok")
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		probe      server.ClusterProbe
		wantStatus int
		wantBody   string
	}{
		{"ready", fakeProbe{}, http.StatusOK, "ok"},
		{"not ready", fakeProbe{errors.New("connection refused")}, http.StatusServiceUnavailable, "cluster not ready: connection refused"},
		{"no probe", nil, http.StatusServiceUnavailable, "cluster not ready: no cluster configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server.New(server.Config{Probe: tt.probe})
			status, body, _ := get(t, s, "/readyz", nil)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("GET /readyz = %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestReadyzTimesOut(t *testing.T) {
	// A probe that honours its context must see a deadline, or a hung
	// apiserver would hang /readyz too.
	var sawDeadline bool
	probe := probeFunc(func(ctx context.Context) error {
		_, sawDeadline = ctx.Deadline()
		return nil
	})
	s := server.New(server.Config{Probe: probe})
	if status, _, _ := get(t, s, "/readyz", nil); status != http.StatusOK {
		t.Fatalf("GET /readyz = %d, want 200", status)
	}
	if !sawDeadline {
		t.Errorf("probe context has no deadline, want one")
	}
}

type probeFunc func(context.Context) error

func (f probeFunc) Ready(ctx context.Context) error { return f(ctx) }

func TestIndex(t *testing.T) {
	tests := []struct {
		name           string
		path           string
		acceptLanguage string
		bearer         string
		probe          server.ClusterProbe
		want           []string
		wantNot        []string
	}{
		{
			name:  "english by default, ready",
			path:  "/",
			probe: fakeProbe{},
			want:  []string{`<html lang="en">`, "稽古", "Cluster", "ready", "Scenarios"},
			// The admin kubeconfig's path is for the admin, not learners.
			wantNot: []string{"starting…", `http-equiv="refresh"`, "/data/admin.kubeconfig"},
		},
		{
			name:   "the admin sees the admin kubeconfig",
			path:   "/",
			probe:  fakeProbe{},
			bearer: "admin-password-1",
			want:   []string{"/data/admin.kubeconfig"},
		},
		{
			name:  "english, starting",
			path:  "/",
			probe: fakeProbe{errors.New("dial tcp: connection refused")},
			want:  []string{"starting…", `http-equiv="refresh"`},
			// The probe's error may name internal addresses: keep it off the page.
			wantNot: []string{"connection refused"},
		},
		{
			name:           "japanese from Accept-Language",
			path:           "/",
			acceptLanguage: "ja",
			probe:          fakeProbe{},
			want:           []string{`<html lang="ja">`, "クラスター", "準備完了", "シナリオ"},
		},
		{
			name:           "japanese with region and q-values",
			path:           "/",
			acceptLanguage: "fr;q=0.9, ja-JP;q=0.8, en;q=0.5",
			probe:          fakeProbe{errors.New("starting")},
			want:           []string{`<html lang="ja">`, "起動中…"},
		},
		{
			name:           "query overrides header",
			path:           "/?lang=en",
			acceptLanguage: "ja",
			probe:          fakeProbe{},
			want:           []string{`<html lang="en">`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := server.New(server.Config{Probe: tt.probe, Kubeconfig: "/data/admin.kubeconfig", Auth: server.Passwords{Admin: "admin-password-1"}})
			h := http.Header{}
			if tt.bearer != "" {
				h.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.acceptLanguage != "" {
				h.Set("Accept-Language", tt.acceptLanguage)
			}
			status, body, header := get(t, s, tt.path, h)
			if status != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tt.path, status)
			}
			if got := header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html; charset=utf-8", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body does not contain %q", w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("body contains %q, want it absent", w)
				}
			}
		})
	}
}

func TestIndexHidesEmptyKubeconfig(t *testing.T) {
	// In-cluster mode has no admin kubeconfig file to show.
	s := server.New(server.Config{Probe: fakeProbe{}})
	_, body, _ := get(t, s, "/", nil)
	if strings.Contains(body, "Admin kubeconfig") {
		t.Errorf("body shows the kubeconfig row with no kubeconfig configured")
	}
}

func TestStatic(t *testing.T) {
	tests := []struct {
		path       string
		wantStatus int
		wantType   string
	}{
		{"/static/keiko.css", http.StatusOK, "text/css; charset=utf-8"},
		{"/static/favicon.svg", http.StatusOK, "image/svg+xml"},
		{"/static/missing.css", http.StatusNotFound, ""},
		{"/static/", http.StatusNotFound, ""},
	}
	s := server.New(server.Config{Probe: fakeProbe{}})
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, _, h := get(t, s, tt.path, nil)
			if status != tt.wantStatus {
				t.Errorf("GET %s = %d, want %d", tt.path, status, tt.wantStatus)
			}
			if tt.wantType != "" && h.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", h.Get("Content-Type"), tt.wantType)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantJSON bool
	}{
		{"unknown api route", "/api/v1/nope", true},
		{"api root", "/api", true},
		{"unknown page", "/nope", false},
		{"api lookalike", "/apiary", false},
	}
	s := server.New(server.Config{Probe: fakeProbe{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, h := get(t, s, tt.path, nil)
			if status != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", tt.path, status)
			}
			gotJSON := strings.HasPrefix(h.Get("Content-Type"), "application/json")
			if gotJSON != tt.wantJSON {
				t.Fatalf("JSON response = %v, want %v (Content-Type %q)", gotJSON, tt.wantJSON, h.Get("Content-Type"))
			}
			if !tt.wantJSON {
				return
			}
			var got struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("decode %q: %v", body, err)
			}
			if got.Error.Code != "not_found" || !strings.Contains(got.Error.Message, tt.path) {
				t.Errorf("error = %+v, want code not_found and a message naming %s", got.Error, tt.path)
			}
		})
	}
}

func TestServeAndShutdown(t *testing.T) {
	s := server.New(server.Config{Addr: "127.0.0.1:0", Probe: fakeProbe{}})
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}

	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown() = %v, want nil", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve() after Shutdown = %v, want nil", err)
	}
}
