package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// FuzzLoad loads a scenario.yaml and a step1.md from anywhere: Load must
// not panic, must not lose a scenario without saying why, and must say
// in which file each problem is.
func FuzzLoad(f *testing.F) {
	step := readSeed(f, "valid-minimal/step1.md")
	for _, dir := range []string{"valid-full", "valid-minimal", "valid-selector", "invalid-metadata", "invalid-checks", "invalid-steps", "invalid-wrong-types", "invalid-syntax"} {
		f.Add(readSeed(f, dir+"/"+FileName), step)
	}
	f.Add([]byte(""), []byte(""))
	f.Add([]byte("id: x\ntitle: [a\n"), step)
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"), step)
	f.Add([]byte("id: x\ntitle: X\ntrack: t\nlevel: beginner\nduration: 1m\nsteps:\n  - title: S\n    text: step1.md\n    hint: '[x](../y) ![](step1.md)'\n"),
		[]byte("> [!SOLUTION] `x`{{exec}}\n> ```{{copy}}\n![](step1.md)\n```\nls\n```{{exec interrupt}}\n"))

	f.Fuzz(func(t *testing.T, yml, md []byte) {
		files := fstest.MapFS{
			"s/" + FileName: {Data: yml},
			"s/step1.md":    {Data: md},
			"s/step1.ja.md": {Data: md},
		}
		e := Load(files, "s")
		if e.Scenario == nil && !e.Broken() {
			t.Fatalf("no scenario, and no error to say why: %q", e.Problems)
		}
		if e.Scenario != nil && e.Broken() {
			t.Fatalf("a scenario, with errors: %q", e.Problems)
		}
		for _, p := range e.Problems {
			if !strings.HasPrefix(p.File, "s/") {
				t.Errorf("problem names no file of the scenario: %q", p)
			}
			if p.Line < 0 {
				t.Errorf("problem at line %d: %q", p.Line, p)
			}
		}
	})
}

// FuzzRender renders any markdown: no panic, and valid UTF-8 in gives
// valid UTF-8 out.
func FuzzRender(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.md"))
	if err != nil {
		f.Fatal(err)
	}
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, false)
	}
	f.Add([]byte("`a`{{exec}}\n```\nx\n```{{exec interrupt}}\n> [!NOTE] t\n> ![](../x)"), true)
	f.Add([]byte("> [!SOLUTION]\n> > [!NOTE]\n> > `x`{{copy}}\n"), true)
	f.Add([]byte("- ```{{exec}}\n  ~~~\n  ```{{copy}}\n"), false)

	f.Fuzz(func(t *testing.T, src []byte, ja bool) {
		lang := "en"
		if ja {
			lang = "ja"
		}
		rc := &renderContext{id: "fuzz", file: "steps/page.md", lang: lang}
		out, err := render(src, rc)
		if err != nil {
			t.Fatal(err)
		}
		if utf8.Valid(src) && !utf8.ValidString(out) {
			t.Errorf("invalid UTF-8 out of valid UTF-8 in: %q", out)
		}
		for _, l := range rc.links {
			if l.line < 1 || l.line > strings.Count(string(src), "\n")+1 {
				t.Errorf("link %+v is at a line the page does not have", l)
			}
		}
	})
}

func readSeed(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
