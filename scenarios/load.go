package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/expr"
)

// Problem is something wrong with a scenario, at a place in its files.
type Problem struct {
	File    string // relative to the directory scenarios are loaded from
	Line    int    // 1-based; 0 when the problem is with the file as a whole
	Message string
	Warning bool // reported, but the scenario still loads
}

func (p Problem) String() string {
	at := p.File
	if p.Line > 0 {
		at += ":" + strconv.Itoa(p.Line)
	}
	if p.Warning {
		return at + ": warning: " + p.Message
	}
	return at + ": " + p.Message
}

// Entry is one scenario directory: loaded, or broken with the problems
// that say why.
type Entry struct {
	Dir      string // within the loaded tree
	ID       string
	Scenario *keiko.Scenario // nil when broken
	Problems []Problem
	files    fs.FS           // the scenario's directory
	assets   map[string]bool // files its pages link to, the only ones served
}

// Broken reports whether the entry has errors, not only warnings.
func (e *Entry) Broken() bool {
	return slices.ContainsFunc(e.Problems, func(p Problem) bool { return !p.Warning })
}

// Asset opens a file the scenario's pages link to. Any other name, and
// anything outside the directory, does not exist.
func (e *Entry) Asset(name string) (fs.File, error) {
	if !fs.ValidPath(name) || !e.assets[name] {
		return nil, fs.ErrNotExist
	}
	return e.files.Open(name)
}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	kindPattern     = regexp.MustCompile(`^([a-z0-9.-]+/)?v[0-9a-z]+/[A-Z][A-Za-z0-9]*$`)
	resourcePattern = regexp.MustCompile(`^([a-z0-9.-]+/)?v[0-9a-z]+/[a-z][a-z0-9.-]*$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]+)*$`)
	podSecurity     = []string{"baseline", "restricted"} // privileged would let learners escape their namespace
	levels          = []keiko.Level{keiko.LevelBeginner, keiko.LevelIntermediate, keiko.LevelAdvanced}
)

// Load reads the scenario in dir of fsys: a scenario.yaml, or a
// Killercoda index.json, imported as it loads. It never fails: what is
// wrong is in the entry's problems.
func Load(fsys fs.FS, dir string) *Entry {
	sub, err := fs.Sub(fsys, dir)
	e := &Entry{Dir: dir, ID: path.Base(dir), files: sub, assets: map[string]bool{}}
	l := &loader{e: e, fsys: sub, yamlFile: FileName}
	if err != nil {
		l.problem("", 0, "cannot open: %v", err)
		return e
	}
	data, err := fs.ReadFile(sub, FileName)
	if errors.Is(err, fs.ErrNotExist) {
		if _, kerr := fs.Stat(sub, killercodaIndex); kerr == nil {
			l.yamlFile = killercodaIndex
			im, err := Import(sub, path.Base(dir))
			if err != nil {
				l.problem("", 0, "%v", err)
				return e
			}
			for _, n := range im.Notes {
				l.warn(killercodaIndex, 0, "%s", n)
			}
			e.files, l.fsys = im.Files, im.Files
			l.build(im.File)
			return e
		}
		l.problem("", 0, "no %s here (nor a Killercoda %s)", FileName, killercodaIndex)
		return e
	}
	if err != nil {
		l.problem(FileName, 0, "cannot read: %v", err)
		return e
	}
	if f, ok := l.parse(data); ok {
		l.build(f)
	}
	return e
}

// loader collects one scenario's problems.
type loader struct {
	e        *Entry
	fsys     fs.FS
	yamlFile string     // where File came from, for problems
	root     *yaml.Node // scenario.yaml's tree, for line numbers; nil for imports
}

func (l *loader) add(p Problem) {
	p.File = path.Join(l.e.Dir, p.File)
	l.e.Problems = append(l.e.Problems, p)
}

func (l *loader) problem(file string, line int, format string, a ...any) {
	l.add(Problem{File: file, Line: line, Message: fmt.Sprintf(format, a...)})
}

func (l *loader) warn(file string, line int, format string, a ...any) {
	l.add(Problem{File: file, Line: line, Message: fmt.Sprintf(format, a...), Warning: true})
}

// at reports a problem with the field at keyPath in scenario.yaml.
func (l *loader) at(keyPath []any, format string, a ...any) {
	l.problem(l.yamlFile, l.line(keyPath), format, a...)
}

// line finds the line of the value at keyPath (map keys and sequence
// indexes), or of the nearest enclosing value that exists.
func (l *loader) line(keyPath []any) int {
	if l.root == nil || len(l.root.Content) == 0 {
		return 0
	}
	n := l.root.Content[0]
	for _, k := range keyPath {
		var next *yaml.Node
		switch k := k.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

// yamlLine matches the position in go-yaml's messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// friendlier names the file's types in go-yaml's messages as authors know
// them.
var friendlier = strings.NewReplacer(
	"in type scenarios.File", "in a scenario",
	"in type scenarios.StepFile", "in a step",
	"in type scenarios.CheckFile", "in a check",
	"in type scenarios.ActionFile", "in setup or solve",
	"in type scenarios.SandboxFile", "in sandbox",
	"in type scenarios.AllowFile", "in allow",
	"into scenarios.File", "into a scenario",
	"into scenarios.StepFile", "into a step",
	"into []scenarios.StepFile", "into a list of steps",
	"into scenarios.CheckFile", "into a check",
	"into []scenarios.CheckFile", "into a list of checks",
	"into scenarios.ActionFile", "into setup or solve",
	"into scenarios.SandboxFile", "into sandbox",
	"into scenarios.AllowFile", "into allow",
)

// parse decodes scenario.yaml strictly: an unknown field is an error,
// since it is most likely a typo that would silently do nothing.
func (l *loader) parse(data []byte) (*File, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		l.yamlError(err)
		return nil, false
	}
	l.root = &root
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			l.problem(FileName, 0, "is empty")
		} else {
			l.yamlError(err)
		}
		return nil, false
	}
	return &f, true
}

func (l *loader) yamlError(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		line, text := yamlPosition(friendlier.Replace(m))
		l.problem(FileName, line, "%s", text)
	}
}

// parserErrors are go-yaml's parser messages, as opposed to its scanner's.
// go-yaml reports them with a 0-based line (and none at all for the
// first), unlike every other message.
var parserErrors = []string{
	"did not find expected <document start>", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
}

// yamlPosition splits a go-yaml message into its 1-based line and text.
func yamlPosition(msg string) (int, string) {
	line, text := 0, strings.TrimPrefix(msg, "yaml: ")
	if g := yamlLine.FindStringSubmatch(msg); g != nil {
		line, _ = strconv.Atoi(g[1])
		text = g[2]
	}
	if slices.Contains(parserErrors, text) {
		line++
	}
	return line, text
}

// build checks f and makes the scenario from it.
func (l *loader) build(f *File) {
	s := &keiko.Scenario{
		ID:       f.ID,
		Track:    f.Track,
		Level:    keiko.Level(f.Level),
		Tags:     f.Tags,
		Requires: f.Requires,
		Sandbox:  keiko.SandboxSpec{Size: f.Sandbox.Size, PodSecurity: f.Sandbox.PodSecurity},
		Allow:    keiko.Allow{Skip: f.Allow.Skip == nil || *f.Allow.Skip, Solve: f.Allow.Solve == nil || *f.Allow.Solve},
	}
	langs := f.Languages
	if len(langs) == 0 {
		langs = []string{keiko.DefaultLanguage}
	}
	for i, lang := range langs {
		if !languagePattern.MatchString(lang) {
			l.at([]any{"languages", i}, "language %q is not a language tag such as en or ja", lang)
		}
	}
	if !slices.Contains(langs, keiko.DefaultLanguage) {
		l.at([]any{"languages"}, "languages must include %q, the language every scenario is written in", keiko.DefaultLanguage)
	}

	switch {
	case f.ID == "":
		l.at(nil, "id is missing; give the scenario a slug such as %q", l.e.ID)
	case !idPattern.MatchString(f.ID):
		l.at([]any{"id"}, "id %q must be lower-case letters, digits and dashes, at most 63", f.ID)
	default:
		l.e.ID = f.ID
	}
	s.Title = l.text(f.Title, langs, []any{"title"}, "title", true)
	s.Description = l.text(f.Description, langs, []any{"description"}, "description", false)
	if f.Track == "" {
		l.at(nil, "track is missing; it groups the scenario in the catalog")
	}
	if !slices.Contains(levels, s.Level) {
		l.at([]any{"level"}, "level %q must be one of beginner, intermediate, advanced", f.Level)
	}
	if d, err := time.ParseDuration(f.Duration); err != nil || d <= 0 {
		l.at([]any{"duration"}, "duration %q must be a length of time such as 30m or 1h15m", f.Duration)
	} else {
		s.Duration = d
	}
	for i, k := range f.Requires {
		if !kindPattern.MatchString(k) {
			l.at([]any{"requires", i}, "requires %q must be group/version/Kind, such as apps/v1/Deployment, or v1/Pod for the core group", k)
		}
	}
	if p := f.Sandbox.PodSecurity; p != "" && !slices.Contains(podSecurity, p) {
		l.at([]any{"sandbox", "podSecurity"}, "podSecurity %q must be one of %s", p, strings.Join(podSecurity, ", "))
	}
	s.Setup = l.action(f.Setup, []any{"setup"})
	if f.Intro != "" {
		s.Intro = l.page(f.Intro, langs, []any{"intro"})
	}
	if f.Finish != "" {
		s.Finish = l.page(f.Finish, langs, []any{"finish"})
	}
	if len(f.Steps) == 0 {
		l.at(nil, "steps is missing; a scenario needs at least one step")
	}
	for i, st := range f.Steps {
		s.Steps = append(s.Steps, l.step(i, st, langs))
	}
	if !l.e.Broken() {
		l.e.Scenario = s
	}
}

func (l *loader) step(i int, f StepFile, langs []string) keiko.Step {
	at := []any{"steps", i}
	st := keiko.Step{
		Index: i,
		Title: l.text(f.Title, langs, append(at, "title"), fmt.Sprintf("step %d title", i+1), true),
		Setup: l.action(f.Setup, append(at, "setup")),
		Solve: l.action(f.Solve, append(at, "solve")),
	}
	if f.Text == "" {
		l.at(at, "step %d has no text; name its markdown file, such as step%d.md", i+1, i+1)
	} else {
		st.Text = l.page(f.Text, langs, append(at, "text"))
	}
	if len(f.Hint) > 0 {
		hint := l.text(f.Hint, langs, append(at, "hint"), fmt.Sprintf("step %d hint", i+1), false)
		st.Hint = keiko.Page{Markdown: hint, HTML: keiko.Text{}}
		// In language order, so that problems come out in the same
		// order every time.
		for _, lang := range f.Hint.languages() {
			st.Hint.HTML[lang] = l.render(FileName, lang, []byte(hint[lang]), l.line(append(at, "hint", lang)))
		}
	}
	for j, c := range f.Checks {
		st.Checks = append(st.Checks, l.check(c, langs, append(at, "checks", j), fmt.Sprintf("step %d check %d", i+1, j+1)))
	}
	return st
}

func (l *loader) check(f CheckFile, langs []string, at []any, name string) keiko.Check {
	c := keiko.Check{
		Resource: f.Resource, Name: f.Name, Selector: f.Selector, Expr: f.Expr, Script: f.Script,
		Message: l.text(f.Message, langs, append(at, "message"), name+" message", false),
		// A language without its own messageExpr falls back to its
		// message, so messageExpr need not be translated.
		MessageExpr: keiko.Text(f.MessageExpr),
	}
	if f.Timeout != "" {
		d, err := time.ParseDuration(f.Timeout)
		if err != nil || d <= 0 {
			l.at(append(at, "timeout"), "%s: timeout %q must be a length of time such as 10s", name, f.Timeout)
		}
		c.Timeout = d
	}
	switch {
	case f.Resource != "" && f.Script != "":
		l.at(at, "%s has both resource and script; a check is one or the other", name)
	case f.Script != "":
		if f.Expr != "" || f.Name != "" || f.Selector != "" {
			l.at(at, "%s is a script check; expr, name and selector belong to resource checks", name)
		}
	case f.Resource != "":
		l.resourceCheck(f, at, name)
		if len(f.Message) == 0 {
			l.at(at, "%s has no message; say what the learner should do when it fails", name)
		}
	default:
		l.at(at, "%s needs a resource (with expr) or a script", name)
	}
	return c
}

func (l *loader) resourceCheck(f CheckFile, at []any, name string) {
	if !resourcePattern.MatchString(f.Resource) {
		l.at(append(at, "resource"), "%s: resource %q must be group/version/resource, such as apps/v1/deployments, or v1/pods for the core group", name, f.Resource)
	}
	if f.Name != "" && f.Selector != "" {
		l.at(at, "%s has both name and selector; use one", name)
	}
	if f.Selector != "" {
		if _, err := labels.Parse(f.Selector); err != nil {
			l.at(append(at, "selector"), "%s: selector %q: %v", name, f.Selector, err)
		}
	}
	if f.Expr == "" {
		l.at(at, "%s has no expr; give the CEL condition that passes it, over object or objects", name)
	} else if _, err := expr.Compile(f.Expr, expr.Bool); err != nil {
		l.at(append(at, "expr"), "%s: expr does not compile: %v", name, oneLine(err))
	}
	for _, lang := range f.MessageExpr.languages() {
		if _, err := expr.Compile(f.MessageExpr[lang], expr.String); err != nil {
			l.at(append(at, "messageExpr", lang), "%s: messageExpr (%s) does not compile: %v", name, lang, oneLine(err))
		}
	}
}

// oneLine keeps CEL's multi-line errors (with their caret diagrams)
// readable in a list.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	s = strings.TrimPrefix(s, "ERROR: ")
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// text checks a text's translations.
func (l *loader) text(t Text, langs []string, at []any, name string, required bool) keiko.Text {
	if len(t) == 0 {
		if required {
			l.at(at, "%s is missing", name)
		}
		return nil
	}
	if t[keiko.DefaultLanguage] == "" {
		l.at(at, "%s has no %q text", name, keiko.DefaultLanguage)
	}
	for _, lang := range langs {
		if t[lang] == "" && lang != keiko.DefaultLanguage {
			l.at(at, "%s has no %s translation", name, lang)
		}
	}
	return keiko.Text(t)
}

// action reads an action's manifests.
func (l *loader) action(f ActionFile, at []any) keiko.Action {
	a := keiko.Action{Script: f.Script}
	var docs []string
	for i, name := range f.Manifests {
		data, err := l.read(name)
		if err != nil {
			l.at(append(at, "manifests", i), "manifest %s: %v", name, err)
			continue
		}
		if l.manifests(name, data) {
			docs = append(docs, string(data))
		}
	}
	a.Manifests = strings.Join(docs, "\n---\n")
	return a
}

// manifests checks that every document in a manifest file is a
// Kubernetes object.
func (l *loader) manifests(name string, data []byte) bool {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	ok := true
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return ok
		}
		if err != nil {
			line, text := yamlPosition(err.Error())
			l.problem(name, line, "not valid YAML: %s", text)
			return false
		}
		if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
			continue // an empty document, as between two ---, which kubectl skips too
		}
		var obj struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name         string `yaml:"name"`
				GenerateName string `yaml:"generateName"`
			} `yaml:"metadata"`
		}
		if err := doc.Decode(&obj); err != nil || obj.APIVersion == "" || obj.Kind == "" {
			l.problem(name, doc.Content[0].Line, "not a Kubernetes object: it needs apiVersion and kind")
			ok = false
			continue
		}
		if obj.Metadata.Name == "" && obj.Metadata.GenerateName == "" {
			l.problem(name, doc.Content[0].Line, "%s has no metadata.name", obj.Kind)
			ok = false
		}
	}
}

// read reads a file of the scenario, refusing names that leave it.
func (l *loader) read(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("must be a path inside the scenario directory")
	}
	data, err := fs.ReadFile(l.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("file not found")
	}
	return data, err
}

// translated is name's translation into lang: step1.md → step1.ja.md.
func translated(name, lang string) string {
	if lang == keiko.DefaultLanguage {
		return name
	}
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + lang + ext
}

// page reads and renders a markdown file and its translations.
func (l *loader) page(name string, langs []string, at []any) keiko.Page {
	p := keiko.Page{Markdown: keiko.Text{}, HTML: keiko.Text{}}
	for _, lang := range langs {
		file := translated(name, lang)
		data, err := l.read(file)
		if err != nil {
			if lang == keiko.DefaultLanguage {
				l.at(at, "%s: %v", file, err)
			} else {
				l.at(at, "%s: %v (the %s translation of %s)", file, err, lang, name)
			}
			continue
		}
		p.Markdown[lang] = string(data)
		p.HTML[lang] = l.render(file, lang, data, 0)
	}
	return p
}

// render renders markdown from file and checks its links. A hint is
// markdown inside scenario.yaml, where its own line numbers mean nothing:
// its problems are at hintLine instead, when that is not 0.
func (l *loader) render(file, lang string, src []byte, hintLine int) string {
	rc := &renderContext{id: l.e.ID, file: file, lang: lang}
	out, err := render(src, rc)
	if err != nil {
		l.problem(file, 0, "%v", err)
	}
	for _, lk := range rc.links {
		what, line := "link", lk.line
		if hintLine > 0 {
			line = hintLine
		}
		if lk.image {
			what = "image"
		}
		switch _, err := fs.Stat(l.fsys, lk.target); {
		case lk.bad != "":
			l.problem(file, line, "%s %s %s", what, lk.target, lk.bad)
		case err != nil:
			l.problem(file, line, "%s %s: file not found", what, lk.target)
		default:
			l.e.assets[lk.target] = true
		}
	}
	return out
}
