// Package check evaluates scenario checks against a learner's sandbox:
// resource checks as CEL over the live objects, script checks in the
// learner's environment, on demand or live as the namespace changes.
package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/expr"
)

// ScriptRunner runs a bash script in a session's learner environment:
// their home, their kubeconfig, their jail or terminal pod.
type ScriptRunner interface {
	Run(ctx context.Context, session string, kubeconfig []byte, script string) (exit int, output []byte, err error)
}

// Default timeouts, when a check gives none.
const (
	ResourceTimeout = 5 * time.Second
	ScriptTimeout   = 30 * time.Second
)

// Target is where checks run.
type Target struct {
	Namespace  string // the sandbox
	Session    string // for script checks, with
	Kubeconfig []byte // the learner's credentials
	Lang       string // of the messages
}

// Engine evaluates checks. It is safe for concurrent use.
type Engine struct {
	dyn     dynamic.Interface
	scripts ScriptRunner
	progs   sync.Map // expression source and kind → *expr.Program
}

// New returns an engine reading the cluster through dyn. scripts may be
// nil, and script checks then fail with a message saying so.
func New(dyn dynamic.Interface, scripts ScriptRunner) *Engine {
	return &Engine{dyn: dyn, scripts: scripts}
}

// Evaluate runs checks now, in parallel, reading the objects from the API.
func (e *Engine) Evaluate(ctx context.Context, t Target, checks []keiko.Check) []keiko.CheckResult {
	return e.evaluate(ctx, t, checks, apiSource{e.dyn, t.Namespace})
}

// objects is where resource checks read from: the API, or a watch's cache.
type objects interface {
	get(ctx context.Context, gvr schema.GroupVersionResource, name string) (map[string]any, error) // nil, nil when absent
	list(ctx context.Context, gvr schema.GroupVersionResource, selector string) ([]any, error)
}

func (e *Engine) evaluate(ctx context.Context, t Target, checks []keiko.Check, src objects) []keiko.CheckResult {
	results := make([]keiko.CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { results[i] = e.one(ctx, t, c, src) })
	}
	wg.Wait()
	return results
}

func (e *Engine) one(ctx context.Context, t Target, c keiko.Check, src objects) keiko.CheckResult {
	if c.Script != "" {
		return e.script(ctx, t, c)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = ResourceTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return e.resource(ctx, t, c, src)
}

// ParseResource reads "group/version/resource", or "version/resource" for
// the core group.
func ParseResource(s string) (schema.GroupVersionResource, error) {
	parts := strings.Split(s, "/")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return schema.GroupVersionResource{Version: parts[0], Resource: parts[1]}, nil
	case len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != "":
		return schema.GroupVersionResource{Group: parts[0], Version: parts[1], Resource: parts[2]}, nil
	}
	return schema.GroupVersionResource{}, fmt.Errorf("resource %q is not group/version/resource", s)
}

func (e *Engine) resource(ctx context.Context, t Target, c keiko.Check, src objects) keiko.CheckResult {
	fail := func(detail string) keiko.CheckResult {
		return keiko.CheckResult{Message: message(c, t.Lang), Detail: detail}
	}
	gvr, err := ParseResource(c.Resource)
	if err != nil {
		return fail(err.Error())
	}
	cond, err := e.program(c.Expr, expr.Bool)
	if err != nil {
		return fail("expr: " + err.Error())
	}
	vars := expr.Vars{Namespace: t.Namespace}
	if c.Name != "" {
		vars.Object, err = src.get(ctx, gvr, c.Name)
	} else {
		vars.Objects, err = src.list(ctx, gvr, c.Selector)
	}
	if err != nil {
		return fail(fmt.Sprintf("read %s: %v", c.Resource, err))
	}
	ok, err := cond.Bool(ctx, vars)
	if ok {
		return keiko.CheckResult{Passed: true}
	}
	r := keiko.CheckResult{Message: e.explain(ctx, c, t.Lang, vars)}
	if err != nil {
		r.Detail = "expr: " + err.Error()
	}
	return r
}

// explain is the learner's message for a failed resource check: the
// messageExpr in their language, else the message in their language, else
// the default language's messageExpr, else its message.
func (e *Engine) explain(ctx context.Context, c keiko.Check, lang string, vars expr.Vars) string {
	if m := e.say(ctx, c.MessageExpr[lang], vars); m != "" {
		return m
	}
	if m := c.Message[lang]; m != "" {
		return m
	}
	if m := e.say(ctx, c.MessageExpr[keiko.DefaultLanguage], vars); m != "" {
		return m
	}
	return message(c, lang)
}

// say evaluates a message expression, or gives "" when there is none or
// it fails.
func (e *Engine) say(ctx context.Context, src string, vars expr.Vars) string {
	if src == "" {
		return ""
	}
	p, err := e.program(src, expr.String)
	if err != nil {
		return ""
	}
	s, _ := p.String(ctx, vars) // "" on error
	return s
}

// message is a check's static message, or a generic one.
func message(c keiko.Check, lang string) string {
	if m := c.Message.In(lang); m != "" {
		return m
	}
	if lang == "ja" {
		return "まだ条件を満たしていません。"
	}
	return "Not done yet."
}

func (e *Engine) program(src string, kind expr.Kind) (*expr.Program, error) {
	key := fmt.Sprint(kind, src)
	if p, ok := e.progs.Load(key); ok {
		return p.(*expr.Program), nil
	}
	p, err := expr.Compile(src, kind)
	if err != nil {
		return nil, err
	}
	e.progs.Store(key, p)
	return p, nil
}

// maxOutput bounds what a script check keeps of its output.
const maxOutput = 16 << 10

func (e *Engine) script(ctx context.Context, t Target, c keiko.Check) keiko.CheckResult {
	if e.scripts == nil {
		return keiko.CheckResult{Message: message(c, t.Lang), Detail: "script checks need a learner environment, and none is configured"}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = ScriptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, out, err := e.scripts.Run(ctx, t.Session, t.Kubeconfig, c.Script)
	if len(out) > maxOutput {
		out = out[len(out)-maxOutput:]
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return keiko.CheckResult{Message: message(c, t.Lang), Detail: fmt.Sprintf("script timed out after %s", timeout)}
	case err != nil:
		return keiko.CheckResult{Message: message(c, t.Lang), Detail: "script: " + err.Error()}
	case code == 0:
		return keiko.CheckResult{Passed: true}
	}
	r := keiko.CheckResult{Message: message(c, t.Lang), Detail: fmt.Sprintf("exit %d: %s", code, bytes.TrimSpace(out))}
	if reason := failReason(out); reason != "" {
		r.Message = reason
	}
	return r
}

// failReason is the last "FAIL: reason" line of a script's output, the
// convention of Killercoda's verify.sh and Instruqt's checks.
func failReason(out []byte) string {
	var reason string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if r, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "FAIL:"); ok {
			reason = strings.TrimSpace(r)
		}
	}
	return reason
}

// apiSource reads objects from the apiserver.
type apiSource struct {
	dyn dynamic.Interface
	ns  string
}

func (s apiSource) get(ctx context.Context, gvr schema.GroupVersionResource, name string) (map[string]any, error) {
	o, err := s.dyn.Resource(gvr).Namespace(s.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !isMissingType(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return o.Object, nil
}

func (s apiSource) list(ctx context.Context, gvr schema.GroupVersionResource, selector string) ([]any, error) {
	l, err := s.dyn.Resource(gvr).Namespace(s.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := make([]any, len(l.Items))
	for i := range l.Items {
		out[i] = l.Items[i].Object
	}
	return out, nil
}

// isMissingType tells "no such object" from "no such resource type": both
// are 404s, but only the first is a normal state for a check.
func isMissingType(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d == nil || d.Name == ""
}
