package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiko-lab/keiko/scenarios"
)

// syncBuffer is a bytes.Buffer safe for serve's concurrent progress lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeAPIServer answers /readyz with the status readyz returns.
func fakeAPIServer(t *testing.T, status int) (kubeconfig string) {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ts.Close)
	kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {token: t}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, ts.URL)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// waitFor polls out until re matches, returning the first submatch.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[len(m)-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s", re, out.String())
	return ""
}

// startServe runs runServe in the background and returns its URL, its
// output, and a channel with its result.
func startServe(t *testing.T, ctx context.Context, o serveOptions) (string, *syncBuffer, <-chan error) {
	t.Helper()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, o, out) }()
	return waitFor(t, out, regexp.MustCompile(`Keiko is starting on (http://\S+)`)), out, done
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeWithKubeconfig(t *testing.T) {
	tests := []struct {
		name       string
		apiStatus  int
		wantReadyz int
	}{
		{"cluster not ready", http.StatusInternalServerError, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			// A broken scenario of the operator's must not stop the server.
			mine := t.TempDir()
			write(t, mine, map[string]string{"broken/scenario.yaml": "id: broken\ntitle: [oops\n"})
			o := serveOptions{
				addr:       "127.0.0.1:0",
				dataDir:    dataDir,
				kubeconfig: fakeAPIServer(t, tt.apiStatus),
				logFormat:  "text",
				logLevel:   "error",
				scenarios:  []string{mine},
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			url, out, done := startServe(t, ctx, o)
			if status, body := httpGet(t, url+"/healthz"); status != http.StatusOK {
				t.Errorf("GET /healthz = %d %q, want 200", status, body)
			}
			if status, body := httpGet(t, url+"/readyz"); status != tt.wantReadyz {
				t.Errorf("GET /readyz = %d %q, want %d", status, body, tt.wantReadyz)
			}
			broken := filepath.Join(mine, "broken", "scenario.yaml") + ":2:"
			if status, body := httpGet(t, url+"/api/scenarios"); status != http.StatusOK ||
				!strings.Contains(body, `"id":"kubernetes-basics"`) || !strings.Contains(body, `"broken":true`) || !strings.Contains(body, broken) {
				t.Errorf("GET /api/scenarios = %d %s; want kubernetes-basics, and broken with %q", status, body, broken)
			}
			if want := fmt.Sprintf("scenarios: %d loaded, 1 with errors", len(scenarios.LoadAll(scenarios.Builtin()).Entries)); !strings.Contains(out.String(), want) || !strings.Contains(out.String(), broken) {
				t.Errorf("output does not report the broken scenario:\n%s", out.String())
			}

			fi, err := os.Stat(dataDir)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o700 {
				t.Errorf("data dir mode = %v, want 0700", got)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "keiko.db")); err != nil {
				t.Errorf("database not created: %v", err)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runServe() = %v, want nil after cancel", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("runServe did not return after cancel")
			}
			if !strings.Contains(out.String(), "Keiko stopped.") {
				t.Errorf("output lacks the stop line:\n%s", out.String())
			}
		})
	}
}

func TestServeRejectsBadOptions(t *testing.T) {
	base := serveOptions{addr: "127.0.0.1:0", logFormat: "text", logLevel: "info"}
	tests := []struct {
		name    string
		modify  func(o *serveOptions)
		wantErr string
	}{
		{"log format", func(o *serveOptions) { o.logFormat = "xml" }, `invalid --log-format "xml"`},
		{"log level", func(o *serveOptions) { o.logLevel = "loud" }, `invalid --log-level "loud"`},
		{"kubeconfig", func(o *serveOptions) { o.kubeconfig = "/nonexistent/kubeconfig" }, "load --kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			o.dataDir = t.TempDir()
			tt.modify(&o)
			err := runServe(context.Background(), o, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("runServe() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}
