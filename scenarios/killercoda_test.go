package scenarios

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/keiko-lab/keiko"
)

// Notes the fixtures share.
const (
	kcRootNote   = ", which need root on the Killercoda VM or the whole cluster; Keiko runs scripts as the learner, with kubectl into their own namespace, so those commands will likely fail (kept as written)"
	kcLayoutNote = " is not supported: Keiko shows the instructions beside one terminal, with no editor, IDE, extra terminals or web tabs; imported for that one terminal"
	kcFgNote     = " ran visibly in the learner's terminal; it runs as part of "
	kcFgNoteEnd  = " instead, out of sight, so what it printed or left running there is lost"
)

var kcImportTests = []struct {
	dir                        string
	id, track, level, duration string
	notes                      []string
	check                      func(t *testing.T, f *File, files fs.FS)
}{
	{
		dir: "killercoda-basic", id: "killercoda-basic", track: "imported", level: "beginner", duration: "30m",
		notes: []string{
			"intro: foreground script intro/foreground.sh" + kcFgNote + "the scenario's setup" + kcFgNoteEnd,
			"step 3: foreground script step3/foreground.sh" + kcFgNote + "the step's setup" + kcFgNoteEnd,
		},
		check: func(t *testing.T, f *File, files fs.FS) {
			if got, want := f.Setup.Script, "# intro/background.sh\n(\n"+kcRead(t, files, "intro/background.sh")+")"+" || exit\n"+
				"# intro/foreground.sh\n(\n"+kcRead(t, files, "intro/foreground.sh")+") || exit\n"; got != want {
				t.Errorf("setup script:\n%s\nwant\n%s", got, want)
			}
			if got, want := f.Intro, "intro/text.md"; got != want {
				t.Errorf("intro = %q, want %q", got, want)
			}
			if got, want := f.Finish, "finish.md"; got != want {
				t.Errorf("finish = %q, want %q", got, want)
			}
			want := []StepFile{
				{Title: kcText("Run a pod"), Text: "step1/text.md", Checks: []CheckFile{{Script: kcRead(t, files, "step1/verify.sh"), Message: kcText("Not done yet: Run a pod.")}}},
				{Title: kcText("Create a deployment"), Text: "step2/text.md", Setup: ActionFile{Script: kcRead(t, files, "step2/background.sh")},
					Checks: []CheckFile{{Script: kcRead(t, files, "step2/verify.sh"), Message: kcText("Not done yet: Create a deployment.")}}},
				{Title: kcText("Clean up"), Text: "step3/text.md", Setup: ActionFile{Script: kcRead(t, files, "step3/foreground.sh")}},
			}
			if !reflect.DeepEqual(f.Steps, want) {
				t.Errorf("steps:\n%#v\nwant\n%#v", f.Steps, want)
			}
		},
	},
	{
		dir: "killercoda-katacoda", id: "killercoda-katacoda", track: "kubernetes-bootcamp", level: "intermediate", duration: "15m",
		notes: []string{
			"field details.intro.credits is not supported; ignored",
			"field environment.hideintro is not supported; ignored",
			`layout "editor-terminal"` + kcLayoutNote,
			"asset assets/app.yaml is written to ~/app.yaml, in the learner's home, by the setup script (Killercoda copied it to /root/app.yaml)",
			"asset assets/manifests/service.yaml is written to ~/manifests/service.yaml, in the learner's home, by the setup script (Killercoda copied it to ~/manifests/service.yaml)",
			"asset assets/hello.sh is written to ~/usr/local/bin/hello.sh, in the learner's home, by the setup script (Killercoda copied it to /usr/local/bin/hello.sh)",
			"assets for host02 are not supported, as a Keiko sandbox is one environment; 1 skipped",
			"intro: code script wait.sh" + kcFgNote + "the scenario's setup" + kcFgNoteEnd,
			"step1.md contains raw HTML, which Keiko does not render (it is left out); rewrite it as markdown",
			"step1.md uses {{open}}, {{execute T2}}: editors, other terminals or hosts, and links to the VM's ports are not supported; exec and copy marks run in the one terminal, the rest is left as text",
			"step 1: answer step1-answer.md (Katacoda's solution, shown on request) became the step's hint",
			"step 2: code script step2-foreground.sh" + kcFgNote + "the step's setup" + kcFgNoteEnd,
		},
		check: func(t *testing.T, f *File, files fs.FS) {
			// Assets first, then courseData, then code: the order
			// Katacoda started them in.
			setup := f.Setup.Script
			order := []string{"# assets\n", "cat > \"$HOME\"/'app.yaml' <<'KEIKO_ASSET_EOF'\n" + kcRead(t, files, "assets/app.yaml") + "KEIKO_ASSET_EOF\nchmod '+r'",
				"# env-init.sh\n(\n" + kcRead(t, files, "env-init.sh") + ") || exit\n", "# wait.sh\n(\n" + kcRead(t, files, "wait.sh") + ") || exit\n"}
			at := 0
			for _, s := range order {
				i := strings.Index(setup[at:], s)
				if i < 0 {
					t.Fatalf("setup script lacks %q after offset %d:\n%s", s, at, setup)
				}
				at += i + len(s)
			}
			if strings.Contains(setup, "node.conf") {
				t.Errorf("setup writes host02's asset:\n%s", setup)
			}
			s1 := f.Steps[0]
			if got, want := s1.Setup.Script, kcRead(t, files, "step1-background.sh"); got != want {
				t.Errorf("step 1 setup = %q, want %q", got, want)
			}
			if got, want := s1.Hint, kcText(kcRead(t, files, "step1-answer.md")); !reflect.DeepEqual(got, want) {
				t.Errorf("step 1 hint = %q, want %q", got, want)
			}
			if got, want := s1.Checks, []CheckFile{{Script: kcRead(t, files, "step1-verify.sh"), Message: kcText("Not done yet: Check the app.")}}; !reflect.DeepEqual(got, want) {
				t.Errorf("step 1 checks = %#v, want %#v", got, want)
			}
			if got, want := f.Steps[1].Setup.Script, kcRead(t, files, "step2-foreground.sh"); got != want {
				t.Errorf("step 2 setup = %q, want %q", got, want)
			}
		},
	},
	{
		dir: "killercoda-multinode", id: "killercoda-multinode", track: "imported", level: "beginner", duration: "30m",
		notes: []string{
			"field details.intro.title is not supported; ignored",
			"field labels is not supported; ignored",
			`backend "kubernetes-kubeadm-2nodes" has 2 nodes: Keiko gives the learner one namespace and no nodes of their own, so node01, ssh and node commands will fail; imported as a single sandbox`,
			`layout "ide"` + kcLayoutNote,
			"intro: background script setup.sh uses apt-get, ssh, kube-system" + kcRootNote,
			"step 1: verify script step1/verify.sh uses kubectl get nodes" + kcRootNote,
			"step 2: verify script step2/verify.sh uses ssh" + kcRootNote,
		},
		check: func(t *testing.T, f *File, files fs.FS) {
			if got, want := f.Setup.Script, kcRead(t, files, "setup.sh"); got != want {
				t.Errorf("setup = %q, want %q", got, want)
			}
			if len(f.Steps) != 2 || len(f.Steps[1].Checks) != 1 {
				t.Fatalf("steps = %#v, want 2, the second with a check", f.Steps)
			}
		},
	},
	{
		dir: "killercoda-broken/missing-files", id: "missing-files", track: "imported", level: "beginner", duration: "30m",
		notes: []string{
			`difficulty "fiendish" is not beginner, intermediate or advanced; level set to beginner`,
			`time "a while" is not understood; duration set to 30m`,
			`backend "ubuntu" is not a Kubernetes image: Keiko sandboxes are kubectl-only (a namespace in a shared cluster, with no VM, root or docker), so commands aimed at the VM will fail; imported as a Kubernetes scenario`,
			"intro: text intro.md does not exist; the scenario has no intro page",
			"intro: background script setup.sh does not exist; nothing is run in its place",
			"finish: background script cleanup.sh is not supported, as Keiko runs nothing when a scenario ends; dropped",
			"step1.md links to diagram.png, which does not exist",
			"step 1: verify script verify1.sh does not exist; the step has no check",
			"step 1: answer answer1.md does not exist; the step has no hint",
			"step 2: text step2.md does not exist; the step cannot load without it",
		},
		check: func(t *testing.T, f *File, _ fs.FS) {
			if f.Intro != "" || f.Setup.Script != "" {
				t.Errorf("intro = %q, setup = %q; want neither", f.Intro, f.Setup.Script)
			}
			// The missing page keeps its name, so the loader reports it.
			want := []StepFile{{Title: kcText("One"), Text: "step1.md"}, {Title: kcText("Two"), Text: "step2.md"}}
			if !reflect.DeepEqual(f.Steps, want) {
				t.Errorf("steps = %#v, want %#v", f.Steps, want)
			}
		},
	},
}

func TestImport(t *testing.T) {
	for _, tt := range kcImportTests {
		t.Run(tt.dir, func(t *testing.T) {
			files := os.DirFS(filepath.Join("testdata", tt.dir))
			im, err := Import(files, filepath.Base(tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			f := im.File
			if got := []string{f.ID, f.Track, f.Level, f.Duration}; !slices.Equal(got, []string{tt.id, tt.track, tt.level, tt.duration}) {
				t.Errorf("id, track, level, duration = %q, want %q", got, []string{tt.id, tt.track, tt.level, tt.duration})
			}
			if !slices.Equal(im.Notes, tt.notes) {
				t.Errorf("notes:\n%s\nwant\n%s", strings.Join(im.Notes, "\n"), strings.Join(tt.notes, "\n"))
			}
			tt.check(t, f, files)
		})
	}
}

// TestImportIndex covers index.json's variations on small scenarios.
func TestImportIndex(t *testing.T) {
	tests := []struct {
		name    string
		index   string
		dirName string
		check   func(t *testing.T, im *Imported)
		notes   []string
	}{
		{
			name:    "minutes",
			index:   `{"title": "T", "time": "15 minutes", "details": {"steps": [{"text": "s.md"}]}}`,
			dirName: "My Scenario_1",
			check:   kcWant("my-scenario-1", "15m"),
		},
		{
			name:  "range of minutes",
			index: `{"title": "T", "time": "10-15 min", "details": {"steps": [{"text": "s.md"}]}}`,
			check: kcWant("t", "15m"),
		},
		{
			name:  "hours",
			index: `{"title": "T", "time": "1 hour", "details": {"steps": [{"text": "s.md"}]}}`,
			check: kcWant("t", "1h"),
		},
		{
			name:  "bare number",
			index: `{"title": "T", "time": 20, "details": {"steps": [{"text": "s.md"}]}}`,
			check: kcWant("t", "20m"),
		},
		{
			name:  "id from index.json without a directory name",
			index: `{"id": "Katacoda_ID", "title": "T", "details": {"steps": [{"text": "s.md"}]}}`,
			check: kcWant("katacoda-id", ""),
		},
		{
			name:    "id from index.json differs from the directory",
			index:   `{"id": "other", "title": "T", "details": {"steps": [{"text": "s.md"}]}}`,
			dirName: "mine",
			notes:   []string{`field id "other" is ignored; the scenario's id is "mine", from its directory's name`},
		},
		{
			name:  "long id",
			index: `{"title": "` + strings.Repeat("ab ", 40) + `", "details": {"steps": [{"text": "s.md"}]}}`,
			check: kcWant(strings.TrimRight(strings.Repeat("ab-", 21), "-"), ""),
		},
		{
			name:  "untitled step",
			index: `{"title": "T", "details": {"steps": [{"text": "s.md"}]}}`,
			check: func(t *testing.T, im *Imported) {
				if got := im.File.Steps[0].Title; !reflect.DeepEqual(got, kcText("Step 1")) {
					t.Errorf("title = %v, want Step 1", got)
				}
			},
		},
		{
			name:  "wrong type",
			index: "{\"title\": \"T\",\n \"details\": {\"steps\": [{\"title\": 7, \"text\": \"s.md\"}]}}",
			notes: []string{"index.json:2:34: details.steps.title is a JSON number where a string belongs; ignored"},
		},
		{
			name:  "unknown fields, nested",
			index: `{"title": "T", "icon": "fa-kubernetes", "details": {"steps": [{"text": "s.md", "hint": "h.md"}], "assets": {"host01": [{"file": "s.md", "target": "~", "owner": "root"}]}}}`,
			notes: []string{
				"field details.assets.host01[0].owner is not supported; ignored",
				"field details.steps[0].hint is not supported; ignored",
				"field icon is not supported; ignored",
				"asset s.md does not exist in assets/; skipped",
			},
		},
		{
			name:  "challenge",
			index: `{"type": "challenge@1.0", "title": "T", "details": {"steps": [{"text": "s.md"}]}}`,
			notes: []string{`type "challenge@1.0": Katacoda challenges are not supported; imported as a plain scenario with the same steps`},
		},
		{
			name:  "Katacoda cluster",
			index: `{"title": "T", "details": {"steps": [{"text": "s.md"}]}, "backend": {"imageid": "kubernetes-cluster-running"}}`,
			notes: []string{`backend "kubernetes-cluster-running" has 2 nodes: Keiko gives the learner one namespace and no nodes of their own, so node01, ssh and node commands will fail; imported as a single sandbox`},
		},
		{
			name:  "root commands in commands' positions only",
			index: `{"title": "T", "details": {"steps": [{"text": "s.md", "background": "bg.sh"}]}}`,
			notes: []string{"step 1: background script bg.sh uses systemctl, docker, crictl" + kcRootNote},
		},
		{
			name:  "no steps",
			index: `{"title": "T"}`,
			notes: []string{"there are no steps, and a scenario needs at least one"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := fstest.MapFS{
				"index.json": {Data: []byte(tt.index)},
				"s.md":       {Data: []byte("Run `kubectl get pods`{{exec}}.\n")},
				"bg.sh": {Data: []byte("# systemctl in a comment is fine\n" +
					"kubectl get service web # a service is no systemd unit\n" +
					"sudo systemctl restart kubelet; docker ps\n" +
					"if crictl ps | grep -q etcd; then echo up; fi\n")},
			}
			im, err := Import(files, tt.dirName)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, im)
			}
			if !slices.Equal(im.Notes, tt.notes) {
				t.Errorf("notes:\n%s\nwant\n%s", strings.Join(im.Notes, "\n"), strings.Join(tt.notes, "\n"))
			}
		})
	}
}

// kcWant checks an import's id and duration, when not "".
func kcWant(id, duration string) func(t *testing.T, im *Imported) {
	return func(t *testing.T, im *Imported) {
		t.Helper()
		if id != "" && im.File.ID != id {
			t.Errorf("id = %q, want %q", im.File.ID, id)
		}
		if duration != "" && im.File.Duration != duration {
			t.Errorf("duration = %q, want %q", im.File.Duration, duration)
		}
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   fs.FS
		wantErr string
		is      error
	}{
		{"trailing comma", os.DirFS("testdata/killercoda-broken/bad-json"), "index.json:6:5: not valid JSON: invalid character ']' looking for beginning of value", nil},
		{"not an object", fstest.MapFS{"index.json": {Data: []byte(`["title"]`)}}, "index.json: want a JSON object, the scenario's settings", nil},
		{"truncated", fstest.MapFS{"index.json": {Data: []byte("{\"title\": \"T\",\n")}}, "index.json:1:15: not valid JSON: unexpected end of JSON input", nil},
		{"no index.json", fstest.MapFS{}, "cannot read index.json: open index.json: file does not exist", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Import(tt.files, "x")
			if err == nil {
				t.Fatalf("Import = %+v, want an error", im)
			}
			if got := err.Error(); got != tt.wantErr {
				t.Errorf("error = %q, want %q", got, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

// TestLoadKillercoda loads the fixtures as the catalog does.
func TestLoadKillercoda(t *testing.T) {
	tests := []struct {
		dir      string
		loads    bool
		problems []string // the loader's own, after the import's notes
		html     []string // in the first step's HTML
	}{
		{
			dir: "killercoda-basic", loads: true,
			html: []string{
				`<code class="run" data-action="exec">kubectl run web --image=nginx</code>`,
				`<code class="run" data-action="exec" data-interrupt="true">kubectl get pods</code>`,
				`<code class="run" data-action="copy">kubectl describe pod web</code>`,
			},
		},
		{dir: "killercoda-katacoda", loads: true, html: []string{`<code class="run" data-action="exec">kubectl get pods -l app=hello</code>`}},
		{dir: "killercoda-multinode", loads: true, html: []string{`<code class="run" data-action="exec">kubectl cordon node01</code>`}},
		{
			dir: "killercoda-broken/missing-files",
			problems: []string{
				"killercoda-broken/missing-files/step1.md:3: image diagram.png: file not found",
				"killercoda-broken/missing-files/index.json: step2.md: file not found",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			e := Load(os.DirFS("testdata"), tt.dir)
			if got := e.Scenario != nil; got != tt.loads {
				t.Fatalf("loaded = %v, want %v; problems:\n%s", got, tt.loads, kcProblems(e))
			}
			var notes []string
			for _, tc := range kcImportTests {
				if tc.dir == tt.dir {
					notes = tc.notes
				}
			}
			var want []string
			for _, n := range notes {
				want = append(want, tt.dir+"/index.json: warning: "+n)
			}
			want = append(want, tt.problems...)
			if got := kcProblems(e); !slices.Equal(got, want) {
				t.Errorf("problems:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if e.Scenario == nil {
				return
			}
			html := e.Scenario.Steps[0].Text.HTML.In(keiko.DefaultLanguage)
			for _, h := range tt.html {
				if !strings.Contains(html, h) {
					t.Errorf("step 1 HTML lacks %s:\n%s", h, html)
				}
			}
		})
	}
}

func TestLoadKillercodaFencedMarks(t *testing.T) {
	e := Load(os.DirFS("testdata"), "killercoda-basic")
	if e.Scenario == nil {
		t.Fatalf("not loaded:\n%s", strings.Join(kcProblems(e), "\n"))
	}
	html := e.Scenario.Steps[1].Text.HTML.In(keiko.DefaultLanguage)
	for _, h := range []string{
		`<div class="run-block" data-action="exec"><pre><code>kubectl create deployment web --image=nginx --replicas=2`,
		`<div class="run-block" data-action="copy"><pre><code class="language-bash">kubectl get deployment web`,
	} {
		if !strings.Contains(html, h) {
			t.Errorf("step 2 HTML lacks %s:\n%s", h, html)
		}
	}
}

// TestLoadKillercodaBadJSON: until Load turns "error: " notes into
// errors, the entry is broken by the empty File, and the note says why.
func TestLoadKillercodaBadJSON(t *testing.T) {
	e := Load(os.DirFS("testdata"), "killercoda-broken/bad-json")
	if e.Scenario != nil || !e.Broken() {
		t.Fatalf("loaded a scenario from bad JSON")
	}
	want := "index.json:6:5: not valid JSON: invalid character ']'"
	if !slices.ContainsFunc(kcProblems(e), func(p string) bool { return strings.Contains(p, want) }) {
		t.Errorf("problems lack %q:\n%s", want, strings.Join(kcProblems(e), "\n"))
	}
}

// TestWriteLoad writes imports out as native scenarios, which must load
// cleanly and be the same scenario as the import loaded directly.
func TestWriteLoad(t *testing.T) {
	for _, dir := range []string{"killercoda-basic", "killercoda-katacoda", "killercoda-multinode"} {
		t.Run(dir, func(t *testing.T) {
			im, err := Import(os.DirFS(filepath.Join("testdata", dir)), dir)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := im.Write(filepath.Join(out, dir)); err != nil {
				t.Fatal(err)
			}
			got := Load(os.DirFS(out), dir)
			if len(got.Problems) > 0 || got.Scenario == nil {
				t.Fatalf("written scenario has problems:\n%s", strings.Join(kcProblems(got), "\n"))
			}
			if got.ID != dir {
				t.Errorf("id = %q, want %q", got.ID, dir)
			}
			orig := Load(os.DirFS("testdata"), dir)
			g, w := got.Scenario, orig.Scenario
			if !reflect.DeepEqual(g.Steps, w.Steps) {
				t.Errorf("steps differ:\n%#v\nwant\n%#v", g.Steps, w.Steps)
			}
			if !reflect.DeepEqual(g.Setup, w.Setup) || !reflect.DeepEqual(g.Title, w.Title) || g.Duration != w.Duration ||
				g.Level != w.Level || g.Track != w.Track || !reflect.DeepEqual(g.Intro.Markdown, w.Intro.Markdown) {
				t.Errorf("scenario differs:\n%+v\nwant\n%+v", g, w)
			}
			yml, err := os.ReadFile(filepath.Join(out, dir, FileName))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range im.Notes {
				if !strings.Contains(string(yml), "# - "+n+"\n") {
					t.Errorf("%s lacks the note %q", FileName, n)
				}
			}
		})
	}
}

func TestWriteCopiesPagesAndLinks(t *testing.T) {
	im, err := Import(os.DirFS("testdata/killercoda-basic"), "killercoda-basic")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := im.Write(out); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{"finish.md", "images/owners.svg", "intro/text.md", FileName, "step1/text.md", "step2/text.md", "step3/text.md"}
	if !slices.Equal(got, want) {
		t.Errorf("written files = %q, want %q", got, want)
	}
}

// TestAssetsScript runs the setup that stands in for Killercoda's assets,
// with a real bash and a temporary home.
func TestAssetsScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run the setup script: %v", err)
	}
	files := fstest.MapFS{
		"index.json": {Data: []byte(`{"title": "T", "details": {"steps": [{"text": "s.md"}],
			"assets": {"host01": [{"file": "run it.sh", "target": "/root/bin", "chmod": "+x"}, {"file": "conf/*", "target": "/etc/app"}]}}}`)},
		"s.md":              {Data: []byte("Hello.\n")},
		"assets/run it.sh":  {Data: []byte("echo 'it''s' $HOME")}, // no final newline
		"assets/conf/a.yml": {Data: []byte("a: 1\n")},
		"assets/conf/b.png": {Data: []byte("\x89PNG\x00")},
	}
	im, err := Import(files, "t")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(bash, "-c", im.File.Setup.Script)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setup: %v\n%s\nscript:\n%s", err, out, im.File.Setup.Script)
	}
	for name, want := range map[string]string{"bin/run it.sh": "echo 'it''s' $HOME\n", "etc/app/a.yml": "a: 1\n"} {
		got, err := os.ReadFile(filepath.Join(home, name))
		if err != nil || string(got) != want {
			t.Errorf("~/%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(home, "bin/run it.sh")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("~/bin/run it.sh is not executable: %v, %v", fi, err)
	}
	wantNotes := []string{
		"asset assets/run it.sh is written to ~/bin/run it.sh, in the learner's home, by the setup script (Killercoda copied it to /root/bin/run it.sh)",
		"asset assets/conf/a.yml is written to ~/etc/app/a.yml, in the learner's home, by the setup script (Killercoda copied it to /etc/app/a.yml)",
		"asset assets/conf/b.png is not a text file; not written into the learner's environment",
	}
	if !slices.Equal(im.Notes, wantNotes) {
		t.Errorf("notes:\n%s\nwant\n%s", strings.Join(im.Notes, "\n"), strings.Join(wantNotes, "\n"))
	}
}

func kcText(s string) Text { return Text{keiko.DefaultLanguage: s} }

func kcRead(t *testing.T, files fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(files, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func kcProblems(e *Entry) []string {
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.String())
	}
	return out
}
