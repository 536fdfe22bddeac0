package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/keiko-lab/keiko/internal/clustertest"
)

// client is a browser for the API: its own cookie jar, or a bearer token.
type client struct {
	t      *testing.T
	base   string
	http   *http.Client
	bearer string
}

func newLearner(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

func (c *client) do(method, path, body string, header ...string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// terminal dials a session's terminal as c and returns its hello frame.
func (c *client) terminal(id string) (string, int) {
	c.t.Helper()
	h := http.Header{"Origin": {c.base}}
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.http.Jar != nil {
		u, _ := neturl.Parse(c.base)
		for _, k := range c.http.Jar.Cookies(u) {
			h.Add("Cookie", k.String())
		}
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(c.base, "http")+"/api/sessions/"+id+"/terminal", h)
	if err != nil {
		if resp == nil {
			c.t.Fatalf("dial terminal: %v", err)
		}
		return "", resp.StatusCode
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, f, err := ws.ReadMessage()
	if err != nil || len(f) == 0 || f[0] != '1' {
		c.t.Fatalf("terminal hello = %q, %v", f, err)
	}
	return string(f[1:]), http.StatusSwitchingProtocols
}

// workshopAndContinue runs a workshop as an instructor and two learners
// would, then takes a learner's sandbox away and has them continue.
func workshopAndContinue(t *testing.T, base, kubeconfig, instructorPassword string) {
	teacher := &client{t: t, base: base, http: &http.Client{}, bearer: instructorPassword}
	aiko, ben := newLearner(t, base), newLearner(t, base)

	if status, body := aiko.do("POST", "/api/join", `{"code":"NOPE-NOPE"}`); status != 404 {
		t.Errorf("join with a wrong code = %d %s, want 404", status, body)
	}
	now := time.Now()
	status, body := teacher.do("POST", "/api/workshops", fmt.Sprintf(`{"title":"Kansai #42","scenarios":["kubernetes-basics"],"capacity":1,"opens":%q,"closes":%q}`,
		now.Add(-time.Minute).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)))
	var w struct{ ID, Code string }
	if err := json.Unmarshal([]byte(body), &w); status != 201 || err != nil || len(w.Code) != 6 {
		t.Fatalf("create workshop = %d %s", status, body)
	}
	if status, body := aiko.do("POST", "/api/workshops", `{}`); status != 401 {
		t.Errorf("a learner creating a workshop = %d %s, want 401", status, body)
	}
	if status, body := aiko.do("POST", "/api/join", `{"code":"`+strings.ToLower(w.Code)+`","displayName":"Aiko"}`); status != 200 {
		t.Fatalf("join = %d %s", status, body)
	}
	if status, body := ben.do("POST", "/api/join", `{"code":"`+w.Code+`"}`); status != 409 || !strings.Contains(body, "full") {
		t.Errorf("join a full workshop = %d %s, want 409 full", status, body)
	}

	status, body = aiko.do("POST", "/api/sessions", `{"scenario":"kubernetes-basics"}`)
	var s1 struct{ ID string }
	if err := json.Unmarshal([]byte(body), &s1); status != 201 || err != nil {
		t.Fatalf("start = %d %s", status, body)
	}
	if status, body := aiko.do("POST", "/api/sessions", `{"scenario":"kubernetes-basics"}`); status != 200 || !strings.Contains(body, s1.ID) {
		t.Errorf("start again = %d %s, want 200 with the same session %s", status, body, s1.ID)
	}
	if status, body := aiko.do("POST", "/api/sessions/"+s1.ID+"/steps/0/skip", ""); status != 204 {
		t.Fatalf("skip = %d %s", status, body)
	}

	// The instructor sees Aiko's skip in the grid, and watches her
	// terminal read-only; another learner cannot.
	if status, body := teacher.do("GET", "/api/workshops/"+w.ID, ""); status != 200 || !strings.Contains(body, `"learner":"Aiko"`) || !strings.Contains(body, `"steps":["skipped","pending"`) {
		t.Errorf("grid = %d %s, want Aiko with step 1 skipped", status, body)
	}
	if hello, status := teacher.terminal(s1.ID); status != 101 || !strings.Contains(hello, `"readOnly":true`) {
		t.Errorf("instructor's terminal = %d %s, want read-only", status, hello)
	}
	if hello, status := aiko.terminal(s1.ID); status != 101 || !strings.Contains(hello, `"readOnly":false`) {
		t.Errorf("learner's own terminal = %d %s, want writable", status, hello)
	}
	if _, status := ben.terminal(s1.ID); status != 404 {
		t.Errorf("another learner's terminal = %d, want 404", status)
	}
	if status, body := teacher.do("GET", "/api/workshops/"+w.ID+"/results.csv", ""); status != 200 || !strings.Contains(body, "Aiko,") || !strings.Contains(body, ",skipped,") {
		t.Errorf("CSV = %d %s", status, body)
	}

	// The sandbox goes away, as when it expires: Aiko continues in a new
	// one, fast-forwarded past step 1, which she had skipped.
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(rc)
	if err := kube.CoreV1().Namespaces().Delete(context.Background(), "keiko-"+s1.ID, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	clustertest.Eventually(t, "the lost session is gone", func(context.Context) (bool, error) {
		status, _ := aiko.do("GET", "/api/sessions/"+s1.ID, "")
		return status == 404, nil
	})
	status, body = aiko.do("POST", "/api/sessions", `{"scenario":"kubernetes-basics"}`, "Accept", "application/x-ndjson")
	var last struct {
		Session struct{ ID, Namespace string }
	}
	lines := bufio.NewScanner(strings.NewReader(body))
	var phases []string
	for lines.Scan() {
		var l struct {
			Phase string
			Step  *int
		}
		_ = json.Unmarshal(lines.Bytes(), &l)
		if l.Phase != "" {
			phases = append(phases, fmt.Sprint(l.Phase, " ", *orMinus(l.Step)))
		}
		_ = json.Unmarshal(lines.Bytes(), &last)
	}
	if want := "sandbox -1,setup -1,replay 0,step 1"; status != 200 || strings.Join(phases, ",") != want || last.Session.ID == "" || last.Session.ID == s1.ID {
		t.Fatalf("continue = %d %s\nphases %v, want %s and a new session", status, body, phases, want)
	}
	if status, body := aiko.do("GET", "/api/sessions/"+last.Session.ID, ""); status != 200 || !strings.Contains(body, `"status":"skipped"`) {
		t.Errorf("continued session = %d %s, want step 1 still skipped", status, body)
	}
	// Step 1's solve was replayed: its pod is in the new namespace.
	clustertest.Eventually(t, "the replayed pod exists", func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().Pods(last.Session.Namespace).Get(ctx, "hello", metav1.GetOptions{})
		return err == nil, nil
	})
	if status, body := teacher.do("GET", "/api/workshops/"+w.ID, ""); status != 200 || !strings.Contains(body, last.Session.ID) {
		t.Errorf("grid after continuing = %d %s, want the new session in the workshop", status, body)
	}
	if status, body := aiko.do("DELETE", "/api/sessions/"+last.Session.ID, ""); status != 204 {
		t.Errorf("end = %d %s", status, body)
	}
}

func orMinus(p *int) *int {
	if p == nil {
		m := -1
		return &m
	}
	return p
}

// hookReceiver is an events webhook that checks each POST's signature.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []hookEvent
}

type hookEvent struct {
	Name, Session, Learner, Scenario, Workshop string
	Step                                       *int
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if r.Header.Get("X-Keiko-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("webhook POST with a bad signature: %s", body)
		}
		var e struct{ Event hookEvent }
		if err := json.Unmarshal(body, &e); err != nil || e.Event.Name == "" || e.Event.Session == "" || e.Event.Learner == "" {
			t.Errorf("webhook POST %s: %v", body, err)
		}
		h.mu.Lock()
		h.events = append(h.events, e.Event)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

// has reports whether an event of that name came, in a workshop if asked.
func (h *hookReceiver) has(name string, inWorkshop bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e.Name == name && (!inWorkshop || e.Workshop != "") {
			return true
		}
	}
	return false
}
