package server_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/server"
)

// fakeCatalog serves one good scenario, with one asset, and one broken.
type fakeCatalog struct{ files fstest.MapFS }

func (fakeCatalog) Scenarios() []server.CatalogEntry {
	return []server.CatalogEntry{
		{ID: "kubernetes-basics", Scenario: &keiko.Scenario{
			ID: "kubernetes-basics", Title: keiko.Text{"en": "Kubernetes basics", "ja": "Kubernetes の基本"},
			Description: keiko.Text{"en": "Pods and more."}, Track: "basics", Level: keiko.LevelBeginner, Duration: 30 * time.Minute,
			Intro: keiko.Page{HTML: keiko.Text{"en": "<p>Welcome &amp; hello</p>", "ja": "<p>ようこそ</p>"}},
			Steps: []keiko.Step{{Title: keiko.Text{"en": "Run a pod"}, Text: keiko.Page{HTML: keiko.Text{"en": `<div class="run-block" data-action="exec"><pre><code>kubectl run</code></pre></div>`}},
				Solve:  keiko.Action{Script: "kubectl run hello --image=nginx"},
				Checks: []keiko.Check{{Message: keiko.Text{"en": "Create the pod hello."}}}}},
		}},
		{ID: "broken-one", Problems: []string{"broken-one/scenario.yaml:3: level \"expert\" must be one of beginner, intermediate, advanced"}},
	}
}

func (c fakeCatalog) Asset(id, name string) (fs.File, error) {
	if id != "kubernetes-basics" {
		return nil, fs.ErrNotExist
	}
	return c.files.Open(name)
}

func newCatalogServer() *server.Server {
	return server.New(server.Config{Catalog: fakeCatalog{fstest.MapFS{
		"images/pods.svg": {Data: []byte("<svg/>")},
	}}})
}

func TestListScenarios(t *testing.T) {
	s := newCatalogServer()
	for _, tc := range []struct {
		lang, title string
	}{{"en", "Kubernetes basics"}, {"ja", "Kubernetes の基本"}} {
		status, body, _ := get(t, s, "/api/scenarios?lang="+tc.lang, nil)
		var got []map[string]any
		if err := json.Unmarshal([]byte(body), &got); status != http.StatusOK || err != nil {
			t.Fatalf("GET /api/scenarios = %d %s (%v)", status, body, err)
		}
		if len(got) != 2 || got[0]["title"] != tc.title || got[0]["steps"] != 1.0 || got[0]["minutes"] != 30.0 || got[0]["level"] != "beginner" {
			t.Errorf("%s: first entry %v", tc.lang, got[0])
		}
		if got[1]["broken"] != true || !strings.Contains(got[1]["problems"].([]any)[0].(string), "scenario.yaml:3") {
			t.Errorf("%s: broken entry %v", tc.lang, got[1])
		}
	}
}

func TestScenarioPages(t *testing.T) {
	s := newCatalogServer()
	for _, tc := range []struct {
		name, path string
		status     int
		want       []string
	}{
		{"catalog on the landing page", "/?lang=en", 200, []string{"Kubernetes basics", `href="/scenarios/kubernetes-basics"`,
			"Beginner · 30 min · 1 steps", "Scenarios with errors", "broken-one/scenario.yaml:3"}},
		{"catalog in Japanese", "/?lang=ja", 200, []string{"Kubernetes の基本", "初級 · 30 分", "エラーのあるシナリオ"}},
		{"a scenario's overview, with its start", "/scenarios/kubernetes-basics?lang=en", 200, []string{"<p>Welcome &amp; hello</p>",
			`href="/scenarios/kubernetes-basics/play"`, "<li>Run a pod</li>"}},
		{"the player has every page, rendered HTML kept", "/scenarios/kubernetes-basics/play?lang=en", 200, []string{"<p>Welcome &amp; hello</p>",
			`<div class="run-block" data-action="exec">`, "Step 1 / 1", "Run a pod", `/static/player.js`}},
		{"a scenario's preview, rendered HTML kept", "/scenarios/kubernetes-basics?lang=en&preview=1", 200, []string{"<p>Welcome &amp; hello</p>",
			`<div class="run-block" data-action="exec">`, "Step 1</span> Run a pod", "Create the pod hello.", "kubectl run hello --image=nginx"}},
		{"Japanese falls back to English per text", "/scenarios/kubernetes-basics?lang=ja", 200, []string{"<p>ようこそ</p>", "Run a pod"}},
		{"a broken scenario shows its problems", "/scenarios/broken-one", 200, []string{"broken-one/scenario.yaml:3: level"}},
		{"no such scenario", "/scenarios/nope", 404, []string{`There is no scenario &#34;nope&#34;.`}},
		{"an asset", "/scenarios/kubernetes-basics/assets/images/pods.svg", 200, []string{"<svg/>"}},
		{"an asset that is not there", "/scenarios/kubernetes-basics/assets/images/none.svg", 404, nil},
		{"traversal", "/scenarios/kubernetes-basics/assets/../../../etc/passwd", 404, nil},
		{"encoded traversal", "/scenarios/kubernetes-basics/assets/%2e%2e/secret", 404, nil},
		{"another scenario's assets", "/scenarios/broken-one/assets/images/pods.svg", 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := get(t, s, tc.path, nil)
			if status != tc.status {
				t.Fatalf("GET %s = %d, want %d\n%s", tc.path, status, tc.status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q", tc.path, w)
				}
			}
			if strings.Contains(tc.path, "/assets/") && status == 200 {
				if h.Get("Content-Type") != "image/svg+xml" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
					t.Errorf("asset headers: %v", h)
				}
			}
		})
	}
}
