package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// LoadOptions size a load test: simulated learners against a running
// Keiko server, each doing what a browser does.
type LoadOptions struct {
	URL       string // the server, http://host:port
	ServerPID int    // for its memory; 0 to leave memory out
	Learners  int
	// Duration is how long each learner works once their terminal is open.
	Duration time.Duration
	// Ramp spreads the learners' arrivals evenly over this, so they do not
	// all provision in the same millisecond.
	Ramp     time.Duration
	Scenario string
	// Every is the pause between a learner's terminal commands, and between
	// their polls of the session.
	Every    time.Duration
	Progress io.Writer
}

// DefaultLoadOptions are the figures recorded in docs/benchmarks.md.
func DefaultLoadOptions() LoadOptions {
	return LoadOptions{
		Learners: 300,
		Duration: time.Minute,
		Ramp:     30 * time.Second,
		Scenario: "kubernetes-basics",
		Every:    2 * time.Second,
		Progress: io.Discard,
	}
}

// Timeouts of a learner's requests. Anything slower counts as an error.
const (
	requestTimeout = 30 * time.Second
	// startTimeout bounds a session start, its 503 retries included.
	startTimeout = 5 * time.Minute
	// retryUnhinted is the wait after a 503 without Retry-After.
	retryUnhinted = 2 * time.Second
	// shownErrors is how many error messages the report keeps.
	shownErrors = 5
)

// Spread summarises one batch of timed operations with its tail.
type Spread struct {
	Latencies
	P95, Max time.Duration
}

func spread(ds []time.Duration) Spread {
	sp := Spread{Latencies: summarize(ds)}
	if len(ds) == 0 {
		return sp
	}
	s := slices.Sorted(slices.Values(ds))
	// Nearest rank, as summarize.
	sp.P95 = s[min(max(int(0.95*float64(len(s))+0.999999)-1, 0), len(s)-1)]
	sp.Max = s[len(s)-1]
	return sp
}

// LoadReport is what one load run measured.
type LoadReport struct {
	Learners       int
	Duration, Ramp time.Duration
	Wall           time.Duration // from the first learner's arrival to the last one's departure
	// Page is GET / (the catalog). API is GET /api/scenarios and the
	// learners' polls of GET /api/sessions/{id}. Command is a terminal
	// round trip: an echo typed until its output arrives. Terminal is
	// opening the WebSocket until the shell's prompt. SessionStart is
	// POST /api/sessions until 201, provisioning and 503 retries included.
	Page, API, Command, Terminal, SessionStart Spread
	Retries                                    int   // 503 answers to session starts, each retried
	Events                                     int64 // Server-Sent Events received
	PeakSessions                               int   // most sessions live at once
	Errors                                     int
	FirstErrors                                []string
	// The server's resident memory in kB, all 0 when not measured: before
	// the first learner, the highest of the samples taken every second,
	// after the last learner left, and the kernel's high-water mark.
	RSSBase, RSSPeak, RSSEnd, RSSHWM int64
}

// RSSPerLearner is the server's memory growth per learner at its peak, in
// kB.
func (r *LoadReport) RSSPerLearner() float64 {
	if r.Learners == 0 || r.RSSPeak == 0 {
		return 0
	}
	return float64(r.RSSPeak-r.RSSBase) / float64(r.Learners)
}

// Load runs opts.Learners simulated learners against the server at
// opts.URL. Each one has its own cookie jar and:
//
//  1. GETs the catalog page and /api/scenarios;
//  2. starts a session of opts.Scenario, retrying after a 503;
//  3. opens its terminal and waits for the prompt;
//  4. follows the session's events;
//  5. every opts.Every, types an echo and waits for its output, and polls
//     the session, for opts.Duration;
//  6. ends the session.
//
// A failure does not stop the run: it counts as an error in the report.
func Load(ctx context.Context, opts LoadOptions) (*LoadReport, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	switch {
	case opts.URL == "":
		return nil, errors.New("no server URL")
	case opts.Learners < 1:
		return nil, fmt.Errorf("learners must be at least 1, not %d", opts.Learners)
	case opts.Duration <= 0 || opts.Every <= 0 || opts.Ramp < 0:
		return nil, errors.New("duration and interval must be positive, ramp not negative")
	}
	opts.URL = strings.TrimSuffix(opts.URL, "/")
	rec := &recorder{}
	r := &LoadReport{Learners: opts.Learners, Duration: opts.Duration, Ramp: opts.Ramp}
	var err error
	if r.RSSBase, err = rss(opts.ServerPID); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mem := sampleMemory(ctx, opts.ServerPID, rec)
	go reportProgress(ctx, opts, rec)

	// One transport, so connections are reused as a browser's would be;
	// one cookie jar per learner, so each is a learner of their own.
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * opts.Learners, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range opts.Learners {
		at := start.Add(opts.Ramp * time.Duration(i) / time.Duration(opts.Learners))
		wg.Go(func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			jar, _ := cookiejar.New(nil) // never fails without options
			l := &learner{n: i, opts: opts, rec: rec, jar: jar, http: &http.Client{Transport: transport, Jar: jar}}
			rec.started.Add(1)
			l.run(ctx)
			rec.done.Add(1)
		})
	}
	wg.Wait()
	r.Wall = time.Since(start)
	cancel()
	peak := <-mem

	rec.mu.Lock()
	defer rec.mu.Unlock()
	r.Page, r.API, r.Command = spread(rec.page), spread(rec.api), spread(rec.command)
	r.Terminal, r.SessionStart = spread(rec.terminal), spread(rec.start)
	r.Retries, r.Events, r.PeakSessions = rec.retries, rec.events.Load(), rec.peakLive
	r.Errors, r.FirstErrors = rec.errors, rec.first
	r.RSSPeak = max(peak, r.RSSBase)
	if opts.ServerPID != 0 {
		if r.RSSEnd, err = rss(opts.ServerPID); err != nil {
			return nil, err
		}
		if r.RSSHWM, err = statusKB(opts.ServerPID, "VmHWM"); err != nil {
			return nil, err
		}
		r.RSSPeak = max(r.RSSPeak, r.RSSEnd)
	}
	return r, nil
}

// recorder collects every learner's measurements.
type recorder struct {
	mu                                  sync.Mutex
	page, api, command, terminal, start []time.Duration
	retries, errors, live, peakLive     int
	first                               []string
	started, done, ready                atomic.Int32
	events                              atomic.Int64
}

func (r *recorder) add(to *[]time.Duration, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*to = append(*to, d)
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	if len(r.first) < shownErrors {
		r.first = append(r.first, err.Error())
	}
}

func (r *recorder) sessions(delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live += delta
	r.peakLive = max(r.peakLive, r.live)
}

// reportProgress says how the run goes every 10 seconds, so that a slow
// provisioning is seen as it happens.
func reportProgress(ctx context.Context, opts LoadOptions, rec *recorder) {
	start := time.Now()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rec.mu.Lock()
		live, errs := rec.live, rec.errors
		rec.mu.Unlock()
		mem := ""
		if kb, err := rss(opts.ServerPID); err == nil && kb > 0 {
			mem = fmt.Sprintf(", server RSS %d MB", kb/1024)
		}
		fmt.Fprintf(opts.Progress, "%s: %d/%d learners arrived, %d sessions live, %d working, %d left, %d errors%s\n",
			time.Since(start).Round(time.Second), rec.started.Load(), opts.Learners, live, rec.ready.Load(), rec.done.Load(), errs, mem)
	}
}

// sampleMemory reads the server's resident memory every second until ctx
// ends, then sends the highest reading.
func sampleMemory(ctx context.Context, pid int, rec *recorder) <-chan int64 {
	out := make(chan int64, 1)
	if pid == 0 {
		out <- 0
		return out
	}
	go func() {
		var peak int64
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-t.C:
			}
			kb, err := rss(pid)
			if err != nil { // the server has gone
				rec.fail(err)
				out <- peak
				return
			}
			peak = max(peak, kb)
		}
	}()
	return out
}

// statusKB reads a field in kB, such as VmHWM, from /proc/pid/status.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("server memory: %w", err)
	}
	return parseStatusKB(b, field)
}

func parseStatusKB(status []byte, field string) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in process status", field)
}

// learner is one simulated learner, with a browser's cookie jar.
type learner struct {
	n    int
	opts LoadOptions
	rec  *recorder
	jar  http.CookieJar
	http *http.Client
}

func (l *learner) fail(format string, args ...any) {
	l.rec.fail(fmt.Errorf("learner %d: "+format, append([]any{l.n}, args...)...))
}

// run is one learner's visit, from the catalog to the end of the session.
func (l *learner) run(ctx context.Context) {
	for _, p := range []struct {
		path string
		to   *[]time.Duration
	}{{"/", &l.rec.page}, {"/api/scenarios", &l.rec.api}} {
		b, d, err := l.call(ctx, http.MethodGet, p.path, nil, http.StatusOK)
		if err != nil {
			l.fail("%v", err)
			return
		}
		l.rec.add(p.to, d)
		if p.path == "/api/scenarios" && !offers(b, l.opts.Scenario) {
			l.fail("GET /api/scenarios does not offer %q", l.opts.Scenario)
			return
		}
	}

	id, err := l.start(ctx)
	if err != nil {
		l.fail("%v", err)
		return
	}
	l.rec.sessions(1)
	defer func() {
		// The session ends even when the run is interrupted.
		ctx := context.WithoutCancel(ctx)
		if _, _, err := l.call(ctx, http.MethodDelete, "/api/sessions/"+id, nil, http.StatusNoContent); err != nil {
			l.fail("%v", err)
		}
		l.rec.sessions(-1)
	}()

	t0 := time.Now()
	term, err := l.openTerminal(ctx, id)
	if err != nil {
		l.fail("terminal of %s: %v", id, err)
		return
	}
	l.rec.add(&l.rec.terminal, time.Since(t0))
	l.rec.ready.Add(1)
	defer l.rec.ready.Add(-1)

	work, stop := context.WithTimeout(ctx, l.opts.Duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { l.follow(work, id) })
	wg.Go(func() { l.typeCommands(work, term) })
	wg.Go(func() { l.poll(work, id) })
	<-work.Done()
	term.Close() // ends a read in flight
	wg.Wait()
}

// call makes one request, reads the whole answer and times both; an
// answer other than want is an error.
func (l *learner) call(ctx context.Context, method, path string, body []byte, want int) ([]byte, time.Duration, error) {
	b, _, d, err := l.request(ctx, method, path, body, want)
	return b, d, err
}

func (l *learner) request(ctx context.Context, method, path string, body []byte, want int) ([]byte, http.Header, time.Duration, error) {
	timeout := requestTimeout
	if method == http.MethodPost {
		timeout = startTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, l.opts.URL+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := l.http.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	d := time.Since(t0)
	if err != nil {
		return nil, nil, d, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return b, resp.Header, d, &statusError{method: method, path: path, status: resp.StatusCode, body: b}
	}
	return b, resp.Header, d, nil
}

// statusError is an answer other than the one expected.
type statusError struct {
	method, path string
	status       int
	body         []byte
}

func (e *statusError) Error() string {
	b := strings.TrimSpace(string(e.body))
	if len(b) > 200 {
		b = b[:200] + "…"
	}
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, b)
}

// offers reports whether a GET /api/scenarios answer lists the scenario,
// unbroken.
func offers(body []byte, scenario string) bool {
	type entry struct {
		ID     string `json:"id"`
		Broken bool   `json:"broken"`
	}
	var list []entry
	if json.Unmarshal(body, &list) != nil {
		return false
	}
	return slices.ContainsFunc(list, func(e entry) bool { return e.ID == scenario && !e.Broken })
}

// start starts a session, waiting as told by Retry-After while the
// server answers 503, and returns its id.
func (l *learner) start(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"scenario": l.opts.Scenario})
	t0 := time.Now()
	for {
		b, h, _, err := l.request(ctx, http.MethodPost, "/api/sessions", body, http.StatusCreated)
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusServiceUnavailable {
			l.rec.mu.Lock()
			l.rec.retries++
			l.rec.mu.Unlock()
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("%w, still after %s", err, time.Since(t0).Round(time.Second))
			case <-time.After(retryAfter(h.Get("Retry-After"))):
			}
			continue
		}
		if err != nil {
			return "", err
		}
		var s struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &s); err != nil || s.ID == "" {
			return "", fmt.Errorf("POST /api/sessions: no session id in %q", b)
		}
		l.rec.add(&l.rec.start, time.Since(t0))
		return s.ID, nil
	}
}

// retryAfter is the wait a Retry-After header of seconds asks for.
func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return retryUnhinted
}

// openTerminal connects to the session's terminal as the learner's
// browser does, with the server's own Origin, and waits for the prompt.
func (l *learner) openTerminal(ctx context.Context, id string) (*termClient, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	d := websocket.Dialer{Jar: l.jar, HandshakeTimeout: requestTimeout}
	url := "ws" + strings.TrimPrefix(l.opts.URL, "http") + "/api/sessions/" + id + "/terminal"
	ws, resp, err := d.DialContext(ctx, url, http.Header{"Origin": {l.opts.URL}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w: %s", err, resp.Status)
		}
		return nil, err
	}
	c := &termClient{ws: ws, buf: make([]byte, 4<<10)}
	if _, err := c.readUntil("$ "); err != nil {
		ws.Close()
		return nil, fmt.Errorf("no prompt: %w", err)
	}
	return c, nil
}

// typeCommands types an echo every opts.Every until ctx ends, timing each until
// its output arrives. The marker is quoted so that the shell's echo of
// the typed line does not contain it.
func (l *learner) typeCommands(ctx context.Context, term *termClient) {
	t := time.NewTicker(l.opts.Every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t0 := time.Now()
		_, err := term.runUntil(fmt.Sprintf("echo k''%dx%d\r", l.n, i), fmt.Sprintf("k%dx%d", l.n, i))
		if err != nil {
			if ctx.Err() == nil {
				l.fail("terminal command %d: %v", i, err)
			}
			return
		}
		l.rec.add(&l.rec.command, time.Since(t0))
	}
}

// poll GETs the session every opts.Every until ctx ends, half a period
// out of step with the commands.
func (l *learner) poll(ctx context.Context, id string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(l.opts.Every / 2):
	}
	t := time.NewTicker(l.opts.Every)
	defer t.Stop()
	for {
		_, d, err := l.call(ctx, http.MethodGet, "/api/sessions/"+id, nil, http.StatusOK)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.fail("%v", err)
		default:
			l.rec.add(&l.rec.api, d)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// follow reads the session's Server-Sent Events until ctx ends, counting
// them. A stream that ends before is an error.
func (l *learner) follow(ctx context.Context, id string) {
	path := "/api/sessions/" + id + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.opts.URL+path, nil)
	if err != nil {
		l.fail("%v", err)
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := l.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.fail("GET %s: %v", path, err)
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		l.fail("%v", &statusError{method: http.MethodGet, path: path, status: resp.StatusCode, body: b})
		return
	}
	err = readEvents(resp.Body, func(sseEvent) { l.rec.events.Add(1) })
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		err = errors.New("stream ended")
	}
	l.fail("GET %s: %v", path, err)
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	Name, Data string
}

// readEvents parses a Server-Sent Events stream, calling fn for each
// event, until the stream ends. Comments, such as keepalives, are not
// events; nor is an event left unfinished at the end.
func readEvents(r io.Reader, fn func(sseEvent)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), 1<<20)
	var name string
	var data []string
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if data != nil {
				if name == "" {
					name = "message"
				}
				fn(sseEvent{Name: name, Data: strings.Join(data, "\n")})
			}
			name, data = "", nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}
