package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keiko-lab/keiko/internal/clustertest"
)

// chromiumPath is Debian's chromium, which the browser test drives.
const chromiumPath = "/usr/bin/chromium"

// findChromium fails the test, never skips it, when chromium is missing:
// a browser test that quietly does not run tests nothing.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatalf("chromium is not installed (no %s, none on PATH): the browser test needs it; install it with `apt-get install chromium` (and fonts-noto-cjk for the Japanese pages)", chromiumPath)
	return ""
}

// artifactsDir is where the browser test leaves its screenshots:
// $KEIKO_TEST_ARTIFACTS, else .artifacts/e2e at the repository root.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KEIKO_TEST_ARTIFACTS")
	if dir == "" {
		root, err := clustertest.RepoRoot()
		if err != nil {
			t.Fatalf("%v: set KEIKO_TEST_ARTIFACTS", err)
		}
		dir = filepath.Join(root, ".artifacts", "e2e")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	// A failure's files from an earlier run would mislead about this one.
	stale, _ := filepath.Glob(filepath.Join(dir, "failure-*"))
	for _, f := range stale {
		os.Remove(f)
	}
	return dir
}

// tab is one browser tab of the test, with what it saw: the WebSockets
// it opened, the requests it sent, and its console.
type tab struct {
	t         *testing.T
	name      string
	ctx       context.Context // the tab's chromedp context; cancelling it closes the tab
	artifacts string

	mu         sync.Mutex
	websockets []string
	requests   []string
	console    []string
}

// newTab starts watching a tab once its target exists, which the first
// action run on ctx makes.
func newTab(t *testing.T, ctx context.Context, name, artifacts string) *tab {
	b := &tab{t: t, name: name, ctx: ctx, artifacts: artifacts}
	// The window's size leaves the page less room than its height: the
	// viewport itself is made 1366×800, a common laptop screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 800), chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("%s: start the browser: %v", name, err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventWebSocketCreated:
			b.websockets = append(b.websockets, ev.URL)
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.Method+" "+ev.Request.URL)
		}
	})
	if err != nil {
		t.Fatalf("%s: listen: %v", name, err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s: %s %s:%d", m.Type, m.Text, m.URL, m.Line))
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs actions within d, failing the test with what was being done.
func (b *tab) do(d time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// clickNav clicks a link and waits for the page it leads to.
func (b *tab) clickNav(what string, sel chromedp.CSS) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, e2ePage)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("%s: %s: %s answered %d", b.name, what, resp.URL, resp.Status)
	}
}

// eval evaluates a JavaScript expression, awaiting a promise.
func eval[T any](b *tab, d time.Duration, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy; on time out it
// fails with the value of explain, which says what the page shows instead.
func (b *tab) waitJS(d time.Duration, what, expr, explain string) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Until(deadline)+5*time.Second)
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(100*time.Millisecond)))
		cancel()
		// A navigation destroys the context the poll runs in: poll again
		// in the new page.
		if err == nil || !strings.Contains(err.Error(), "context") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		return
	}
	detail := ""
	if explain != "" {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		if s, e := chromedp.Run(ctx, chromedp.Evaluate[string](explain)); e == nil {
			detail = "\npage shows: " + s
		}
	}
	b.t.Fatalf("%s: waiting %s for %s: %v%s", b.name, d, what, err, detail)
}

// shot saves a screenshot of the viewport, or of the whole page, as PNG.
func (b *tab) shot(name string, fullPage bool) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	action := chromedp.CaptureScreenshot()
	if fullPage {
		action = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("%s: screenshot %s: %v", b.name, name, err)
	}
	p := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// dump saves what a failed test needs to be understood: a screenshot, the
// page's HTML, and the console. It runs after failures, so it only logs.
func (b *tab) dump() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	prefix := filepath.Join(b.artifacts, "failure-"+b.name)
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		if os.WriteFile(prefix+".png", png, 0o644) == nil {
			b.t.Logf("failure screenshot: %s.png", prefix)
		}
	} else {
		b.t.Logf("%s: no failure screenshot: %v", b.name, err)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		if os.WriteFile(prefix+".html", []byte(html), 0o644) == nil {
			b.t.Logf("failure page HTML: %s.html", prefix)
		}
	}
	if rows, err := chromedp.Run(ctx, chromedp.Evaluate[string](termText)); err == nil && rows != "" {
		b.t.Logf("%s: terminal shows:\n%s", b.name, rows)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.console) > 0 {
		b.t.Logf("%s: console:\n%s", b.name, strings.Join(b.console, "\n"))
	}
}

// sessionIDs are the sessions whose terminals the tab opened, in order.
func (b *tab) sessionIDs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, u := range b.websockets {
		_, rest, ok := strings.Cut(u, "/api/sessions/")
		id, _, ok2 := strings.Cut(rest, "/terminal")
		if ok && ok2 {
			ids = append(ids, id)
		}
	}
	return ids
}

func (b *tab) requestsMatching(sub string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		if strings.Contains(r, sub) {
			out = append(out, r)
		}
	}
	return out
}

// exceptions are the uncaught errors the page's scripts threw.
func (b *tab) exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.console {
		if strings.HasPrefix(c, string(chromedp.ConsoleException)+":") {
			out = append(out, c)
		}
	}
	return out
}

// typeKeys types s as a keyboard does: a keyDown carrying the text, then
// a keyUp. chromedp.KeyEvent sends a separate char event too, which Chrome
// turns into a keypress even when the page cancelled the keydown, so
// xterm.js, which handles keydown, would see every character twice.
func typeKeys(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, r := range s {
			for _, k := range kb.Encode(r) {
				if k.Type == kb.KeyChar {
					continue
				}
				if key := kb.Keys[r]; k.Type == kb.KeyDown && key != nil && key.Print {
					k.Text, k.UnmodifiedText = key.Text, key.Unmodified
				}
				if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, *k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// termText is the text xterm.js draws: its visible rows.
const termText = `(document.querySelector('#terminal .xterm-rows') || {innerText: ''}).innerText.replace(/\u00a0/g, ' ')`

// xpathString quotes s as an XPath string literal.
func xpathString(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	parts := strings.Split(s, `"`)
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return "concat(" + strings.Join(parts, `, '"', `) + ")"
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}
