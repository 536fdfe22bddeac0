package localcluster_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/scenarios"
)

// objectClient creates objects of any kind the cluster serves, the way
// kubectl apply creates them: with strict field validation, so a misspelt
// field is an error and not silently pruned.
type objectClient struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	ns     string
}

func newObjectClient(t *testing.T) *objectClient {
	rc := clustertest.Config(t)
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return &objectClient{
		dyn:    dyn,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		ns:     newNamespace(t, clustertest.Client(t)),
	}
}

func (c *objectClient) resource(o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	return c.dyn.Resource(m.Resource).Namespace(c.ns), nil
}

func (c *objectClient) create(ctx context.Context, o *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	ri, err := c.resource(o)
	if err != nil {
		return nil, err
	}
	opts := metav1.CreateOptions{FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return ri.Create(ctx, o, opts)
}

func (c *objectClient) get(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.resource(o)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, o.GetName(), metav1.GetOptions{})
}

func crdTestdata(t *testing.T, kind string) map[string][]byte {
	t.Helper()
	root, err := clustertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "deploy", "cluster", "crds", "testdata", kind, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %s examples in deploy/cluster/crds/testdata/%s", kind, kind)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	return out
}

// TestTrackAPIsRejectWrongFields: every wrong example is refused, with the
// message its first line ("# want: ...") promises, which is what a learner
// who misspells a field reads in their terminal.
func TestTrackAPIsRejectWrongFields(t *testing.T) {
	c := newObjectClient(t)
	for name, data := range crdTestdata(t, "invalid") {
		t.Run(name, func(t *testing.T) {
			first, _, _ := bytes.Cut(data, []byte("\n"))
			want, ok := strings.CutPrefix(string(first), "# want: ")
			if !ok || want == "" {
				t.Fatalf("the first line must be `# want: <part of the error>`, not %q", first)
			}
			objs := decode(t, data)
			if len(objs) != 1 {
				t.Fatalf("%d objects; an invalid example holds exactly one", len(objs))
			}
			_, err := c.create(context.Background(), objs[0], true)
			if err == nil {
				t.Fatalf("%s %s was accepted; want an error containing %q", objs[0].GetKind(), objs[0].GetName(), want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not contain %q", err, want)
			}
		})
	}
}

// settled says, for the kinds whose status a stage plays, what a real
// controller would have reported once done.
var settled = map[string]func(*unstructured.Unstructured) bool{
	"Service.serving.knative.dev":                readyWith("url"),
	"InferenceService.serving.kserve.io":         readyWith("url"),
	"Workflow.argoproj.io":                       phase("Succeeded"),
	"ClusterServiceVersion.operators.coreos.com": phase("Succeeded"),
}

func readyWith(field string) func(*unstructured.Unstructured) bool {
	return func(o *unstructured.Unstructured) bool {
		v, _, _ := unstructured.NestedString(o.Object, "status", field)
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Ready" && m["status"] == "True" {
				return v != ""
			}
		}
		return false
	}
}

func phase(want string) func(*unstructured.Unstructured) bool {
	return func(o *unstructured.Unstructured) bool {
		v, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		return v == want
	}
}

// TestTrackAPIsAcceptAndSettleExamples: every correct example is created
// for real, and those of a kind a stage plays reach the status the real
// controller gives: a Knative Service Ready with a URL, a Workflow
// Succeeded, an InferenceService Ready, a CSV Succeeded.
func TestTrackAPIsAcceptAndSettleExamples(t *testing.T) {
	c := newObjectClient(t)
	ctx := context.Background()
	seen := map[string]bool{}
	for name, data := range crdTestdata(t, "valid") {
		// A namespace per file: a Knative Service's stage makes the
		// Configuration and Route that another file creates by hand.
		c.ns = newNamespace(t, clustertest.Client(t))
		for _, o := range decode(t, data) {
			if _, err := c.create(ctx, o, false); err != nil {
				t.Errorf("%s: %s %s: %v", name, o.GetKind(), o.GetName(), err)
				continue
			}
			gk := o.GroupVersionKind().GroupKind().String()
			done, ok := settled[gk]
			if !ok {
				continue
			}
			seen[gk] = true
			clustertest.Eventually(t, name+": "+gk+" "+o.GetName()+" settles", func(ctx context.Context) (bool, error) {
				got, err := c.get(ctx, o)
				if err != nil {
					return false, err
				}
				return done(got), nil
			})
		}
	}
	for gk := range settled {
		if !seen[gk] {
			t.Errorf("no valid example of %s, whose stage this test exists to check", gk)
		}
	}
}

// TestBuiltinScenarioObjectsAreAccepted: every object a built-in scenario
// shows the learner or applies for them, in a YAML block, a heredoc in a
// run block or a solve, or a manifest file, passes the cluster's schemas.
// keiko test applies only the solves; this catches the YAML learners copy.
func TestBuiltinScenarioObjectsAreAccepted(t *testing.T) {
	c := newObjectClient(t)
	tree := scenarios.Builtin()
	n := 0
	err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		var docs [][]byte
		switch {
		case strings.Contains(p, "/manifests/") && path.Ext(p) == ".yaml":
			docs = [][]byte{data}
		case path.Ext(p) == ".md" || path.Base(p) == "scenario.yaml":
			docs = embeddedYAML(string(data))
		}
		for _, doc := range docs {
			// A page may show a wrong object on purpose, to let the learner
			// meet the schema's error; it says so in a "# rejected" comment.
			rejected := rejectedComment.Match(doc)
			for _, o := range decode(t, doc) {
				n++
				_, err := c.create(context.Background(), o, true)
				switch {
				case rejected && err == nil:
					t.Errorf("%s: %s %s is marked # rejected but was accepted", p, o.GetKind(), o.GetName())
				case !rejected && err != nil:
					t.Errorf("%s: %s %s: %v", p, o.GetKind(), o.GetName(), err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("found no objects in the built-in scenarios")
	}
	t.Logf("%d objects accepted", n)
}

var (
	yamlFence       = regexp.MustCompile("(?ms)^[ \t>]*```ya?ml[^\n]*\n(.*?)^[ \t>]*```")
	rejectedComment = regexp.MustCompile(`#\s*rejected\b`)
	// A command line, not prose that mentions one: it starts the line.
	heredocCommand = regexp.MustCompile(`^[\s>]*(kubectl\s+(apply|create)\b|cat\s+<<.*\|\s*kubectl\s+(apply|create)\b)`)
	heredoc        = regexp.MustCompile(`<<-?\s*(['"]?)(\w+)['"]?`)
)

// embeddedYAML finds Kubernetes objects in a page or a scenario.yaml: YAML
// fences, and heredocs fed to kubectl apply or create. Heredocs with shell
// expansions are left out, as their text is not what the cluster sees.
func embeddedYAML(text string) [][]byte {
	var docs []string
	for _, m := range yamlFence.FindAllStringSubmatch(text, -1) {
		docs = append(docs, unquote(m[1]))
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		m := heredoc.FindStringSubmatch(l)
		if m == nil || !heredocCommand.MatchString(l) {
			continue
		}
		var body []string
		for _, b := range lines[i+1:] {
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(b), ">")) == m[2] {
				break
			}
			body = append(body, b)
		}
		doc := dedent(unquote(strings.Join(body, "\n")))
		if m[1] == "" && strings.Contains(doc, "$") {
			continue
		}
		docs = append(docs, doc)
	}
	var out [][]byte
	for _, doc := range docs {
		if strings.Contains(doc, "apiVersion:") && strings.Contains(doc, "kind:") {
			out = append(out, []byte(doc))
		}
	}
	return out
}

// dedent removes the indentation a heredoc has inside a YAML block
// scalar, so that its "---" separators are at the start of their lines.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}

// unquote strips the "> " of a fence inside a blockquote (alerts,
// solutions).
func unquote(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, ">"), " ")
	}
	if strings.HasPrefix(strings.TrimSpace(s), ">") {
		return strings.Join(lines, "\n")
	}
	return s
}

func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		o := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &o.Object); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		if len(o.Object) > 0 {
			out = append(out, o)
		}
	}
}
