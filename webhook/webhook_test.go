package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// received is one request as the test receiver saw it.
type received struct {
	name   string
	header http.Header
	body   []byte
}

// receiver starts a server that reports every request on the returned
// channel, then answers with respond(n), n counting requests from 0. A
// negative status drops the connection without answering, a network error.
func receiver(t *testing.T, respond func(n int) int) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 100)
	n := 0 // Run sends one request at a time, so no lock is needed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		var v struct{ Event Event }
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("decode body %s: %v", body, err)
		}
		got <- received{name: v.Event.Name, header: r.Header, body: body}
		status := http.StatusOK
		if respond != nil {
			status = respond(n)
		}
		n++
		if status < 0 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// newPoster returns a Poster with test-speed backoff.
func newPoster(t *testing.T, cfg Config) *Poster {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.backoff = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	return p
}

// start runs p until the test ends.
func start(t *testing.T, p *Poster) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		p.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// names reads n requests from got and returns their event names.
func names(t *testing.T, got <-chan received, n int) []string {
	t.Helper()
	var out []string
	for range n {
		select {
		case r := <-got:
			out = append(out, r.name)
		case <-time.After(5 * time.Second):
			t.Fatalf("after %v, timed out waiting for more requests", out)
		}
	}
	return out
}

func TestNewRejectsBadURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr bool
	}{
		{"http://example.com/hook", false},
		{"https://example.com:8443/hook?x=1", false},
		{"", true},
		{"/hook", true},
		{"example.com/hook", true},
		{"ftp://example.com/hook", true},
		{"http://", true},
		{"http://exa mple.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := New(Config{URL: tt.url})
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error: %v", tt.url, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.url) {
				t.Errorf("error %q does not name the URL %q", err, tt.url)
			}
		})
	}
}

func TestBody(t *testing.T) {
	step := 2
	at := time.Date(2025, 3, 4, 14, 5, 6, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{
			name:  "step event in a workshop",
			event: Event{Name: "step.passed", Timestamp: at, Session: "s1", Learner: "l1", Scenario: "pods", Workshop: "w1", Step: &step},
			want:  `{"event":{"name":"step.passed","timestamp":"2025-03-04T13:05:06Z","session":"s1","learner":"l1","scenario":"pods","workshop":"w1","step":2}}`,
		},
		{
			name:  "no step, no workshop",
			event: Event{Name: "session.started", Timestamp: at, Session: "s1", Learner: "l1", Scenario: "pods"},
			want:  `{"event":{"name":"session.started","timestamp":"2025-03-04T13:05:06Z","session":"s1","learner":"l1","scenario":"pods"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := receiver(t, nil)
			p := newPoster(t, Config{URL: srv.URL})
			start(t, p)
			p.Post(tt.event)
			r := <-got
			if string(r.body) != tt.want {
				t.Errorf("body = %s\nwant   %s", r.body, tt.want)
			}
			if got, want := r.header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := r.header.Get("User-Agent"), "keiko"; got != want {
				t.Errorf("User-Agent = %q, want %q", got, want)
			}
			if got := r.header.Get("X-Keiko-Signature"); got != "" {
				t.Errorf("X-Keiko-Signature = %q without a secret, want none", got)
			}
		})
	}
}

func TestOrderPreserved(t *testing.T) {
	srv, got := receiver(t, nil)
	p := newPoster(t, Config{URL: srv.URL})
	want := []string{"a", "b", "c", "d", "e"}
	for _, n := range want {
		p.Post(Event{Name: n})
	}
	start(t, p)
	if got := names(t, got, len(want)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("received %v, want %v", got, want)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name   string
		status int // the answer to the first request; later ones get 200
		want   []string
	}{
		{"500 retried", http.StatusInternalServerError, []string{"a", "a", "b"}},
		{"503 retried", http.StatusServiceUnavailable, []string{"a", "a", "b"}},
		{"429 retried", http.StatusTooManyRequests, []string{"a", "a", "b"}},
		{"network error retried", -1, []string{"a", "a", "b"}},
		{"400 not retried", http.StatusBadRequest, []string{"a", "b"}},
		{"404 not retried", http.StatusNotFound, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := receiver(t, func(n int) int {
				if n == 0 {
					return tt.status
				}
				return http.StatusOK
			})
			p := newPoster(t, Config{URL: srv.URL})
			p.Post(Event{Name: "a"})
			p.Post(Event{Name: "b"})
			start(t, p)
			// Events go out in order, so b arriving right after the first
			// a shows that a was not retried.
			if got := names(t, got, len(tt.want)); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("received %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetriesGiveUp(t *testing.T) {
	srv, got := receiver(t, func(n int) int {
		if n < 4 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	p := newPoster(t, Config{URL: srv.URL})
	p.Post(Event{Name: "a"})
	p.Post(Event{Name: "b"})
	start(t, p)
	// One try and three retries, then a is given up and b goes out.
	want := []string{"a", "a", "a", "a", "b"}
	if got := names(t, got, len(want)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("received %v, want %v", got, want)
	}
}

func TestSignature(t *testing.T) {
	secret := []byte("s3cret")
	srv, got := receiver(t, nil)
	p := newPoster(t, Config{URL: srv.URL, Secret: secret})
	start(t, p)
	p.Post(Event{Name: "a"})
	r := <-got

	sig, ok := strings.CutPrefix(r.header.Get("X-Keiko-Signature"), "sha256=")
	if !ok {
		t.Fatalf("X-Keiko-Signature = %q, want sha256=<hex>", r.header.Get("X-Keiko-Signature"))
	}
	gotMAC, err := hex.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature %q is not hex: %v", sig, err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(r.body)
	if !hmac.Equal(gotMAC, mac.Sum(nil)) {
		t.Errorf("signature %s does not verify for body %s", sig, r.body)
	}
}

func TestFullQueueDrops(t *testing.T) {
	srv, got := receiver(t, nil)
	drops := 0
	p := newPoster(t, Config{URL: srv.URL, Queue: 2, OnDrop: func() { drops++ }})
	// Run is not started, so nothing leaves the queue.
	for _, n := range []string{"a", "b", "c", "d"} {
		p.Post(Event{Name: n})
	}
	if got, want := drops, 2; got != want {
		t.Errorf("OnDrop called %d times, want %d", got, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.Run(ctx)
	close(got)
	var names []string
	for r := range got {
		names = append(names, r.name)
	}
	if got, want := strings.Join(names, ","), "a,b"; got != want {
		t.Errorf("received %s, want %s", got, want)
	}
}

func TestRunDrainsOnCancel(t *testing.T) {
	srv, got := receiver(t, nil)
	p := newPoster(t, Config{URL: srv.URL})
	for _, n := range []string{"a", "b", "c"} {
		p.Post(Event{Name: n})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p.Run(ctx) // returns only once the queue is delivered

	close(got)
	var names []string
	for r := range got {
		names = append(names, r.name)
	}
	if got, want := strings.Join(names, ","), "a,b,c"; got != want {
		t.Errorf("received %s, want %s", got, want)
	}
}

func TestRunDrainIsBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // a receiver that never answers in time
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	p := newPoster(t, Config{URL: srv.URL})
	p.drainTimeout = 10 * time.Millisecond
	p.Post(Event{Name: "a"})
	p.Post(Event{Name: "b"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	done := make(chan struct{})
	go func() {
		p.Run(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its drain deadline")
	}
}

func TestNilPosterPost(t *testing.T) {
	var p *Poster
	p.Post(Event{Name: "a"}) // must not panic
}
