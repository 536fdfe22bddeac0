package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/localcluster"
)

// TestServeEmbeddedCluster runs serve as `make run` does: no kubeconfig, so
// it finds keiko-cluster on PATH, starts it, reports readiness, and stops it.
// embeddedServe readies a serve of its own embedded cluster, as `make
// run` has: keiko-cluster on PATH, a free apiserver port and a fresh data
// directory.
func embeddedServe(t *testing.T) (clusterPort int, dataDir string) {
	t.Helper()
	bin, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	port, err := localcluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port, filepath.Join(t.TempDir(), "data")
}

func TestServeEmbeddedCluster(t *testing.T) {
	port, dataDir := embeddedServe(t)
	hook := newHookReceiver(t, "hook-secret")
	o := serveOptions{addr: "127.0.0.1:0", dataDir: dataDir, clusterPort: port, logFormat: "text", logLevel: "error",
		instrPass: "teach-me-kansai", webhookURL: hook.URL, webhookKey: "hook-secret"}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url, out, done := startServe(t, ctx, o)
	// The cluster takes seconds to start; the web server answers at once.
	if status, body := httpGet(t, url+"/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz while the cluster starts = %d %q, want 503", status, body)
	}
	waitForLong(t, out, regexp.MustCompile(`Keiko is ready: http://`))
	kubeconfig := waitFor(t, out, regexp.MustCompile(`admin kubeconfig: (\S+)`))
	if want := filepath.Join(dataDir, "admin.kubeconfig"); kubeconfig != want {
		t.Errorf("admin kubeconfig = %s, want %s", kubeconfig, want)
	}
	if status, body := httpGet(t, url+"/readyz"); status != http.StatusOK {
		t.Errorf("GET /readyz = %d %q, want 200", status, body)
	}
	if !strings.Contains(out.String(), "sandboxes: 0 live") {
		t.Errorf("serve did not report reconciling sandboxes:\n%s", out.String())
	}

	t.Run("a learner's session and jailed terminal", func(t *testing.T) { learnerTerminal(t, url) })
	t.Run("a workshop, and continuing after the sandbox is lost", func(t *testing.T) { workshopAndContinue(t, url, kubeconfig, o.instrPass) })
	t.Run("the events webhook hears the workshop", func(t *testing.T) {
		clustertest.Eventually(t, "the webhook receives the sessions' events", func(context.Context) (bool, error) {
			return hook.has("session.started", true) && hook.has("step.skipped", true) && hook.has("session.finished", true), nil
		})
	})

	t.Run("on a cluster as its ServiceAccount, terminals in pods", func(t *testing.T) { clusterMode(t, kubeconfig) })

	t.Run("existing cluster by kubeconfig", func(t *testing.T) {
		o := serveOptions{addr: "127.0.0.1:0", dataDir: filepath.Join(t.TempDir(), "data"), kubeconfig: kubeconfig, logFormat: "text", logLevel: "error"}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		url, out, done := startServe(t, ctx, o)
		waitForLong(t, out, regexp.MustCompile(`Keiko is ready: http://`))
		if status, body := httpGet(t, url+"/readyz"); status != http.StatusOK {
			t.Errorf("GET /readyz = %d %q, want 200", status, body)
		}
		if strings.Contains(out.String(), "admin kubeconfig:") {
			t.Error("serve on an existing cluster claims to have written an admin kubeconfig")
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runServe() = %v", err)
		}
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runServe() = %v, want nil after cancel\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runServe did not return after cancel")
	}
	if pids := clusterProcesses(t, dataDir); len(pids) > 0 {
		t.Errorf("keiko-cluster still running after serve stopped: pids %v", pids)
	}
}

// startedSession is what POST /api/sessions answers.
type startedSession struct {
	ID        string    `json:"id"`
	Namespace string    `json:"namespace"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// newSession starts scenario for a new learner, whose browser it returns.
func newSession(t *testing.T, base, scenario string) (*http.Client, startedSession) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	resp, err := browser.Post(base+"/api/sessions", "application/json", strings.NewReader(`{"scenario":"`+scenario+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess startedSession
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || sess.ID == "" || sess.Namespace == "" || sess.ExpiresAt.IsZero() {
		t.Fatalf("POST /api/sessions: %d %+v %v", resp.StatusCode, sess, err)
	}
	return browser, sess
}

// dialTerminal opens session id's terminal as the browser holding jar.
func dialTerminal(t *testing.T, base string, jar http.CookieJar, id string) (ws *websocket.Conn, wsURL string, header http.Header) {
	t.Helper()
	wsURL = "ws" + strings.TrimPrefix(base, "http") + "/api/sessions/" + id + "/terminal"
	u, _ := neturl.Parse(base)
	header = http.Header{"Origin": {base}}
	for _, c := range jar.Cookies(u) {
		header.Add("Cookie", c.String())
	}
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, header)
	if err != nil {
		t.Fatalf("learner's own terminal: %v", err)
	}
	return ws, wsURL, header
}

// typeInTerminal types line and returns the output up to until.
func typeInTerminal(t *testing.T, ws *websocket.Conn, line, until string) string {
	t.Helper()
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("0"+line+"\r")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	ws.SetReadDeadline(time.Now().Add(time.Minute))
	for !strings.Contains(out.String(), until) {
		_, f, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("reading the terminal: %v; so far:\n%s", err, out.String())
		}
		if len(f) > 0 && f[0] == '0' {
			out.Write(f[1:])
		}
	}
	return out.String()
}

// waitForLong is waitFor with room for a cluster start.
func waitForLong(t *testing.T, out *syncBuffer, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if re.MatchString(out.String()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s", re, out.String())
}

// clusterProcesses finds processes whose command line names dataDir.
func clusterProcesses(t *testing.T, dataDir string) []int {
	return clustertest.Processes(t, func(cmdline []byte) bool { return bytes.Contains(cmdline, []byte(dataDir)) })
}

// learnerTerminal starts a session as a browser would, opens its terminal,
// and types into the jailed shell; other learners and other sites are
// refused.
func learnerTerminal(t *testing.T, base string) {
	browser, sess := newSession(t, base, "kubernetes-basics")
	jar := browser.Jar
	resp, err := browser.Post(base+"/api/sessions", "application/json", strings.NewReader(`{"scenario":"no-such-scenario"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /api/sessions for an unknown scenario = %d, want 404", resp.StatusCode)
	}

	ws, wsURL, cookies := dialTerminal(t, base, jar, sess.ID)
	defer ws.Close()
	// Split words keep the typed line's echo from matching the output.
	out := typeInTerminal(t, ws, "echo hel''lo; kubectl config view --minify -o jsonpath='{..namespace}'; echo ' do''ne'", " done")
	if !strings.Contains(out, "hello") || !strings.Contains(out, sess.Namespace) {
		t.Errorf("terminal output lacks hello or the namespace %s:\n%s", sess.Namespace, out)
	}

	refused := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"another learner", http.Header{"Origin": {base}}, http.StatusNotFound},
		{"a foreign site with the learner's cookie", http.Header{"Origin": {"https://evil.example"}, "Cookie": cookies["Cookie"]}, http.StatusUnauthorized},
	}
	for _, r := range refused {
		c, resp, err := websocket.DefaultDialer.Dial(wsURL, r.header)
		if err == nil {
			c.Close()
			t.Errorf("%s opened the terminal", r.name)
			continue
		}
		if resp == nil || resp.StatusCode != r.want {
			t.Errorf("%s: %v, want status %d", r.name, resp, r.want)
		}
	}

	// The learner does step 1 in their terminal; the check sees it.
	api := func(method, path string, client *http.Client) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	id := "/api/sessions/" + sess.ID
	if status, body := api("GET", id, browser); status != 200 || strings.Count(body, `"status":"pending"`) != 7 {
		t.Errorf("GET %s = %d %s, want 7 pending steps", id, status, body)
	}
	if status, body := api("POST", id+"/steps/0/check", browser); status != 200 || !strings.Contains(body, "There is no pod named hello yet") {
		t.Errorf("check of step 1 before doing it = %d %s", status, body)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("0kubectl run hello --image=nginx:1.27 && kubectl label pod hello env=lab\r")); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "step 1 passes", func(context.Context) (bool, error) {
		_, body := api("POST", id+"/steps/0/check", browser)
		return strings.Contains(body, `"passed":true,"results"`), nil
	})
	if status, body := api("GET", id, browser); status != 200 || !strings.Contains(body, `{"index":0,"title":"Your first Pod","status":"passed"}`) {
		t.Errorf("GET %s after step 1 = %d %s", id, status, body)
	}
	// Step 2 turns green live, with nobody pressing Check.
	evCtx, stopEvents := context.WithTimeout(context.Background(), time.Minute)
	defer stopEvents()
	req, _ := http.NewRequestWithContext(evCtx, "GET", base+id+"/events", nil)
	events, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Body.Close()
	if ct := events.Header.Get("Content-Type"); events.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("GET %s/events = %d %s", id, events.StatusCode, ct)
	}
	lines := bufio.NewScanner(events.Body)
	nextEvent := func() string {
		t.Helper()
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data:"); ok {
				return data
			}
		}
		t.Fatalf("event stream ended: %v", lines.Err())
		return ""
	}
	if e := nextEvent(); !strings.Contains(e, `"step":1,"passed":false`) {
		t.Errorf("first event = %s, want step 2 (index 1) not passed", e)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("0kubectl delete pod hello --wait=false && kubectl create deployment web --image=nginx:1.27 --replicas=2\r")); err != nil {
		t.Fatal(err)
	}
	for e := nextEvent(); !strings.Contains(e, `"step":1,"passed":true`); e = nextEvent() {
		if !strings.Contains(e, `"step":1`) {
			t.Fatalf("event for another step before step 2 passed: %s", e)
		}
	}
	if e := nextEvent(); !strings.Contains(e, `"step":2,"passed":false`) {
		t.Errorf("after step 2, event = %s, want step 3 (index 2) watched", e)
	}
	stopEvents()

	stranger := &http.Client{}
	for _, r := range [][2]string{{"GET", id}, {"POST", id + "/steps/0/check"}, {"POST", id + "/extend"}, {"DELETE", id}} {
		if status, body := api(r[0], r[1], stranger); status != http.StatusNotFound {
			t.Errorf("another learner: %s %s = %d %s, want 404", r[0], r[1], status, body)
		}
	}
	if status, body := api("POST", id+"/extend", browser); status != 200 || !strings.Contains(body, `"expiresAt"`) {
		t.Errorf("extend = %d %s", status, body)
	}
	if status, body := api("DELETE", id, browser); status != http.StatusNoContent {
		t.Errorf("end = %d %s", status, body)
	}
	if status, _ := api("GET", id, browser); status != http.StatusNotFound {
		t.Errorf("GET after end = %d, want 404", status)
	}
}
