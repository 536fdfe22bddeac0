package scenarios

import (
	"bytes"
	"fmt"
	"html"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Markdown is GitHub-flavoured, plus:
//
//   - code blocks that run in the terminal or copy: a fence's info words
//     "exec" (optionally with "interrupt") or "copy", as in ```bash exec;
//   - the Killercoda marks `cmd`{{exec}}, {{exec interrupt}}, {{copy}} and
//     Katacoda's {{execute}}, inline and after a closing fence;
//   - GitHub's alerts, > [!NOTE], [!TIP], [!IMPORTANT], [!WARNING] and
//     [!CAUTION], and > [!SOLUTION] for a collapsed solution;
//   - relative links and images resolved within the scenario and served
//     from /scenarios/<id>/assets/.
//
// Raw HTML is not rendered: imported scenarios come from anywhere.

// Run-block markup, for the player's script: the command is the code
// element's text.
const (
	actionExec = "exec"
	actionCopy = "copy"
)

// link is a relative link or image found while rendering.
type link struct {
	target string // path within the scenario directory
	line   int
	image  bool
	bad    string // why the link is unusable, if it is
}

// renderContext is what rendering one page needs and yields.
type renderContext struct {
	id, file, lang string // file is relative to the scenario directory
	links          []link
}

var ctxKey = parser.NewContextKey()

var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(transformer{}, 100))),
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(nodeRenderer{}, 100))),
)

// render turns one page's markdown into HTML.
func render(src []byte, rc *renderContext) (string, error) {
	src = killercodaFences(src)
	pc := parser.NewContext()
	pc.Set(ctxKey, rc)
	doc := md.Parser().Parse(text.NewReader(src), parser.WithContext(pc))
	var buf bytes.Buffer
	if err := md.Renderer().Render(&buf, src, doc); err != nil {
		return "", fmt.Errorf("render %s: %w", rc.file, err)
	}
	return buf.String(), nil
}

// fenceMark is a Killercoda mark on a closing fence: ```{{exec}}.
var fenceMark = regexp.MustCompile("^(\\s*)(```+|~~~+)\\{\\{\\s*(exec|execute|copy)(\\s+interrupt)?(\\s+[A-Za-z0-9]+)?\\s*\\}\\}\\s*$")

// killercodaFences moves marks from closing fences, which CommonMark
// would not accept as closing, to the opening fence's info string. Lines
// keep their numbers.
func killercodaFences(src []byte) []byte {
	lines := strings.Split(string(src), "\n")
	open := -1  // the opening fence of the block we are in
	fence := "" // its backticks or tildes: only as many or more of the same close it
	closes := func(f string) bool { return strings.Trim(f, fence[:1]) == "" && len(f) >= len(fence) }
	changed := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "```") && !strings.HasPrefix(t, "~~~") {
			continue
		}
		switch m := fenceMark.FindStringSubmatch(l); {
		case open < 0:
			open = i
			fence = t[:len(t)-len(strings.TrimLeft(t, t[:1]))]
		case m != nil && closes(m[2]):
			action := actionExec
			if m[3] == actionCopy {
				action = actionCopy
			}
			lines[open] += " " + action + m[4]
			lines[i] = m[1] + m[2]
			open, changed = -1, true
		case closes(t):
			open = -1
		}
	}
	if !changed {
		return src
	}
	return []byte(strings.Join(lines, "\n"))
}

// inlineMark is a Killercoda mark right after a code span.
var inlineMark = regexp.MustCompile(`^\{\{\s*(exec|execute|copy)(\s+interrupt)?(\s+[A-Za-z0-9]+)?\s*\}\}`)

// alertMark opens a GitHub alert, or a Keiko solution.
var alertMark = regexp.MustCompile(`^\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION|SOLUTION)\][ \t]*(.*)$`)

var alertTitles = map[string][2]string{ // English, Japanese
	"NOTE":      {"Note", "メモ"},
	"TIP":       {"Tip", "ヒント"},
	"IMPORTANT": {"Important", "重要"},
	"WARNING":   {"Warning", "警告"},
	"CAUTION":   {"Caution", "注意"},
	"SOLUTION":  {"Solution", "解答例"},
}

// Run-block and alert attributes on the AST.
var (
	attrAction    = []byte("data-action")
	attrInterrupt = []byte("data-interrupt")
)

// kindAlert is an alert box, or a collapsed solution.
var kindAlert = ast.NewNodeKind("Alert")

type alertNode struct {
	ast.BaseBlock
	kind, title string
}

func (n *alertNode) Kind() ast.NodeKind { return kindAlert }
func (n *alertNode) Dump(src []byte, level int) {
	ast.DumpHelper(n, src, level, map[string]string{"kind": n.kind, "title": n.title}, nil)
}

type transformer struct{}

func (transformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	rc, _ := pc.Get(ctxKey).(*renderContext)
	src := reader.Source()
	var alerts []*ast.Blockquote
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeSpan:
			markCodeSpan(n, src)
		case *ast.Text:
			joinEastAsian(n, src)
		case *ast.Blockquote:
			alerts = append(alerts, n)
		case *ast.Link:
			n.Destination = rc.resolve(n.Destination, lineOf(n, src), false)
		case *ast.Image:
			n.Destination = rc.resolve(n.Destination, lineOf(n, src), true)
		}
		return ast.WalkContinue, nil
	})
	for _, bq := range alerts {
		toAlert(bq, src, rc.lang)
	}
}

// joinEastAsian drops a source line break between two Japanese (or other
// East Asian wide) characters: Japanese wraps without spaces, so rendered
// as a space it would split words. goldmark's own CJK option does this
// too, but also drops the break before a link or code span, gluing English
// words together.
func joinEastAsian(n *ast.Text, src []byte) {
	next, ok := n.NextSibling().(*ast.Text)
	if !n.SoftLineBreak() || !ok {
		return
	}
	this, following := n.Value(src), next.Value(src)
	if len(this) == 0 || len(following) == 0 {
		return
	}
	last, _ := utf8.DecodeLastRune(this)
	first, _ := utf8.DecodeRune(following)
	if util.IsEastAsianWideRune(last) && util.IsEastAsianWideRune(first) {
		n.SetSoftLineBreak(false)
	}
}

// markCodeSpan turns `cmd`{{exec}} into a run span and drops the mark,
// which the parser may have split over several text nodes.
func markCodeSpan(n *ast.CodeSpan, src []byte) {
	var texts []*ast.Text
	var after []byte
	for c := n.NextSibling(); c != nil && len(after) < 64; c = c.NextSibling() {
		t, ok := c.(*ast.Text)
		if !ok || len(texts) > 0 && t.Segment.Start != texts[len(texts)-1].Segment.Stop {
			break
		}
		texts = append(texts, t)
		after = append(after, t.Segment.Value(src)...)
	}
	m := inlineMark.FindSubmatch(after)
	if m == nil {
		return
	}
	action := actionExec
	if string(m[1]) == actionCopy {
		action = actionCopy
	}
	n.SetAttribute(attrAction, []byte(action))
	if len(m[2]) > 0 {
		n.SetAttribute(attrInterrupt, []byte("true"))
	}
	end := texts[0].Segment.Start + len(m[0])
	for _, t := range texts {
		switch {
		case t.Segment.Stop <= end && (t.SoftLineBreak() || t.HardLineBreak()):
			// Keep the line break, or the words either side would join.
			t.Segment = text.NewSegment(t.Segment.Stop, t.Segment.Stop)
		case t.Segment.Stop <= end:
			t.Parent().RemoveChild(t.Parent(), t)
		case t.Segment.Start < end:
			t.Segment = text.NewSegment(end, t.Segment.Stop)
		}
	}
}

// toAlert replaces a blockquote that opens with an alert mark.
func toAlert(bq *ast.Blockquote, src []byte, lang string) {
	p, ok := bq.FirstChild().(*ast.Paragraph)
	if !ok || p.Lines().Len() == 0 {
		return
	}
	first := p.Lines().At(0)
	m := alertMark.FindSubmatch(bytes.TrimSpace(first.Value(src)))
	if m == nil {
		return
	}
	kind := string(m[1])
	title := strings.TrimSpace(string(m[2]))
	if title == "" {
		title = alertTitles[kind][0]
		if lang == "ja" {
			title = alertTitles[kind][1]
		}
	}
	// Drop the mark's line from the paragraph, and the paragraph if that
	// was all of it. The line ends with the text that breaks it: what
	// follows may be code or emphasis, which have no position of their
	// own.
	for c := p.FirstChild(); c != nil; {
		next := c.NextSibling()
		t, isText := c.(*ast.Text)
		if isText && t.Segment.Start >= first.Stop {
			break
		}
		p.RemoveChild(p, c)
		if isText && (t.SoftLineBreak() || t.HardLineBreak()) {
			break
		}
		c = next
	}
	if p.ChildCount() == 0 {
		bq.RemoveChild(bq, p)
	}
	a := &alertNode{kind: strings.ToLower(kind), title: title}
	for c := bq.FirstChild(); c != nil; {
		next := c.NextSibling()
		a.AppendChild(a, c)
		c = next
	}
	bq.Parent().ReplaceChild(bq.Parent(), bq, a)
}

// lineOf is the 1-based line of the first text inside n. A link or image
// with no text starts where the inline before it ends: its paragraph's
// first line may be lines away.
func lineOf(n ast.Node, src []byte) int {
	at := func(pos int) int { return 1 + bytes.Count(src[:pos], []byte("\n")) }
	for c := n.FirstChild(); c != nil; c = c.FirstChild() {
		if t, ok := c.(*ast.Text); ok {
			return at(t.Segment.Start)
		}
	}
	switch prev := n.PreviousSibling().(type) {
	case nil:
		if p := n.Parent(); p != nil && p.Type() == ast.TypeInline {
			return lineOf(p, src)
		}
	case *ast.Text:
		if prev.SoftLineBreak() || prev.HardLineBreak() {
			return at(prev.Segment.Stop) + 1
		}
		return at(prev.Segment.Stop)
	default:
		return lineOf(prev, src)
	}
	for p := n.Parent(); p != nil; p = p.Parent() {
		if p.Type() == ast.TypeBlock && p.Lines().Len() > 0 {
			return at(p.Lines().At(0).Start)
		}
	}
	return 0
}

// resolve maps a relative link to its asset URL and records it. Absolute
// URLs and fragments pass through.
func (rc *renderContext) resolve(dest []byte, line int, image bool) []byte {
	d := string(dest)
	u, err := url.Parse(d)
	if err != nil {
		rc.links = append(rc.links, link{target: d, line: line, image: image, bad: "is not a valid URL"})
		return dest
	}
	if d == "" || u.Scheme != "" || u.Host != "" || strings.HasPrefix(d, "#") || strings.HasPrefix(d, "/") {
		return dest
	}
	target := path.Join(path.Dir(rc.file), u.Path)
	l := link{target: target, line: line, image: image}
	if strings.HasPrefix(target, "../") || target == ".." {
		l.bad = "points outside the scenario directory"
		rc.links = append(rc.links, l)
		return dest
	}
	rc.links = append(rc.links, l)
	out := "/scenarios/" + url.PathEscape(rc.id) + "/assets/" + (&url.URL{Path: target}).EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return []byte(out)
}

type nodeRenderer struct{}

func (nodeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, renderFence)
	reg.Register(ast.KindCodeSpan, renderCodeSpan)
	reg.Register(kindAlert, renderAlert)
}

// renderFence writes a code block, marked for the player when its info
// string says exec or copy.
func renderFence(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.FencedCodeBlock)
	var lang, action string
	interrupt := false
	if n.Info != nil {
		for i, word := range strings.Fields(string(n.Info.Segment.Value(src))) {
			switch word {
			case actionExec, "execute":
				action = actionExec
			case actionCopy:
				action = actionCopy
			case "interrupt":
				interrupt = true
			default:
				if i == 0 {
					lang = word
				}
			}
		}
	}
	if action != "" {
		fmt.Fprintf(w, `<div class="run-block" data-action="%s"`, action)
		if interrupt {
			_, _ = w.WriteString(` data-interrupt="true"`)
		}
		_, _ = w.WriteString(">")
	}
	_, _ = w.WriteString("<pre><code")
	if lang != "" {
		fmt.Fprintf(w, ` class="language-%s"`, html.EscapeString(lang))
	}
	_, _ = w.WriteString(">")
	lines := n.Lines()
	for i := range lines.Len() {
		seg := lines.At(i)
		_, _ = w.WriteString(html.EscapeString(string(seg.Value(src))))
	}
	_, _ = w.WriteString("</code></pre>")
	if action != "" {
		_, _ = w.WriteString("</div>")
	}
	_, _ = w.WriteString("\n")
	return ast.WalkSkipChildren, nil
}

func renderCodeSpan(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		_, _ = w.WriteString("</code>")
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString("<code")
	if action, ok := node.AttributeString("data-action"); ok {
		fmt.Fprintf(w, ` class="run" data-action="%s"`, action)
		if _, ok := node.AttributeString("data-interrupt"); ok {
			_, _ = w.WriteString(` data-interrupt="true"`)
		}
	}
	_, _ = w.WriteString(">")
	for c := node.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			// A code span's line breaks are spaces (CommonMark 6.1).
			_, _ = w.WriteString(html.EscapeString(strings.ReplaceAll(string(t.Segment.Value(src)), "\n", " ")))
		}
	}
	return ast.WalkSkipChildren, nil
}

func renderAlert(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*alertNode)
	if n.kind == "solution" {
		if entering {
			fmt.Fprintf(w, "<details class=\"solution\"><summary>%s</summary>\n", html.EscapeString(n.title))
		} else {
			_, _ = w.WriteString("</details>\n")
		}
		return ast.WalkContinue, nil
	}
	if entering {
		fmt.Fprintf(w, "<div class=\"admonition %s\"><p class=\"admonition-title\">%s</p>\n", n.kind, html.EscapeString(n.title))
	} else {
		_, _ = w.WriteString("</div>\n")
	}
	return ast.WalkContinue, nil
}
