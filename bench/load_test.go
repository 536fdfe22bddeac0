package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gorilla/websocket"
)

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []sseEvent
	}{
		{"empty", "", nil},
		{
			"gin's events",
			"event:step\ndata:{\"step\":0,\"passed\":false}\n\nevent:finished\ndata:{}\n\n",
			[]sseEvent{{"step", `{"step":0,"passed":false}`}, {"finished", "{}"}},
		},
		{"keepalive comments are not events", ": keepalive\n\n: keepalive\n\nevent:step\ndata:1\n\n", []sseEvent{{"step", "1"}}},
		{"one space after the colon is dropped", "event: step\ndata:  two\n\n", []sseEvent{{"step", " two"}}},
		{"data lines join", "data:a\ndata:b\n\n", []sseEvent{{"message", "a\nb"}}},
		{"CRLF", "event:step\r\ndata:x\r\n\r\n", []sseEvent{{"step", "x"}}},
		{"an event without data is not sent", "event:step\n\ndata:y\n\n", []sseEvent{{"message", "y"}}},
		{"an unfinished event at the end is dropped", "event:step\ndata:1\n\nevent:step\ndata:2\n", []sseEvent{{"step", "1"}}},
		{"unknown fields are ignored", "id:7\nretry:100\ndata:z\n\n", []sseEvent{{"message", "z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []sseEvent
			// One byte at a time, as a slow network would deliver it.
			err := readEvents(iotest.OneByteReader(strings.NewReader(tt.stream)), func(e sseEvent) { got = append(got, e) })
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("readEvents = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadEventsReportsABrokenStream(t *testing.T) {
	boom := errors.New("connection reset")
	var n int
	err := readEvents(io.MultiReader(strings.NewReader("data:1\n\n"), iotest.ErrReader(boom)), func(sseEvent) { n++ })
	if !errors.Is(err, boom) || n != 1 {
		t.Errorf("readEvents = %d events, %v; want 1, %v", n, err, boom)
	}
}

func TestSpread(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(100 - i) // descending, to show it sorts
	}
	tests := []struct {
		name                string
		in                  []time.Duration
		p50, p95, p99, maxD time.Duration
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"one", []time.Duration{ms(7)}, ms(7), ms(7), ms(7), ms(7)},
		{"hundred", hundred, ms(50), ms(95), ms(99), ms(100)},
		{"twenty", hundred[80:], ms(10), ms(19), ms(20), ms(20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spread(tt.in)
			if got.N != len(tt.in) || got.P50 != tt.p50 || got.P95 != tt.p95 || got.P99 != tt.p99 || got.Max != tt.maxD {
				t.Errorf("spread = %+v, want n=%d p50=%s p95=%s p99=%s max=%s", got, len(tt.in), tt.p50, tt.p95, tt.p99, tt.maxD)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\tkeiko\nVmPeak:\t 2000 kB\nVmHWM:\t  51234 kB\nVmRSS:\t   48000 kB\nThreads:\t12\n")
	tests := []struct {
		field   string
		want    int64
		wantErr bool
	}{
		{"VmHWM", 51234, false},
		{"VmRSS", 48000, false},
		{"VmSwap", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, err := parseStatusKB(status, tt.field)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("parseStatusKB(%s) = %d, %v; want %d, error %t", tt.field, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"10", 10 * time.Second},
		{"0", 0},
		{"", retryUnhinted},
		{"Wed, 21 Oct 2015 07:28:00 GMT", retryUnhinted},
		{"-3", retryUnhinted},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

func TestOffers(t *testing.T) {
	body := []byte(`[{"id":"kubernetes-basics","title":"Kubernetes basics"},{"id":"broken","broken":true}]`)
	tests := []struct {
		scenario string
		want     bool
	}{
		{"kubernetes-basics", true},
		{"broken", false},
		{"missing", false},
	}
	for _, tt := range tests {
		if got := offers(body, tt.scenario); got != tt.want {
			t.Errorf("offers(%q) = %t, want %t", tt.scenario, got, tt.want)
		}
	}
	if offers([]byte(`{"error":{}}`), "kubernetes-basics") {
		t.Errorf("offers of an error body = true, want false")
	}
}

func TestRSSPerLearner(t *testing.T) {
	r := LoadReport{Learners: 4, RSSBase: 1000, RSSPeak: 1800}
	if got := r.RSSPerLearner(); got != 200 {
		t.Errorf("RSSPerLearner = %v, want 200", got)
	}
	if got := (&LoadReport{Learners: 4}).RSSPerLearner(); got != 0 {
		t.Errorf("RSSPerLearner unmeasured = %v, want 0", got)
	}
}

// fakeKeiko answers as Keiko does, for one scenario, with a shell that
// only runs echo. Sessions belong to the learner cookie that started them.
type fakeKeiko struct {
	mu       sync.Mutex
	owners   map[string]string // session id → learner
	full     int               // 503s still to answer to session starts
	started  int
	deleted  int
	learners int
}

func (f *fakeKeiko) learner(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie("keiko_learner"); err == nil {
		return c.Value
	}
	f.mu.Lock()
	f.learners++
	id := fmt.Sprintf("l%d", f.learners)
	f.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "keiko_learner", Value: id, Path: "/"})
	return id
}

// own reports whether the request's learner owns the session.
func (f *fakeKeiko) own(w http.ResponseWriter, r *http.Request) bool {
	c, err := r.Cookie("keiko_learner")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil || f.owners[r.PathValue("id")] != c.Value {
		http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
		return false
	}
	return true
}

func (f *fakeKeiko) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		f.learner(w, r)
		fmt.Fprint(w, "<html>catalog</html>")
	})
	mux.HandleFunc("GET /api/scenarios", func(w http.ResponseWriter, r *http.Request) {
		f.learner(w, r)
		fmt.Fprint(w, `[{"id":"kubernetes-basics"}]`)
	})
	mux.HandleFunc("POST /api/sessions", func(w http.ResponseWriter, r *http.Request) {
		l := f.learner(w, r)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.full > 0 {
			f.full--
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"code":"unavailable"}}`, http.StatusServiceUnavailable)
			return
		}
		f.started++
		id := fmt.Sprintf("s%d", f.started)
		f.owners[id] = l
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q}`, id)
	})
	mux.HandleFunc("GET /api/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if f.own(w, r) {
			fmt.Fprintf(w, `{"id":%q,"steps":[]}`, r.PathValue("id"))
		}
	})
	mux.HandleFunc("DELETE /api/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if f.own(w, r) {
			f.mu.Lock()
			delete(f.owners, r.PathValue("id"))
			f.deleted++
			f.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("GET /api/sessions/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		if !f.own(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event:step\ndata:{\"step\":0}\n\n: keepalive\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /api/sessions/{id}/terminal", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "http://"+r.Host {
			http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
			return
		}
		if !f.own(w, r) {
			return
		}
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		out := func(s string) error { return ws.WriteMessage(websocket.BinaryMessage, []byte("0"+s)) }
		_ = ws.WriteMessage(websocket.BinaryMessage, []byte(`1{"offset":0,"readOnly":false}`))
		_ = out("learner@keiko:~$ ")
		var line []byte
		for {
			_, m, err := ws.ReadMessage()
			if err != nil || len(m) == 0 || m[0] != '0' {
				return
			}
			_ = out(string(m[1:])) // the tty's echo
			line = append(line, m[1:]...)
			if cmd, ok := strings.CutSuffix(string(line), "\r"); ok {
				arg, _ := strings.CutPrefix(cmd, "echo ")
				_ = out("\n" + strings.ReplaceAll(arg, "''", "") + "\r\nlearner@keiko:~$ ")
				line = nil
			}
		}
	})
	return mux
}

func TestLoadAgainstAFakeServer(t *testing.T) {
	f := &fakeKeiko{owners: map[string]string{}, full: 2}
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	opts := DefaultLoadOptions()
	opts.URL, opts.Learners, opts.Duration, opts.Ramp, opts.Every = srv.URL, 3, 300*time.Millisecond, 30*time.Millisecond, 50*time.Millisecond
	opts.ServerPID = os.Getpid() // the fake server runs in this process
	r, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 {
		t.Fatalf("%d errors: %q", r.Errors, r.FirstErrors)
	}
	if r.Page.N != 3 || r.SessionStart.N != 3 || r.Terminal.N != 3 || r.Retries != 2 {
		t.Errorf("pages %d, session starts %d, terminals %d, retries %d; want 3, 3, 3, 2", r.Page.N, r.SessionStart.N, r.Terminal.N, r.Retries)
	}
	// About 6 commands and polls each in 300 ms; timers on a busy
	// machine may fire late, so ask for one each.
	if r.Command.N < 3 || r.API.N < 3+3 || r.Events != 3 {
		t.Errorf("commands %d, API GETs %d, events %d; want ≥ 3, ≥ 6, 3", r.Command.N, r.API.N, r.Events)
	}
	if f.deleted != 3 || len(f.owners) != 0 || f.learners != 3 {
		t.Errorf("%d learners, %d sessions deleted, %d left; want 3, 3, 0", f.learners, f.deleted, len(f.owners))
	}
	if r.RSSBase == 0 || r.RSSPeak < r.RSSEnd || r.RSSHWM < r.RSSPeak {
		t.Errorf("RSS base %d, peak %d, end %d, high-water mark %d kB; want all measured, peak ≥ end, mark ≥ peak", r.RSSBase, r.RSSPeak, r.RSSEnd, r.RSSHWM)
	}
	if r.PeakSessions < 1 || r.PeakSessions > 3 {
		t.Errorf("peak sessions %d, want 1 to 3", r.PeakSessions)
	}
}

func TestLoadCountsErrors(t *testing.T) {
	f := &fakeKeiko{owners: map[string]string{}}
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	opts := DefaultLoadOptions()
	opts.URL, opts.Learners, opts.Duration, opts.Ramp, opts.Scenario = srv.URL, 7, time.Second, 0, "missing"
	r, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 7 || len(r.FirstErrors) != shownErrors || !strings.Contains(r.FirstErrors[0], `does not offer "missing"`) {
		t.Errorf("errors %d, shown %q; want 7, %d saying the scenario is missing", r.Errors, r.FirstErrors, shownErrors)
	}
	if f.started != 0 {
		t.Errorf("%d sessions started, want none", f.started)
	}
}
