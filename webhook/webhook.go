// Package webhook posts Keiko's session events as JSON to an external URL, as Educates' analytics webhook does.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Event is one session event as the receiver sees it. Name is a
// keiko.EventKind value such as "step.passed".
type Event struct {
	Name      string    `json:"name"`
	Timestamp time.Time `json:"timestamp"` // sent in UTC
	Session   string    `json:"session"`
	Learner   string    `json:"learner"`
	Scenario  string    `json:"scenario"`
	Workshop  string    `json:"workshop,omitempty"`
	Step      *int      `json:"step,omitempty"`
}

// Config configures a Poster. Only URL is required.
type Config struct {
	URL string
	// Secret, when set, signs each body with HMAC-SHA256 so the receiver
	// can tell our events from forged ones; the signature is sent as
	// "X-Keiko-Signature: sha256=<hex>".
	Secret  []byte
	Timeout time.Duration // per request; default 10s
	Queue   int           // events held while the receiver is slow; default 1024
	Logger  *slog.Logger  // default slog.Default()
	OnDrop  func()        // called for each event dropped because the queue was full
}

// Defaults for Config's zero values.
const (
	DefaultTimeout = 10 * time.Second
	DefaultQueue   = 1024
)

// Poster queues events and delivers them, in order, from Run.
type Poster struct {
	url    string
	secret []byte
	client *http.Client
	queue  chan Event
	log    *slog.Logger
	onDrop func()

	// backoff holds the wait before each retry; its length is the number of
	// retries. Tests shorten it.
	backoff []time.Duration
	// drainTimeout bounds how long Run keeps delivering after its context
	// ends, so a dead receiver can't hold up shutdown.
	drainTimeout time.Duration
}

// New returns a Poster for cfg. It rejects a URL that is not absolute http(s)
// at startup, rather than failing on every event later.
func New(cfg Config) (*Poster, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook: bad URL: %w", err) // url.Error names the URL
	}
	// Name the URL as given, so the operator recognises it, unless it holds
	// a password that must stay out of logs.
	shown := cfg.URL
	if _, ok := u.User.Password(); ok {
		shown = u.Redacted()
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: URL %q is not an absolute http or https URL", shown)
	}
	p := &Poster{
		url:          cfg.URL,
		secret:       cfg.Secret,
		client:       &http.Client{Timeout: cfg.Timeout},
		log:          cfg.Logger,
		onDrop:       cfg.OnDrop,
		backoff:      []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second},
		drainTimeout: 2 * time.Second,
	}
	if p.client.Timeout <= 0 {
		p.client.Timeout = DefaultTimeout
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.log = p.log.With("component", "webhook", "url", shown)
	n := cfg.Queue
	if n <= 0 {
		n = DefaultQueue
	}
	p.queue = make(chan Event, n)
	return p, nil
}

// Post queues e for delivery. It never blocks: a learner's request must not
// wait on a third party's server, so when the queue is full the event is
// dropped. Post on a nil *Poster does nothing, so callers need no "webhook
// configured?" checks.
func (p *Poster) Post(e Event) {
	if p == nil {
		return
	}
	select {
	case p.queue <- e:
	default:
		p.log.Warn("queue full, dropping event", "event", e.Name, "session", e.Session)
		if p.onDrop != nil {
			p.onDrop()
		}
	}
}

// Run delivers queued events one at a time, so the receiver sees them in
// the order they happened, until ctx ends. It then keeps delivering what is
// already queued for a short while before returning.
func (p *Poster) Run(ctx context.Context) {
	if p == nil { // no webhook configured: nothing to send
		return
	}
	// Sends run under their own context so that ending ctx doesn't abort the
	// request in flight; that context is cancelled drainTimeout later.
	sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		t := time.NewTimer(p.drainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-done:
		}
	}()

	for {
		select {
		case e := <-p.queue:
			p.deliver(sendCtx, e)
		case <-ctx.Done():
			p.drain(sendCtx)
			return
		}
	}
}

// drain delivers what is queued until the queue is empty or ctx ends.
func (p *Poster) drain(ctx context.Context) {
	lost := 0
	for {
		select {
		case e := <-p.queue:
			if ctx.Err() != nil {
				lost++
				continue
			}
			p.deliver(ctx, e)
		default:
			if lost > 0 {
				p.log.Warn("shutdown deadline passed, events not delivered", "count", lost)
			}
			return
		}
	}
}

// deliver sends e, retrying failures that may be transient. An event that
// still fails is logged and given up on, so one bad event can't stall the
// ones behind it.
func (p *Poster) deliver(ctx context.Context, e Event) {
	e.Timestamp = e.Timestamp.UTC()
	body, err := json.Marshal(struct {
		Event Event `json:"event"`
	}{e})
	if err != nil {
		p.log.Error("encode event", "event", e.Name, "err", err)
		return
	}
	for attempt := 0; ; attempt++ {
		retry, err := p.send(ctx, body)
		if err == nil {
			return
		}
		if !retry || attempt == len(p.backoff) || ctx.Err() != nil {
			p.log.Error("event not delivered", "event", e.Name, "session", e.Session, "attempts", attempt+1, "err", err)
			return
		}
		t := time.NewTimer(p.backoff[attempt])
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			p.log.Error("event not delivered", "event", e.Name, "session", e.Session, "attempts", attempt+1, "err", err)
			return
		}
	}
}

// send makes one attempt and reports whether a failure is worth retrying:
// network errors, 429 and 5xx are; other statuses mean the receiver rejects
// this event and would again.
func (p *Poster) send(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "keiko")
	if len(p.secret) > 0 {
		req.Header.Set("X-Keiko-Signature", "sha256="+sign(p.secret, body))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return !errors.Is(err, context.Canceled), fmt.Errorf("post: %w", err)
	}
	// Read a little of the body so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("post: receiver answered %s", resp.Status)
	default:
		return false, fmt.Errorf("post: receiver answered %s", resp.Status)
	}
}

// sign returns the hex HMAC-SHA256 of body under secret.
func sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}
