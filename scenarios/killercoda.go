package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/keiko-lab/keiko"
)

// killercodaIndex marks a Killercoda (or Katacoda) scenario.
const killercodaIndex = "index.json"

// Imported is a Killercoda or Katacoda scenario turned native.
type Imported struct {
	File  *File
	Files fs.FS    // the original directory, so markdown and assets resolve
	Notes []string // what did not carry over as it was, and what was done instead
	uses  []string // files of Files the scenario needs, for Write
}

// kcIndex is the part of index.json the importer reads; knownFields lists
// the same fields for reporting the others.
type kcIndex struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	PathwayID    string `json:"pathwayId"`
	PathwayTitle string `json:"pathwayTitle"`
	Difficulty   string `json:"difficulty"`
	Time         any    `json:"time"` // "15 minutes", sometimes a bare number
	Details      struct {
		Intro  kcPage               `json:"intro"`
		Steps  []kcPage             `json:"steps"`
		Finish kcPage               `json:"finish"`
		Assets map[string][]kcAsset `json:"assets"` // by host
	} `json:"details"`
	Backend struct {
		ImageID     string `json:"imageid"`
		DockerImage string `json:"dockerimage"` // early Katacoda
	} `json:"backend"`
	Interface struct {
		Layout string `json:"layout"`
	} `json:"interface"`
	Environment struct {
		UILayout string `json:"uilayout"`
	} `json:"environment"`
}

// kcPage is the intro, a step or the finish. Katacoda's courseData and
// code are Killercoda's background and foreground.
type kcPage struct {
	Title      string `json:"title"`
	Text       string `json:"text"`
	Verify     string `json:"verify"`
	Background string `json:"background"`
	Foreground string `json:"foreground"`
	CourseData string `json:"courseData"`
	Code       string `json:"code"`
	Answer     string `json:"answer"`
}

// kcAsset is a file Killercoda copies from assets/ into a directory on a
// host before the scenario starts.
type kcAsset struct {
	File   string `json:"file"`
	Target string `json:"target"`
	Chmod  string `json:"chmod"`
}

// fields is the shape of index.json the importer reads: each object's
// field names, lower-cased since encoding/json matches them so, with the
// fields of their values ("*" matches any name). Anything else is
// reported rather than dropped without a word.
type fields map[string]fields

var (
	pageFields   = fields{"text": nil, "background": nil, "foreground": nil, "coursedata": nil, "code": nil}
	introFields  = withFields(pageFields, "verify")
	stepFields   = withFields(pageFields, "title", "verify", "answer")
	assetFields  = fields{"file": nil, "target": nil, "chmod": nil}
	detailFields = fields{"intro": introFields, "steps": stepFields, "finish": pageFields, "assets": {"*": assetFields}}
	indexFields  = fields{
		"id": nil, "type": nil, "title": nil, "description": nil, "pathwayid": nil, "pathwaytitle": nil,
		"difficulty": nil, "time": nil, "details": detailFields,
		"backend": {"imageid": nil, "dockerimage": nil}, "interface": {"layout": nil}, "environment": {"uilayout": nil},
	}
)

// withFields is f plus leaf fields names.
func withFields(f fields, names ...string) fields {
	out := fields{}
	for k, v := range f {
		out[k] = v
	}
	for _, n := range names {
		out[n] = nil
	}
	return out
}

// Defaults for what Killercoda does not say.
const (
	importedTrack   = "imported"
	importedLevel   = "beginner"
	defaultDuration = "30m"
)

// Import reads the Killercoda or Katacoda scenario in src. dirName, the
// directory's name, gives the scenario's id; when it is empty the id comes
// from index.json's id or title. It fails only when index.json cannot be
// read or is not JSON: everything else is in the notes.
func Import(src fs.FS, dirName string) (*Imported, error) {
	data, err := fs.ReadFile(src, killercodaIndex)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", killercodaIndex, err)
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: not valid JSON: %w", jsonAt(data, err), err)
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a JSON object, the scenario's settings", killercodaIndex)
	}
	p := &importer{src: src, im: &Imported{Files: src}}
	var x kcIndex
	if err := json.Unmarshal(data, &x); err != nil {
		// encoding/json fills what it can and reports the first misfit.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %w", killercodaIndex, err)
		}
		p.note("%s: %s is a JSON %s where a %s belongs; ignored", jsonAt(data, err), te.Field, te.Value, jsonKind(te.Type))
	}
	p.unknown(obj, indexFields, "")
	p.build(&x, dirName)
	return p.im, nil
}

// jsonAt is "index.json:line:column" of a JSON error, or the file alone.
func jsonAt(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // the offending byte has been read
	case errors.As(err, &te):
		off = te.Offset - 1
	}
	if off < 0 || off > int64(len(data)) {
		return killercodaIndex
	}
	before := data[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	return fmt.Sprintf("%s:%d:%d", killercodaIndex, line, col)
}

// jsonKind names a Go type as JSON would.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "list"
	}
	return "object"
}

// importer collects one import's notes.
type importer struct {
	src fs.FS
	im  *Imported
}

func (p *importer) note(format string, a ...any) {
	p.im.Notes = append(p.im.Notes, fmt.Sprintf(format, a...))
}

// unknown notes the fields of v that known does not list.
func (p *importer) unknown(v any, known fields, at string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			name := k
			if at != "" {
				name = at + "." + k
			}
			sub, ok := known[strings.ToLower(k)]
			if !ok {
				sub, ok = known["*"]
			}
			if !ok {
				p.note("field %s is not supported; ignored", name)
			} else if sub != nil {
				p.unknown(v[k], sub, name)
			}
		}
	case []any:
		for i, e := range v {
			p.unknown(e, known, fmt.Sprintf("%s[%d]", at, i))
		}
	}
}

func (p *importer) build(x *kcIndex, dirName string) {
	f := &File{
		ID:       slug(filepath.Base(dirName)),
		Title:    Text{keiko.DefaultLanguage: strings.TrimSpace(x.Title)},
		Track:    importedTrack,
		Level:    importedLevel,
		Duration: defaultDuration,
	}
	switch {
	case dirName == "" && x.ID != "":
		f.ID = slug(x.ID)
	case dirName == "":
		f.ID = slug(x.Title)
	case x.ID != "" && slug(x.ID) != f.ID:
		p.note("field id %q is ignored; the scenario's id is %q, from its directory's name", x.ID, f.ID)
	}
	if d := strings.TrimSpace(x.Description); d != "" {
		f.Description = Text{keiko.DefaultLanguage: d}
	}
	if t := firstOf(slug(x.PathwayID), slug(x.PathwayTitle)); t != "" {
		f.Track = t
	}
	p.level(f, x.Difficulty)
	p.duration(f, x.Time)
	if strings.Contains(x.Type, "challenge") {
		p.note("type %q: Katacoda challenges are not supported; imported as a plain scenario with the same steps", x.Type)
	}
	p.backend(firstOf(x.Backend.ImageID, x.Backend.DockerImage))
	for _, layout := range []string{x.Interface.Layout, x.Environment.UILayout} {
		if layout != "" && layout != "terminal" {
			p.note("layout %q is not supported: Keiko shows the instructions beside one terminal, with no editor, IDE, extra terminals or web tabs; imported for that one terminal", layout)
		}
	}

	intro := x.Details.Intro
	f.Intro = p.page("intro", intro.Text, "the scenario has no intro page")
	if intro.Verify != "" {
		p.note("intro: verify script %s is not supported, as the intro has no checks; dropped", intro.Verify)
	}
	f.Setup.Script = joinScripts(append(p.assets(x.Details.Assets), p.setup("intro", "the scenario's setup", intro)...))

	fin := x.Details.Finish
	f.Finish = p.page("finish", fin.Text, "the scenario has no finish page")
	for _, s := range []struct{ kind, name string }{{"background", fin.Background}, {"foreground", fin.Foreground}, {"courseData", fin.CourseData}, {"code", fin.Code}} {
		if s.name != "" {
			p.note("finish: %s script %s is not supported, as Keiko runs nothing when a scenario ends; dropped", s.kind, s.name)
		}
	}

	if len(x.Details.Steps) == 0 {
		p.note("there are no steps, and a scenario needs at least one")
	}
	for i, s := range x.Details.Steps {
		f.Steps = append(f.Steps, p.step(i, s))
	}
	p.im.File = f
}

func (p *importer) step(i int, s kcPage) StepFile {
	where := fmt.Sprintf("step %d", i+1)
	title := strings.TrimSpace(s.Title)
	if title == "" {
		title = fmt.Sprintf("Step %d", i+1)
	}
	st := StepFile{Title: Text{keiko.DefaultLanguage: title}}
	if st.Text = p.page(where, s.Text, "the step cannot load without it"); st.Text == "" {
		st.Text = s.Text // keep the name, so the loader says what is missing
	}
	st.Setup.Script = joinScripts(p.setup(where, "the step's setup", s))
	if s.Verify != "" {
		if body, ok := p.script(where, "verify", s.Verify, "the step has no check"); ok {
			st.Checks = []CheckFile{{Script: body, Message: Text{keiko.DefaultLanguage: "Not done yet: " + title + "."}}}
		}
	}
	if s.Answer != "" {
		if body, ok := p.read(where, "answer", s.Answer, "the step has no hint"); ok {
			st.Hint = Text{keiko.DefaultLanguage: body}
			p.note("%s: answer %s (Katacoda's solution, shown on request) became the step's hint", where, s.Answer)
		}
	}
	return st
}

// part is one script of a setup, by the file it came from.
type part struct{ name, body string }

// setup reads a page's scripts. Killercoda ran background scripts out of
// sight and foreground ones in the learner's terminal; here both run as
// setup, background first, since foreground scripts usually wait for it.
func (p *importer) setup(where, runsAs string, s kcPage) []part {
	var parts []part
	for _, sc := range []struct{ kind, name string }{{"background", s.Background}, {"courseData", s.CourseData}, {"foreground", s.Foreground}, {"code", s.Code}} {
		if sc.name == "" {
			continue
		}
		body, ok := p.script(where, sc.kind, sc.name, "nothing is run in its place")
		if !ok {
			continue
		}
		parts = append(parts, part{sc.name, body})
		if sc.kind == "foreground" || sc.kind == "code" {
			p.note("%s: %s script %s ran visibly in the learner's terminal; it runs as part of %s instead, out of sight, so what it printed or left running there is lost", where, sc.kind, sc.name, runsAs)
		}
	}
	return parts
}

// joinScripts runs each part in a subshell, so one's exit or set -e does
// not cut the next short, and stops at the first that fails.
func joinScripts(parts []part) string {
	if len(parts) == 1 {
		return parts[0].body
	}
	var b strings.Builder
	for _, pt := range parts {
		fmt.Fprintf(&b, "# %s\n(\n%s\n) || exit\n", pt.name, strings.TrimRight(pt.body, "\n"))
	}
	return b.String()
}

// read reads a file index.json names, noting when it is missing.
func (p *importer) read(where, what, name, orElse string) (string, bool) {
	if !fs.ValidPath(name) {
		p.note("%s: %s %s is not a path inside the scenario directory; %s", where, what, name, orElse)
		return "", false
	}
	data, err := fs.ReadFile(p.src, name)
	if errors.Is(err, fs.ErrNotExist) {
		p.note("%s: %s %s does not exist; %s", where, what, name, orElse)
		return "", false
	}
	if err != nil {
		p.note("%s: %s %s cannot be read (%v); %s", where, what, name, err, orElse)
		return "", false
	}
	return string(data), true
}

// Commands in scripts that Killercoda ran as root on a VM, or that reach
// past the learner's namespace: Keiko runs scripts as the learner.
var (
	rootCommand = regexp.MustCompile(`(?:^|[;&|(]|\b(?:if|elif|then|else|while|until|do)\b)\s*(?:sudo\s+)?(sudo|apt-get|apt|yum|dnf|apk|snap|systemctl|service|journalctl|docker|podman|crictl|ctr|nerdctl|kubeadm|kubelet|ssh|scp|mount|iptables|modprobe|sysctl|useradd|reboot)\b`)
	clusterWide = regexp.MustCompile(`\bkubectl\s+(?:cordon|uncordon|drain|taint)\b|\bkubectl\s+(?:get|describe)\s+(?:nodes?|no)\b|\bkube-system\b|--all-namespaces\b|/etc/kubernetes\b|/var/lib/kubelet\b`)
)

// script reads a script and notes what in it will likely fail here.
func (p *importer) script(where, kind, name, orElse string) (string, bool) {
	body, ok := p.read(where, kind+" script", name, orElse)
	if !ok {
		return "", false
	}
	var found []string
	for line := range strings.Lines(body) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range rootCommand.FindAllStringSubmatch(line, -1) {
			found = append(found, m[1])
		}
		found = append(found, clusterWide.FindAllString(line, -1)...)
	}
	if found = uniq(found); len(found) > 0 {
		p.note("%s: %s script %s uses %s, which need root on the Killercoda VM or the whole cluster; Keiko runs scripts as the learner, with kubectl into their own namespace, so those commands will likely fail (kept as written)", where, kind, name, strings.Join(found, ", "))
	}
	return body, true
}

// Marks of Killercoda and Katacoda markdown the renderer does not know:
// editors, several terminals, links to the VM's ports.
var (
	unknownMark  = regexp.MustCompile(`\{\{\s*open\s*\}\}|\{\{\s*TRAFFIC_[A-Z0-9_]+\s*\}\}|\[\[\s*(?:HOST_SUBDOMAIN|KATACODA_HOST|HOST_IP|HOST2_SUBDOMAIN)\s*\]\]`)
	terminalMark = regexp.MustCompile(`\{\{\s*(?:exec|execute|copy)(?:\s+interrupt)?\s+([A-Za-z0-9]+)\s*\}\}`)
)

// page checks a markdown page and what it links to, and records them for
// Write. It returns "" when the page does not exist.
func (p *importer) page(where, name, orElse string) string {
	if name == "" {
		return ""
	}
	src, ok := p.read(where, "text", name, orElse)
	if !ok {
		return ""
	}
	p.im.uses = append(p.im.uses, name)
	rc := &renderContext{id: "imported", file: name, lang: keiko.DefaultLanguage}
	html, err := render([]byte(src), rc)
	if err == nil && strings.Contains(html, "raw HTML omitted") {
		p.note("%s contains raw HTML, which Keiko does not render (it is left out); rewrite it as markdown", name)
	}
	marks := unknownMark.FindAllString(src, -1)
	for _, m := range terminalMark.FindAllStringSubmatch(src, -1) {
		if m[1] != "interrupt" {
			marks = append(marks, m[0])
		}
	}
	if marks = uniq(marks); len(marks) > 0 {
		p.note("%s uses %s: editors, other terminals or hosts, and links to the VM's ports are not supported; exec and copy marks run in the one terminal, the rest is left as text", name, strings.Join(marks, ", "))
	}
	for _, lk := range rc.links {
		if lk.bad != "" {
			continue // the loader says why
		}
		if _, err := fs.Stat(p.src, lk.target); err != nil {
			p.note("%s links to %s, which does not exist", name, lk.target)
			continue
		}
		if !slices.Contains(p.im.uses, lk.target) {
			p.im.uses = append(p.im.uses, lk.target)
		}
	}
	return name
}

// homeHost is where Killercoda runs the learner's terminal; other hosts
// are other machines, which a Keiko sandbox does not have.
var homeHosts = []string{"host01", "client", "controlplane"}

// assets writes the files Killercoda copied from assets/ into the
// learner's home instead, since the learner is not root: /root/x and ~/x
// become ~/x, and any other directory d becomes ~/d.
func (p *importer) assets(byHost map[string][]kcAsset) []part {
	var b strings.Builder
	for _, host := range slices.Sorted(maps.Keys(byHost)) {
		if !slices.Contains(homeHosts, host) {
			p.note("assets for %s are not supported, as a Keiko sandbox is one environment; %d skipped", host, len(byHost[host]))
			continue
		}
		for _, a := range byHost[host] {
			var names []string
			if fs.ValidPath(a.File) {
				names, _ = fs.Glob(p.src, path.Join("assets", a.File))
			}
			if len(names) == 0 {
				p.note("asset %s does not exist in assets/; skipped", a.File)
				continue
			}
			for _, name := range names {
				p.asset(&b, name, a)
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return []part{{"assets", b.String()}}
}

// asset writes one file, or a directory's files, as a heredoc.
func (p *importer) asset(b *strings.Builder, name string, a kcAsset) {
	target := strings.TrimRight(strings.TrimSpace(a.Target), "/")
	dir, ok := strings.CutPrefix(target, "~")
	if !ok {
		dir, ok = strings.CutPrefix(target, "/root")
	}
	if !ok || dir != "" && !strings.HasPrefix(dir, "/") {
		dir = "/" + strings.TrimPrefix(target, "/")
	}
	_ = fs.WalkDir(p.src, name, func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := strings.CutPrefix(file, path.Dir(name)+"/")
		data, err := fs.ReadFile(p.src, file)
		const eof = "KEIKO_ASSET_EOF"
		if err != nil || !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 || bytes.Contains(data, []byte(eof)) {
			p.note("asset %s is not a text file; not written into the learner's environment", file)
			return nil
		}
		dst := path.Join("~"+dir, rel)
		q := `"$HOME"/` + shellQuote(strings.TrimPrefix(dst, "~/"))
		fmt.Fprintf(b, "mkdir -p \"$(dirname %s)\"\ncat > %s <<'%s'\n%s", q, q, eof, data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%s\n", eof)
		if a.Chmod != "" {
			fmt.Fprintf(b, "chmod %s %s\n", shellQuote(a.Chmod), q)
		}
		was := path.Join(firstOf(target, "/"), rel)
		p.note("asset %s is written to %s, in the learner's home, by the setup script (Killercoda copied it to %s)", file, dst, was)
		return nil
	})
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var (
	kubeImage = regexp.MustCompile(`kubernetes|k8s|k3s|minikube`)
	nodeCount = regexp.MustCompile(`(\d+)nodes?\b`)
)

// backend notes what a Killercoda image has that a Keiko sandbox, one
// namespace of a shared cluster, has not.
func (p *importer) backend(image string) {
	if image == "" {
		return
	}
	if !kubeImage.MatchString(image) {
		p.note("backend %q is not a Kubernetes image: Keiko sandboxes are kubectl-only (a namespace in a shared cluster, with no VM, root or docker), so commands aimed at the VM will fail; imported as a Kubernetes scenario", image)
		return
	}
	nodes := 1
	if m := nodeCount.FindStringSubmatch(image); m != nil {
		nodes, _ = strconv.Atoi(m[1])
	} else if strings.Contains(image, "cluster") {
		nodes = 2 // Katacoda's kubernetes-cluster: a control plane and a worker
	}
	if nodes > 1 {
		p.note("backend %q has %d nodes: Keiko gives the learner one namespace and no nodes of their own, so node01, ssh and node commands will fail; imported as a single sandbox", image, nodes)
	}
}

var levelWords = map[string]string{
	"beginner": "beginner", "easy": "beginner", "basic": "beginner",
	"intermediate": "intermediate", "medium": "intermediate",
	"advanced": "advanced", "hard": "advanced", "expert": "advanced",
}

func (p *importer) level(f *File, difficulty string) {
	if difficulty == "" {
		return
	}
	if l, ok := levelWords[strings.ToLower(strings.TrimSpace(difficulty))]; ok {
		f.Level = l
		return
	}
	p.note("difficulty %q is not beginner, intermediate or advanced; level set to %s", difficulty, importedLevel)
}

// timePattern matches Katacoda's times: "15 minutes", "10-15 minutes",
// "1 hour", or a bare number of minutes.
var timePattern = regexp.MustCompile(`(?i)^\s*(?:\d+\s*(?:-|–|to)\s*)?(\d+)\s*(m|mins?|minutes?|h|hrs?|hours?)?\s*$`)

// duration takes the upper end of a range: the catalog's estimate should
// not disappoint.
func (p *importer) duration(f *File, t any) {
	if t == nil {
		return
	}
	s := strings.TrimSpace(fmt.Sprint(t))
	m := timePattern.FindStringSubmatch(s)
	if m == nil || m[1] == "0" {
		p.note("time %q is not understood; duration set to %s", s, defaultDuration)
		return
	}
	unit := "m"
	if strings.HasPrefix(strings.ToLower(m[2]), "h") {
		unit = "h"
	}
	f.Duration = m[1] + unit
}

// slug makes an id: lower-case letters, digits and dashes, at most 63.
func slug(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	out := strings.Trim(string(b), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	if out == "." || out == "" {
		return ""
	}
	return out
}

// firstOf is a, or b when a is empty.
func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func uniq(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Write writes the native scenario to dir: scenario.yaml, with the notes
// as comments for whoever edits it next, and copies of the pages and the
// files they link to. Scripts are inlined in scenario.yaml.
func (im *Imported) Write(dir string) error {
	var b bytes.Buffer
	b.WriteString("# Imported from Killercoda or Katacoda.\n")
	for _, n := range im.Notes {
		fmt.Fprintf(&b, "# - %s\n", strings.ReplaceAll(n, "\n", " "))
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(im.File); err != nil {
		return fmt.Errorf("write scenario: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write scenario: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write scenario: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write scenario: %w", err)
	}
	for _, name := range im.uses {
		data, err := fs.ReadFile(im.Files, name)
		if err != nil {
			return fmt.Errorf("write scenario: copy %s: %w", name, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("write scenario: %w", err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("write scenario: %w", err)
		}
	}
	return nil
}
