package scenarios

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/keiko-lab/keiko"
)

// validTests are the fixtures that must load without a single problem;
// check looks at what they built.
var validTests = []struct {
	dir   string
	check func(t *testing.T, e *Entry)
}{
	{dir: "valid-full", check: checkValidFull},
	{dir: "valid-minimal", check: checkValidMinimal},
	{dir: "valid-selector", check: checkValidSelector},
}

func TestLoadValid(t *testing.T) {
	var dirs []string
	for _, tt := range validTests {
		dirs = append(dirs, tt.dir)
	}
	fixtureDirs(t, "valid-*", dirs)
	for _, tt := range validTests {
		t.Run(tt.dir, func(t *testing.T) {
			e := Load(os.DirFS("testdata"), tt.dir)
			if len(e.Problems) > 0 || e.Scenario == nil {
				t.Fatalf("problems:\n%s", strings.Join(problemStrings(e), "\n"))
			}
			if e.Broken() {
				t.Error("Broken() = true with no problems")
			}
			if e.Dir != tt.dir || e.ID != tt.dir || e.Scenario.ID != tt.dir {
				t.Errorf("dir, id, scenario id = %q, %q, %q; want %q for all", e.Dir, e.ID, e.Scenario.ID, tt.dir)
			}
			for i, st := range e.Scenario.Steps {
				if st.Index != i {
					t.Errorf("step %d has index %d", i, st.Index)
				}
			}
			tt.check(t, e)
		})
	}
}

func checkValidFull(t *testing.T, e *Entry) {
	s := e.Scenario
	wantEqual(t, "title", s.Title, keiko.Text{"en": "A full scenario", "ja": "すべてを使うシナリオ"})
	wantEqual(t, "description", s.Description, keiko.Text{"en": "Every field of the format.", "ja": "形式のすべての項目。"})
	wantEqual(t, "track", s.Track, "basics")
	wantEqual(t, "level", s.Level, keiko.LevelBeginner)
	wantEqual(t, "duration", s.Duration, 20*time.Minute)
	wantEqual(t, "tags", s.Tags, []string{"pods"})
	wantEqual(t, "requires", s.Requires, []string{"v1/Pod", "apps/v1/Deployment"})
	wantEqual(t, "sandbox", s.Sandbox, keiko.SandboxSpec{Size: "small", PodSecurity: "baseline"})
	wantEqual(t, "setup", s.Setup, keiko.Action{
		Manifests: readFixture(t, "valid-full/setup.yaml"),
		Script:    "kubectl create configmap greeting --from-literal=hello=world\n",
	})

	wantEqual(t, "intro markdown", s.Intro.Markdown, keiko.Text{"en": readFixture(t, "valid-full/intro.md"), "ja": readFixture(t, "valid-full/intro.ja.md")})
	for lang, want := range map[string][]string{
		"en": {`<img src="/scenarios/valid-full/assets/images/diagram.svg" alt="a diagram">`, `<a href="https://kubernetes.io/docs/">reference</a>`,
			`<p class="admonition-title">Note</p>`, `<summary>Show the answer</summary>`},
		"ja": {`<img src="/scenarios/valid-full/assets/images/diagram.svg" alt="a diagram">`, `<p class="admonition-title">メモ</p>`},
	} {
		for _, w := range want {
			if !strings.Contains(s.Intro.HTML[lang], w) {
				t.Errorf("intro HTML (%s) lacks %s:\n%s", lang, w, s.Intro.HTML[lang])
			}
		}
	}
	wantEqual(t, "finish HTML", s.Finish.HTML, keiko.Text{"en": "<h1>Done</h1>\n<p>Well done.</p>\n", "ja": "<h1>完了</h1>\n<p>よくできました。</p>\n"})

	if len(s.Steps) != 1 {
		t.Fatalf("%d steps, want 1", len(s.Steps))
	}
	st := s.Steps[0]
	wantEqual(t, "step title", st.Title, keiko.Text{"en": "Run a deployment", "ja": "デプロイメントを動かす"})
	wantEqual(t, "step markdown", st.Text.Markdown["en"], readFixture(t, "valid-full/step1.md"))
	if h := st.Text.HTML["ja"]; !strings.Contains(h, `<div class="run-block" data-action="exec" data-interrupt="true"><pre><code>kubectl get pods -w`) {
		t.Errorf("step HTML (ja) lacks the block closed with {{exec interrupt}}:\n%s", h)
	}
	wantEqual(t, "hint", st.Hint, keiko.Page{
		Markdown: keiko.Text{"en": "Use `kubectl create deployment`.", "ja": "`kubectl create deployment` を使います。"},
		HTML:     keiko.Text{"en": "<p>Use <code>kubectl create deployment</code>.</p>\n", "ja": "<p><code>kubectl create deployment</code> を使います。</p>\n"},
	})
	wantEqual(t, "step setup", st.Setup, keiko.Action{})
	wantEqual(t, "solve", st.Solve, keiko.Action{Script: "kubectl create deployment web --image=nginx --replicas=2"})
	wantEqual(t, "checks", st.Checks, []keiko.Check{
		{
			Resource: "apps/v1/deployments",
			Name:     "web",
			Expr:     "object != null && object.?status.readyReplicas.orValue(0) >= 2",
			Message: keiko.Text{
				"en": "Create a deployment named web with 2 ready replicas.",
				"ja": "web という名前で、準備完了のレプリカが 2 つあるデプロイメントを作ってください。",
			},
			MessageExpr: keiko.Text{"en": "object == null ? 'There is no deployment web yet.' : 'deployment web has ' + string(object.?status.readyReplicas.orValue(0)) + ' ready replicas, 2 wanted'"},
			Timeout:     5 * time.Second,
		},
		{
			Script:  "test -f ~/done || { echo \"FAIL: create ~/done\"; exit 1; }\n",
			Message: keiko.Text{"en": "Create the file ~/done.", "ja": "~/done というファイルを作ってください。"},
		},
	})

	f, err := e.Asset("images/diagram.svg")
	if err != nil {
		t.Fatalf("Asset(images/diagram.svg): %v", err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "diagram.svg", string(got), readFixture(t, "valid-full/images/diagram.svg"))
	// Only what the pages link to is served: scenario.yaml holds the
	// solutions, and nothing outside the directory is the scenario's.
	for _, name := range []string{FileName, "setup.yaml", "step1.md", "images", "../x", "/images/diagram.svg", "images/../images/diagram.svg", ""} {
		if f, err := e.Asset(name); !errors.Is(err, fs.ErrNotExist) {
			if f != nil {
				f.Close()
			}
			t.Errorf("Asset(%q) = %v, want fs.ErrNotExist", name, err)
		}
	}
}

func checkValidMinimal(t *testing.T, e *Entry) {
	s := e.Scenario
	wantEqual(t, "title", s.Title, keiko.Text{"en": "A minimal scenario"})
	wantEqual(t, "description", s.Description, keiko.Text(nil))
	wantEqual(t, "duration", s.Duration, 5*time.Minute)
	wantEqual(t, "setup", s.Setup.Empty(), true)
	wantEqual(t, "intro", s.Intro, keiko.Page{})
	wantEqual(t, "finish", s.Finish, keiko.Page{})
	if len(s.Steps) != 1 {
		t.Fatalf("%d steps, want 1", len(s.Steps))
	}
	st := s.Steps[0]
	wantEqual(t, "step title", st.Title, keiko.Text{"en": "Run a pod"})
	wantEqual(t, "step HTML", st.Text.HTML, keiko.Text{"en": "<h1>Run a pod</h1>\n<p>Run <code class=\"run\" data-action=\"exec\">kubectl run web --image=nginx</code>.</p>\n"})
	wantEqual(t, "hint", st.Hint, keiko.Page{})
	wantEqual(t, "solve", st.Solve.Empty(), true)
	wantEqual(t, "checks", st.Checks, []keiko.Check{{Resource: "v1/pods", Name: "web", Expr: "object != null", Message: keiko.Text{"en": "Create a pod named web."}}})
	if _, err := e.Asset("step1.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Asset(step1.md) = %v with no page linking to it", err)
	}
}

func checkValidSelector(t *testing.T, e *Entry) {
	s := e.Scenario
	wantEqual(t, "description", s.Description, keiko.Text{"en": "Select pods by label."})
	wantEqual(t, "track", s.Track, "workloads")
	wantEqual(t, "level", s.Level, keiko.LevelIntermediate)
	wantEqual(t, "duration", s.Duration, 75*time.Minute)
	wantEqual(t, "requires", s.Requires, []string{"v1/Pod", "discovery.k8s.io/v1/EndpointSlice"})
	wantEqual(t, "sandbox", s.Sandbox, keiko.SandboxSpec{})
	if len(s.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(s.Steps))
	}

	read := s.Steps[0]
	wantEqual(t, "step 1 checks", read.Checks, []keiko.Check(nil))
	// The page is in steps/, and its links are relative to it.
	for _, w := range []string{
		`<img src="/scenarios/valid-selector/assets/images/selector.svg" alt="a selector picking pods">`,
		`<a href="/scenarios/valid-selector/assets/steps/label.md#top">the next step</a>`,
	} {
		if !strings.Contains(read.Text.HTML["en"], w) {
			t.Errorf("step 1 HTML lacks %s:\n%s", w, read.Text.HTML["en"])
		}
	}
	for _, name := range []string{"images/selector.svg", "steps/label.md"} {
		f, err := e.Asset(name)
		if err != nil {
			t.Errorf("Asset(%s): %v", name, err)
			continue
		}
		f.Close()
	}

	label := s.Steps[1]
	wantEqual(t, "step 2 setup", label.Setup, keiko.Action{
		Manifests: readFixture(t, "valid-selector/manifests/pods.yaml") + "\n---\n" + readFixture(t, "valid-selector/manifests/service.yaml"),
		Script:    "kubectl wait --for=condition=Ready pod --all --timeout=60s",
	})
	wantEqual(t, "step 2 solve", label.Solve, keiko.Action{Manifests: readFixture(t, "valid-selector/manifests/labelled.yaml")})
	wantEqual(t, "step 2 checks", label.Checks, []keiko.Check{
		{Resource: "v1/pods", Selector: "app=web,tier in (front)", Expr: "objects.size() >= 2", Message: keiko.Text{"en": "Label two pods app=web and tier=front."}, Timeout: time.Minute},
		{Resource: "v1/pods", Expr: "objects.all(p, has(p.metadata.labels))", Message: keiko.Text{"en": "Give every pod a label."}},
		{Script: "kubectl get pods -l app=web -o name | grep -q ."},
		{
			Script:  "n=$(kubectl get pods -l tier=front -o name | wc -l)\n[ \"$n\" -ge 2 ] || { echo \"FAIL: only $n front pods\"; exit 1; }\n",
			Message: keiko.Text{"en": "Label two pods tier=front."},
			Timeout: 30 * time.Second,
		},
	})
}

// invalidTests are the fixtures that must not load, with every problem
// each one must report, in order. The lines are those of the offending
// value in scenario.yaml, or in the file named.
var invalidTests = []struct {
	dir  string
	want []string
}{
	{dir: "invalid-no-scenario", want: []string{
		"invalid-no-scenario: no scenario.yaml here (nor a Killercoda index.json)",
	}},
	{dir: "invalid-empty", want: []string{
		"invalid-empty/scenario.yaml: is empty",
	}},
	// go-yaml places a parser error at the start of the block it was
	// parsing, not at the line that broke it (line 5 here).
	{dir: "invalid-syntax", want: []string{
		"invalid-syntax/scenario.yaml:4: did not find expected '-' indicator",
	}},
	{dir: "invalid-syntax-scanner", want: []string{
		"invalid-syntax-scanner/scenario.yaml:2: mapping values are not allowed in this context",
	}},
	{dir: "invalid-unknown-fields", want: []string{
		"invalid-unknown-fields/scenario.yaml:2: field titel not found in a scenario",
		"invalid-unknown-fields/scenario.yaml:8: field cpu not found in sandbox",
		"invalid-unknown-fields/scenario.yaml:10: field scripts not found in setup or solve",
		"invalid-unknown-fields/scenario.yaml:14: field hints not found in a step",
		"invalid-unknown-fields/scenario.yaml:16: field manifest not found in setup or solve",
		"invalid-unknown-fields/scenario.yaml:19: field msg not found in a check",
	}},
	{dir: "invalid-wrong-types", want: []string{
		"invalid-wrong-types/scenario.yaml:4: cannot unmarshal !!seq into string",
		"invalid-wrong-types/scenario.yaml:8: cannot unmarshal !!str `pods` into []string",
		"invalid-wrong-types/scenario.yaml:9: cannot unmarshal !!str `small` into sandbox",
		"invalid-wrong-types/scenario.yaml:13: cannot unmarshal !!seq into setup or solve",
		"invalid-wrong-types/scenario.yaml:15: cannot unmarshal !!map into a list of checks",
	}},
	{dir: "invalid-text-type", want: []string{
		"invalid-text-type/scenario.yaml:2: want a string, or a map from language to string",
	}},
	{dir: "invalid-metadata", want: []string{
		`invalid-metadata/scenario.yaml:1: id "Bad_ID" must be lower-case letters, digits and dashes, at most 63`,
		`invalid-metadata/scenario.yaml:4: title has no "en" text`,
		`invalid-metadata/scenario.yaml:5: description has no ja translation`,
		`invalid-metadata/scenario.yaml:1: track is missing; it groups the scenario in the catalog`,
		`invalid-metadata/scenario.yaml:6: level "expert" must be one of beginner, intermediate, advanced`,
		`invalid-metadata/scenario.yaml:7: duration "soon" must be a length of time such as 30m or 1h15m`,
		`invalid-metadata/scenario.yaml:10: requires "Deployment" must be group/version/Kind, such as apps/v1/Deployment, or v1/Pod for the core group`,
		`invalid-metadata/scenario.yaml:11: requires "apps/v1/deployments" must be group/version/Kind, such as apps/v1/Deployment, or v1/Pod for the core group`,
		`invalid-metadata/scenario.yaml:13: podSecurity "privileged" must be one of baseline, restricted`,
		`invalid-metadata/scenario.yaml:1: steps is missing; a scenario needs at least one step`,
	}},
	// A problem with no field of its own is at the top mapping, which
	// starts after the comment.
	{dir: "invalid-languages", want: []string{
		`invalid-languages/scenario.yaml:3: language "Japanese" is not a language tag such as en or ja`,
		`invalid-languages/scenario.yaml:3: languages must include "en", the language every scenario is written in`,
		`invalid-languages/scenario.yaml:5: title has no "en" text`,
		`invalid-languages/scenario.yaml:9: duration "0s" must be a length of time such as 30m or 1h15m`,
		`invalid-languages/scenario.yaml:2: steps is missing; a scenario needs at least one step`,
	}},
	{dir: "invalid-missing", want: []string{
		`invalid-missing/scenario.yaml:2: id is missing; give the scenario a slug such as "invalid-missing"`,
		`invalid-missing/scenario.yaml:2: title is missing`,
		`invalid-missing/scenario.yaml:6: description has no ja translation`,
		`invalid-missing/scenario.yaml:2: track is missing; it groups the scenario in the catalog`,
		`invalid-missing/scenario.yaml:8: step 1 title is missing`,
		`invalid-missing/scenario.yaml:8: step1.ja.md: file not found (the ja translation of step1.md)`,
	}},
	{dir: "invalid-steps", want: []string{
		`invalid-steps/scenario.yaml:9: step 1 has no text; name its markdown file, such as step1.md`,
		`invalid-steps/scenario.yaml:10: step 1 hint has no ja translation`,
		`invalid-steps/scenario.yaml:12: missing.md: file not found`,
		`invalid-steps/scenario.yaml:12: missing.ja.md: file not found (the ja translation of missing.md)`,
		`invalid-steps/scenario.yaml:14: ../outside.md: must be a path inside the scenario directory`,
		`invalid-steps/scenario.yaml:14: ../outside.ja.md: must be a path inside the scenario directory (the ja translation of ../outside.md)`,
		`invalid-steps/scenario.yaml:15: step 4 title has no ja translation`,
		`invalid-steps/scenario.yaml:19: step 4 check 1 message has no ja translation`,
	}},
	{dir: "invalid-checks", want: []string{
		`invalid-checks/scenario.yaml:10: step 1 check 1 has both resource and script; a check is one or the other`,
		`invalid-checks/scenario.yaml:12: step 1 check 2 is a script check; expr, name and selector belong to resource checks`,
		`invalid-checks/scenario.yaml:14: step 1 check 3 needs a resource (with expr) or a script`,
		`invalid-checks/scenario.yaml:15: step 1 check 4: resource "pods" must be group/version/resource, such as apps/v1/deployments, or v1/pods for the core group`,
		`invalid-checks/scenario.yaml:19: step 1 check 5 has both name and selector; use one`,
		`invalid-checks/scenario.yaml:25: step 1 check 6: selector "app in (web": unable to parse requirement: found '', expected: ',' or ')'`,
		`invalid-checks/scenario.yaml:28: step 1 check 7 has no expr; give the CEL condition that passes it, over object or objects`,
		`invalid-checks/scenario.yaml:33: step 1 check 8: expr does not compile: <input>:1:29: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', ')', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`,
		`invalid-checks/scenario.yaml:37: step 1 check 9: expr does not compile: expression gives int, want bool`,
		`invalid-checks/scenario.yaml:44: step 1 check 10: messageExpr (en) does not compile: <input>:1:13: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}`,
		`invalid-checks/scenario.yaml:45: step 1 check 10: messageExpr (ja) does not compile: expression gives int, want string`,
		`invalid-checks/scenario.yaml:46: step 1 check 11 has no message; say what the learner should do when it fails`,
		`invalid-checks/scenario.yaml:50: step 1 check 12: timeout "soon" must be a length of time such as 10s`,
		`invalid-checks/scenario.yaml:52: step 1 check 13: timeout "-1s" must be a length of time such as 10s`,
	}},
	{dir: "invalid-manifests", want: []string{
		`invalid-manifests/scenario.yaml:8: manifest missing.yaml: file not found`,
		`invalid-manifests/scenario.yaml:9: manifest ../outside.yaml: must be a path inside the scenario directory`,
		`invalid-manifests/broken.yaml:9: not valid YAML: mapping values are not allowed in this context`,
		`invalid-manifests/not-object.yaml:2: not a Kubernetes object: it needs apiVersion and kind`,
		`invalid-manifests/not-object.yaml:4: not a Kubernetes object: it needs apiVersion and kind`,
		`invalid-manifests/not-object.yaml:8: not a Kubernetes object: it needs apiVersion and kind`,
		`invalid-manifests/unnamed.yaml:1: ConfigMap has no metadata.name`,
		`invalid-manifests/scenario.yaml:18: manifest solve/missing.yaml: file not found`,
	}},
	// A page's problems are at its own lines; a hint's, at the hint's
	// line in scenario.yaml.
	{dir: "invalid-links", want: []string{
		`invalid-links/intro.md:3: image images/missing.png: file not found`,
		`invalid-links/intro.md:6: link nowhere.md: file not found`,
		`invalid-links/intro.md:8: link ../invalid-checks/step1.md points outside the scenario directory`,
		`invalid-links/intro.md:10: link %zz is not a valid URL`,
		`invalid-links/intro.md:13: image images/none.svg: file not found`,
		`invalid-links/intro.ja.md:3: image images/missing.png: file not found`,
		`invalid-links/scenario.yaml:12: link notes.md: file not found`,
		`invalid-links/scenario.yaml:13: link notes.ja.md: file not found`,
	}},
}

func TestLoadInvalid(t *testing.T) {
	var dirs []string
	for _, tt := range invalidTests {
		dirs = append(dirs, tt.dir)
	}
	fixtureDirs(t, "invalid-*", dirs)
	for _, tt := range invalidTests {
		t.Run(tt.dir, func(t *testing.T) {
			e := Load(os.DirFS("testdata"), tt.dir)
			checkBroken(t, e, tt.want)
		})
	}
}

// loadFSTests are problems that are easier to make in memory than in a
// directory of testdata.
var loadFSTests = []struct {
	name  string
	files fstest.MapFS
	dir   string
	want  []string
}{
	{
		name: "dir outside the tree",
		dir:  "../elsewhere",
		want: []string{"../elsewhere: cannot open: sub ../elsewhere: invalid argument"},
	},
	{
		name:  "unreadable scenario.yaml",
		files: fstest.MapFS{"s/scenario.yaml/oops.md": {}},
		dir:   "s",
		want:  []string{"s/scenario.yaml: cannot read: read scenario.yaml: invalid argument"},
	},
	{
		name:  "zero bytes",
		files: fstest.MapFS{"s/scenario.yaml": {}},
		dir:   "s",
		want:  []string{"s/scenario.yaml: is empty"},
	},
	{
		name:  "a scalar, not a mapping",
		files: fstest.MapFS{"s/scenario.yaml": {Data: []byte("just words\n")}},
		dir:   "s",
		want:  []string{"s/scenario.yaml:1: cannot unmarshal !!str `just words` into a scenario"},
	},
	{
		name:  "a list of steps that is not a list",
		files: fstest.MapFS{"s/scenario.yaml": {Data: []byte("id: s\nsteps: step1.md\n")}},
		dir:   "s",
		want:  []string{"s/scenario.yaml:2: cannot unmarshal !!str `step1.md` into a list of steps"},
	},
	{
		name:  "a step that is not a mapping",
		files: fstest.MapFS{"s/scenario.yaml": {Data: []byte("id: s\nsteps:\n  - step1.md\n")}},
		dir:   "s",
		want:  []string{"s/scenario.yaml:3: cannot unmarshal !!str `step1.md` into a step"},
	},
	{
		name:  "a check that is not a mapping",
		files: fstest.MapFS{"s/scenario.yaml": {Data: []byte("id: s\nsteps:\n  - checks: [v1/pods]\n")}},
		dir:   "s",
		want:  []string{"s/scenario.yaml:3: cannot unmarshal !!str `v1/pods` into a check"},
	},
	{
		name:  "a tab",
		files: fstest.MapFS{"s/scenario.yaml": {Data: []byte("id: s\n\ttitle: Tab\n")}},
		dir:   "s",
		want:  []string{"s/scenario.yaml:2: found a tab character that violates indentation"},
	},
	{
		name: "a link in a plain-string hint",
		files: fstest.MapFS{
			"s/scenario.yaml": {Data: []byte("id: s\ntitle: S\ntrack: t\nlevel: advanced\nduration: 1m\nsteps:\n  - title: One\n    text: one.md\n    hint: |\n      Look at\n      ![this](gone.png).\n")},
			"s/one.md":        {Data: []byte("One.\n")},
		},
		dir:  "s",
		want: []string{"s/scenario.yaml:9: image gone.png: file not found"},
	},
}

func TestLoadFS(t *testing.T) {
	for _, tt := range loadFSTests {
		t.Run(tt.name, func(t *testing.T) {
			checkBroken(t, Load(tt.files, tt.dir), tt.want)
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "s/scenario.yaml", Line: 3, Message: "bad"}, "s/scenario.yaml:3: bad"},
		{Problem{File: "s/scenario.yaml", Message: "is empty"}, "s/scenario.yaml: is empty"},
		{Problem{File: "s/index.json", Message: "imported", Warning: true}, "s/index.json: warning: imported"},
		{Problem{File: "s/step1.md", Line: 1, Message: "odd", Warning: true}, "s/step1.md:1: warning: odd"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// checkBroken checks that e did not load, for exactly the problems in
// want.
func checkBroken(t *testing.T, e *Entry, want []string) {
	t.Helper()
	got := problemStrings(e)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e.Scenario != nil {
		t.Error("loaded a scenario")
	}
	if !e.Broken() {
		t.Error("Broken() = false")
	}
}

// TestLoadMessagesCovered finds every message format in load.go and
// checks that some fixture above produces it, so that a new message
// comes with a fixture. Formats that are all verb ("%s", "%v") pass on
// what go-yaml and the Killercoda importer say; the fixtures above and
// TestLoadKillercoda cover those.
func TestLoadMessagesCovered(t *testing.T) {
	var messages []string
	for _, tt := range invalidTests {
		for _, p := range Load(os.DirFS("testdata"), tt.dir).Problems {
			messages = append(messages, p.Message)
		}
	}
	for _, tt := range loadFSTests {
		for _, p := range Load(tt.files, tt.dir).Problems {
			messages = append(messages, p.Message)
		}
	}

	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "load.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	formatArg := map[string]int{"at": 1, "problem": 2, "warn": 2} // the loader's methods
	verb := regexp.MustCompile(`%[a-z]`)
	found := 0
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "l" {
			return true
		}
		i, ok := formatArg[sel.Sel.Name]
		if !ok || len(call.Args) <= i {
			return true
		}
		if _, ok := call.Args[i].(*ast.Ident); ok {
			return true // at passing its format on to problem
		}
		lit, ok := call.Args[i].(*ast.BasicLit)
		if !ok {
			t.Errorf("%s: the format is not a literal", fset.Position(call.Pos()))
			return true
		}
		format, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		found++
		if verb.ReplaceAllString(format, "") == "" {
			return true
		}
		parts := verb.Split(format, -1)
		for j, p := range parts {
			parts[j] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
		if !slices.ContainsFunc(messages, re.MatchString) {
			t.Errorf("%s: no fixture reports %q", fset.Position(lit.Pos()), format)
		}
		return true
	})
	if found < 30 {
		t.Errorf("found only %d messages in load.go; has the loader changed shape?", found)
	}
}

// LoadAll's tree: a scenario, a nested one, a broken one, one that
// reuses an id, and what is not a scenario.
var loadAllTree = fstest.MapFS{
	"alpha/scenario.yaml":                 {Data: scenarioYAML("alpha")},
	"alpha/step1.md":                      {Data: []byte("# Alpha\n")},
	"alpha/images/scenario.yaml":          {Data: []byte("not: looked at, inside a scenario\n")},
	"track/beta/scenario.yaml":            {Data: scenarioYAML("beta")},
	"track/beta/step1.md":                 {Data: []byte("# Beta\n")},
	"broken/scenario.yaml":                {Data: []byte("id: broken\ntitle: Broken\n")},
	"copy/scenario.yaml":                  {Data: scenarioYAML("alpha")},
	"copy/step1.md":                       {Data: []byte("# Alpha again\n")},
	".hidden/scenario.yaml":               {Data: scenarioYAML("hidden")},
	".hidden/step1.md":                    {Data: []byte("# Hidden\n")},
	"track/.drafts/gamma/scenario.yaml":   {Data: scenarioYAML("gamma")},
	"notes/README.md":                     {Data: []byte("Not a scenario.\n")},
	"track/beta-notes/scenario.yaml.orig": {Data: scenarioYAML("delta")},
}

func TestLoadAll(t *testing.T) {
	c := LoadAll(loadAllTree)
	type entry struct {
		dir, id  string
		loaded   bool
		problems []string
	}
	var got []entry
	for _, e := range c.Entries {
		got = append(got, entry{e.Dir, e.ID, e.Scenario != nil, problemStrings(e)})
	}
	want := []entry{
		{dir: "alpha", id: "alpha", loaded: true},
		{dir: "copy", id: "alpha", problems: []string{"copy/scenario.yaml: id alpha is already used by alpha"}},
		{dir: "track/beta", id: "beta", loaded: true},
		{dir: "broken", id: "broken", problems: []string{
			"broken/scenario.yaml:1: track is missing; it groups the scenario in the catalog",
			`broken/scenario.yaml:1: level "" must be one of beginner, intermediate, advanced`,
			`broken/scenario.yaml:1: duration "" must be a length of time such as 30m or 1h15m`,
			"broken/scenario.yaml:1: steps is missing; a scenario needs at least one step",
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n%+v\nwant\n%+v", got, want)
	}
	if e := c.Get("alpha"); e == nil || e.Dir != "alpha" {
		t.Errorf("Get(alpha) = %+v, want the entry in alpha", e)
	}
	if e := c.Get("broken"); e == nil || e.Scenario != nil {
		t.Errorf("Get(broken) = %+v, want the broken entry", e)
	}
	for _, id := range []string{"hidden", "gamma", "delta", "nope"} {
		if e := c.Get(id); e != nil {
			t.Errorf("Get(%s) = %+v, want nil", id, e)
		}
	}
}

func TestLoadAllDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		trees []fs.FS
		want  []string // every entry's problems, one string per entry
	}{
		{
			name: "across trees",
			trees: []fs.FS{
				fstest.MapFS{"a/scenario.yaml": {Data: scenarioYAML("same")}, "a/step1.md": {}},
				fstest.MapFS{"b/scenario.yaml": {Data: scenarioYAML("same")}, "b/step1.md": {}},
			},
			want: []string{"", "b/scenario.yaml: id same is already used by a"},
		},
		{
			// A broken scenario's id is taken all the same: the author
			// meant it, and two scenarios may not have it.
			name: "broken first",
			trees: []fs.FS{fstest.MapFS{
				"a/scenario.yaml": {Data: []byte("id: same\n")},
				"b/scenario.yaml": {Data: scenarioYAML("same")}, "b/step1.md": {},
			}},
			want: []string{"broken", "b/scenario.yaml: id same is already used by a"},
		},
		{
			// The first with an id is named, not the last one seen.
			name: "broken between",
			trees: []fs.FS{fstest.MapFS{
				"a/scenario.yaml": {Data: scenarioYAML("same")}, "a/step1.md": {},
				"b/scenario.yaml": {Data: []byte("id: same\n")},
				"c/scenario.yaml": {Data: scenarioYAML("same")}, "c/step1.md": {},
			}},
			want: []string{"", "broken", "c/scenario.yaml: id same is already used by a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range LoadAll(tt.trees...).Entries {
				if e.ID != "same" {
					t.Errorf("entry %s has id %q", e.Dir, e.ID)
				}
				ps := problemStrings(e)
				switch {
				case len(ps) == 0:
					got = append(got, "")
				case strings.Contains(ps[len(ps)-1], "already used"):
					got = append(got, ps[len(ps)-1])
				default:
					got = append(got, "broken")
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("entries:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestLoadAllTestdata loads the whole testdata tree, as keiko does a
// directory of authors' scenarios. The Killercoda fixtures are in it too,
// some of them broken on purpose; only the native fixtures are judged.
func TestLoadAllTestdata(t *testing.T) {
	entries := map[string]*Entry{}
	for _, e := range LoadAll(os.DirFS("testdata")).Entries {
		entries[e.Dir] = e
	}
	for _, tt := range validTests {
		if e := entries[tt.dir]; e == nil || len(e.Problems) > 0 || e.Scenario == nil {
			t.Errorf("%s did not load cleanly: %+v", tt.dir, e)
		}
	}
	for _, tt := range invalidTests {
		e := entries[tt.dir]
		if _, err := os.Stat(filepath.Join("testdata", tt.dir, FileName)); err != nil {
			if e != nil {
				t.Errorf("%s, with no %s, is in the catalog", tt.dir, FileName)
			}
			continue
		}
		if e == nil || e.Scenario != nil || !e.Broken() {
			t.Errorf("%s is not in the catalog as broken: %+v", tt.dir, e)
		}
	}
}

// TestBuiltin holds the scenarios that ship to a higher standard than
// loading: no warnings, and everything a learner can ask for is there.
func TestBuiltin(t *testing.T) {
	c := LoadAll(Builtin())
	if len(c.Entries) == 0 {
		t.Fatal("no built-in scenarios")
	}
	for _, e := range c.Entries {
		t.Run(e.Dir, func(t *testing.T) {
			if len(e.Problems) > 0 || e.Scenario == nil {
				t.Fatalf("problems:\n%s", strings.Join(problemStrings(e), "\n"))
			}
			s := e.Scenario
			for _, lang := range []string{"en", "ja"} {
				if s.Title[lang] == "" {
					t.Errorf("no %s title", lang)
				}
			}
			if len(s.Steps) == 0 {
				t.Error("no steps")
			}
			for i, st := range s.Steps {
				if len(st.Checks) == 0 {
					t.Errorf("step %d has no checks", i+1)
				}
				if strings.TrimSpace(st.Hint.Markdown[keiko.DefaultLanguage]) == "" {
					t.Errorf("step %d has no hint", i+1)
				}
				if st.Solve.Empty() {
					t.Errorf("step %d has no solve", i+1)
				}
			}
		})
	}
}

// scenarioYAML is the smallest scenario with the given id; its one step
// is step1.md.
func scenarioYAML(id string) []byte {
	return []byte("id: " + id + "\ntitle: " + id + "\ntrack: t\nlevel: beginner\nduration: 5m\n" +
		"steps:\n  - title: One\n    text: step1.md\n    checks:\n      - script: \"true\"\n")
}

// fixtureDirs checks that a table's dirs are exactly the directories in
// testdata that match pattern, so that no fixture goes untested.
func fixtureDirs(t *testing.T, pattern string, dirs []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range paths {
		got = append(got, filepath.Base(p))
	}
	want := slices.Sorted(slices.Values(dirs))
	if !slices.Equal(got, want) {
		t.Errorf("testdata/%s is %q, but the table has %q", pattern, got, want)
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v\nwant %#v", what, got, want)
	}
}

func problemStrings(e *Entry) []string {
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.String())
	}
	return out
}
