package scenarios

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestRenderGolden renders each testdata/golden/NAME.md as a page of the
// scenario "demo" and compares it with NAME.html, and its Japanese render
// with NAME.ja.html, which exists only where the two differ (alert
// titles are localized). go test ./scenarios -run Golden -update
// rewrites them.
func TestRenderGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".md")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			en := renderGolden(t, src, name, "en")
			compareGolden(t, name+".html", en)
			ja := renderGolden(t, src, name, "ja")
			jaFile := filepath.Join("testdata", "golden", name+".ja.html")
			if ja != en {
				compareGolden(t, name+".ja.html", ja)
				return
			}
			// Same as English: a NAME.ja.html would say otherwise.
			if _, err := os.Stat(jaFile); err == nil {
				if *update {
					if err := os.Remove(jaFile); err != nil {
						t.Fatal(err)
					}
				} else {
					t.Errorf("%s exists, but the Japanese render is the same as the English one", jaFile)
				}
			}
		})
	}

	// Every golden file belongs to an input.
	outputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range outputs {
		base := strings.TrimSuffix(strings.TrimSuffix(out, ".html"), ".ja")
		if _, err := os.Stat(base + ".md"); errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s has no input %s.md", out, base)
		}
	}
}

func renderGolden(t *testing.T, src []byte, name, lang string) string {
	t.Helper()
	out, err := render(src, &renderContext{id: "demo", file: name + ".md", lang: lang})
	if err != nil {
		t.Fatalf("render (%s): %v", lang, err)
	}
	return out
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./scenarios -run Golden -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("render differs from %s (run with -update to accept it):\n%s", file, lineDiff(string(want), got))
	}
}

// lineDiff shows the first line where want and got part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return "(no line differs)"
}

func TestKillercodaFences(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "no fences", in: "Run `ls`{{exec}}.\n", want: "Run `ls`{{exec}}.\n"},
		{name: "plain block", in: "```\nls\n```\n", want: "```\nls\n```\n"},
		{name: "exec", in: "```\nls\n```{{exec}}\n", want: "``` exec\nls\n```\n"},
		{name: "exec with language", in: "```bash\nls\n```{{exec}}", want: "```bash exec\nls\n```"},
		{name: "exec interrupt", in: "```\ntop\n```{{exec interrupt}}\n", want: "``` exec interrupt\ntop\n```\n"},
		{name: "execute", in: "```\nls\n```{{execute}}\n", want: "``` exec\nls\n```\n"},
		{name: "terminal ignored", in: "```\nls\n```{{execute T2}}\n", want: "``` exec\nls\n```\n"},
		{name: "interrupt and terminal", in: "```\nls\n```{{execute interrupt T2}}\n", want: "``` exec interrupt\nls\n```\n"},
		{name: "copy", in: "```\nls\n```{{copy}}\n", want: "``` copy\nls\n```\n"},
		{name: "spaces", in: "```\nls\n```{{ exec }}  \n", want: "``` exec\nls\n```\n"},
		{name: "tildes", in: "~~~\nls\n~~~{{copy}}\n", want: "~~~ copy\nls\n~~~\n"},
		{name: "long fence", in: "````\n```\n````{{exec}}\n", want: "```` exec\n```\n````\n"},
		{name: "backticks in tildes", in: "~~~\n```\nls\n~~~{{exec}}\n", want: "~~~ exec\n```\nls\n~~~\n"},
		{name: "too short to close", in: "````\nls\n```{{exec}}\n", want: "````\nls\n```{{exec}}\n"},
		{name: "other fence character", in: "```\nls\n~~~{{exec}}\n", want: "```\nls\n~~~{{exec}}\n"},
		{name: "indented, in a list", in: "- a\n\n  ```\n  ls\n  ```{{exec}}\n", want: "- a\n\n  ``` exec\n  ls\n  ```\n"},
		{
			name: "after a plain block",
			in:   "```\none\n```\n\n```\ntwo\n```{{exec}}\n",
			want: "```\none\n```\n\n``` exec\ntwo\n```\n",
		},
		{
			name: "two marked blocks",
			in:   "```\none\n```{{copy}}\ntext\n```sh\ntwo\n```{{exec}}\n",
			want: "``` copy\none\n```\ntext\n```sh exec\ntwo\n```\n",
		},
		// A mark where a block opens is no closing fence: left alone.
		{name: "mark on an opening fence", in: "```{{exec}}\nls\n```\n", want: "```{{exec}}\nls\n```\n"},
		{name: "unknown mark", in: "```\nls\n```{{run}}\n", want: "```\nls\n```{{run}}\n"},
		{name: "text after the mark", in: "```\nls\n```{{exec}} now\n", want: "```\nls\n```{{exec}} now\n"},
		{name: "unclosed", in: "```\nls\n", want: "```\nls\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(killercodaFences([]byte(tt.in))); got != tt.want {
				t.Errorf("killercodaFences(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got, want := strings.Count(tt.want, "\n"), strings.Count(tt.in, "\n"); got != want {
				t.Errorf("%d lines, want %d: lines must keep their numbers", got, want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		file, dest string
		want       string
		link       *link // what is recorded, if anything
	}{
		{file: "step1.md", dest: "step2.md", want: "/scenarios/demo/assets/step2.md", link: &link{target: "step2.md"}},
		{file: "step1.md", dest: "./images/a.png", want: "/scenarios/demo/assets/images/a.png", link: &link{target: "images/a.png"}},
		{file: "steps/one.md", dest: "two.md", want: "/scenarios/demo/assets/steps/two.md", link: &link{target: "steps/two.md"}},
		{file: "steps/one.md", dest: "../images/a.png", want: "/scenarios/demo/assets/images/a.png", link: &link{target: "images/a.png"}},
		{file: "step1.md", dest: "a/../b.md", want: "/scenarios/demo/assets/b.md", link: &link{target: "b.md"}},
		{file: "step1.md", dest: "b.md?raw=1#part-2", want: "/scenarios/demo/assets/b.md?raw=1#part-2", link: &link{target: "b.md"}},
		{file: "step1.md", dest: "my%20file.txt", want: "/scenarios/demo/assets/my%20file.txt", link: &link{target: "my file.txt"}},
		{file: "step1.md", dest: "my file.txt", want: "/scenarios/demo/assets/my%20file.txt", link: &link{target: "my file.txt"}},
		{file: "step1.md", dest: "b.md#über", want: "/scenarios/demo/assets/b.md#%C3%BCber", link: &link{target: "b.md"}},
		{file: "step1.md", dest: "../x.md", want: "../x.md", link: &link{target: "../x.md", bad: "points outside the scenario directory"}},
		{file: "steps/one.md", dest: "../../x.md", want: "../../x.md", link: &link{target: "../x.md", bad: "points outside the scenario directory"}},
		{file: "step1.md", dest: "..", want: "..", link: &link{target: "..", bad: "points outside the scenario directory"}},
		{file: "step1.md", dest: "%zz", want: "%zz", link: &link{target: "%zz", bad: "is not a valid URL"}},
		{file: "step1.md", dest: "https://kubernetes.io/docs/", want: "https://kubernetes.io/docs/"},
		{file: "step1.md", dest: "//example.com/x", want: "//example.com/x"},
		{file: "step1.md", dest: "mailto:a@example.com", want: "mailto:a@example.com"},
		{file: "step1.md", dest: "#top", want: "#top"},
		{file: "step1.md", dest: "/scenarios", want: "/scenarios"},
		{file: "step1.md", dest: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.file+"→"+tt.dest, func(t *testing.T) {
			rc := &renderContext{id: "demo", file: tt.file, lang: "en"}
			if got := string(rc.resolve([]byte(tt.dest), 7, true)); got != tt.want {
				t.Errorf("resolve = %q, want %q", got, tt.want)
			}
			var want []link
			if tt.link != nil {
				l := *tt.link
				l.line, l.image = 7, true
				want = []link{l}
			}
			if !slices.Equal(rc.links, want) {
				t.Errorf("links = %+v, want %+v", rc.links, want)
			}
		})
	}
}

// TestRenderLinks checks the links found while rendering, and the
// markdown lines the loader reports them at.
func TestRenderLinks(t *testing.T) {
	tests := []struct {
		name, src string
		want      []link
	}{
		{name: "link", src: "# T\n\nSee [this](a.md).\n", want: []link{{target: "a.md", line: 3}}},
		{name: "image", src: "![alt](a.png)\n", want: []link{{target: "a.png", line: 1, image: true}}},
		{name: "link text over two lines", src: "x\n[two\nlines](a.md)\n", want: []link{{target: "a.md", line: 2}}},
		{name: "code in a link", src: "x\n[`code`](a.md)\n", want: []link{{target: "a.md", line: 2}}},
		{name: "no alt, alone", src: "x\n\n![](a.png)\n", want: []link{{target: "a.png", line: 3, image: true}}},
		{name: "no alt, after text", src: "x\nsome text ![](a.png)\n", want: []link{{target: "a.png", line: 2, image: true}}},
		{name: "no alt, after a line break", src: "x\n![](a.png)\n", want: []link{{target: "a.png", line: 2, image: true}}},
		{name: "no alt, after a hard break", src: "x  \n![](a.png)\n", want: []link{{target: "a.png", line: 2, image: true}}},
		{name: "no alt, one after another", src: "x\nsome ![](a.png)![](b.png) text\n", want: []link{
			{target: "a.png", line: 2, image: true}, {target: "b.png", line: 2, image: true},
		}},
		{name: "no alt, in emphasis", src: "x\n*![](a.png) b*\n", want: []link{{target: "a.png", line: 2, image: true}}},
		{name: "image as a link", src: "x\n[![](a.png)](b.md)\n", want: []link{
			{target: "b.md", line: 2}, {target: "a.png", line: 2, image: true},
		}},
		{name: "reference", src: "x\n\n[ref][r]\n\n[r]: a.md\n", want: []link{{target: "a.md", line: 3}}},
		{name: "in a list", src: "- a\n- [b](b.md)\n", want: []link{{target: "b.md", line: 2}}},
		{name: "in an alert", src: "> [!NOTE]\n> See ![a](a.png).\n", want: []link{{target: "a.png", line: 2, image: true}}},
		{name: "absolute ones are not recorded", src: "[a](https://example.com) <https://example.com> https://example.com\n"},
		{name: "not in code", src: "`[a](a.md)`\n\n```\n[b](b.md)\n```\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &renderContext{id: "demo", file: "p.md", lang: "en"}
			if _, err := render([]byte(tt.src), rc); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rc.links, tt.want) {
				t.Errorf("links = %+v, want %+v", rc.links, tt.want)
			}
		})
	}
}

// TestRenderKeepsLineBreaks: a mark dropped at the end of a line must not
// take the line break with it.
func TestRenderKeepsLineBreaks(t *testing.T) {
	tests := []struct{ src, want string }{
		{"Run `ls`{{exec}}\nnow\n", "<p>Run <code class=\"run\" data-action=\"exec\">ls</code>\nnow</p>\n"},
		{"Run `ls`{{exec}}\r\nnow\r\n", "<p>Run <code class=\"run\" data-action=\"exec\">ls</code>\nnow</p>\n"},
		{"Run `ls`{{execute T2}}\nnow\n", "<p>Run <code class=\"run\" data-action=\"exec\">ls</code>\nnow</p>\n"},
		{"Run `ls`{{copy}}  \nnow\n", "<p>Run <code class=\"run\" data-action=\"copy\">ls</code><br>\nnow</p>\n"},
		{"Run `ls`{{exec}} and\nnow\n", "<p>Run <code class=\"run\" data-action=\"exec\">ls</code> and\nnow</p>\n"},
		// Between Japanese characters a source line break is no space; next
		// to Latin text it still is one.
		{"サーバーを管理しない\nという意味です。\n", "<p>サーバーを管理しないという意味です。</p>\n"},
		{"自分の Kubernetes\nクラスター\n", "<p>自分の Kubernetes\nクラスター</p>\n"},
		{"次を\n`ls` で\n", "<p>次を\n<code>ls</code> で</p>\n"},
	}
	for _, tt := range tests {
		got, err := render([]byte(tt.src), &renderContext{id: "demo", file: "p.md", lang: "en"})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("render(%q) = %q, want %q", tt.src, got, tt.want)
		}
	}
}
