package keiko

import (
	"strings"
	"time"
)

// Scenario is one hands-on lab: a title, some context, and ordered steps,
// each checked against the learner's sandbox. Package scenarios loads it
// from a directory of YAML and markdown.
type Scenario struct {
	ID          string // stable slug, e.g. "kubernetes-basics"; used in URLs and the store
	Title       Text
	Description Text // one or two sentences for the catalog
	Track       string
	Level       Level
	Duration    time.Duration // the estimate shown in the catalog, not a limit
	Tags        []string
	// Requires lists the API kinds the scenario uses, as
	// "group/version/Kind" ("v1/Pod" for the core group); a cluster that
	// lacks one cannot run it.
	Requires []string
	Sandbox  SandboxSpec
	Allow    Allow
	Setup    Action // run once, when the sandbox is ready
	Intro    Page
	Finish   Page
	Steps    []Step
}

// Allow says which shortcuts the player offers learners. Both default to
// true, as at a workshop nobody should be stuck behind one step; an author
// of an exam turns them off.
type Allow struct {
	Skip  bool // move on without the step's checks passing; recorded as skipped
	Solve bool // let Keiko do the step; recorded as solve used
}

// Text is prose in several languages, keyed by language tag ("en", "ja").
type Text map[string]string

// DefaultLanguage is the language every scenario is written in; other
// languages fall back to it.
const DefaultLanguage = "en"

// In returns the text in lang, or in the default language when it has no
// translation.
func (t Text) In(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t[DefaultLanguage]
}

// Page is a markdown page, rendered to HTML once at load, per language.
type Page struct {
	Markdown Text
	HTML     Text
}

// SandboxSpec is what a scenario needs from its sandbox.
type SandboxSpec struct {
	Size        string // a sandbox size name; "" for the default
	PodSecurity string // privileged, baseline or restricted; "" for the default
}

// Action changes the learner's sandbox: manifests applied into the
// namespace, then a script run in the learner's environment.
type Action struct {
	Manifests string // YAML, possibly several documents
	Script    string // bash
}

// Empty reports whether the action does nothing.
func (a Action) Empty() bool {
	return strings.TrimSpace(a.Manifests) == "" && strings.TrimSpace(a.Script) == ""
}

// Level says how much a learner should already know before a scenario.
type Level string

// Levels, from the catalog's point of view.
const (
	LevelBeginner     Level = "beginner"
	LevelIntermediate Level = "intermediate"
	LevelAdvanced     Level = "advanced"
)

// Step is one page of a scenario's instructions. Progress is recorded per
// step index, so reordering steps in a published scenario resets progress.
type Step struct {
	Index  int // 0-based position in Scenario.Steps
	Title  Text
	Text   Page
	Hint   Page
	Setup  Action // run when the learner reaches the step
	Solve  Action // makes the checks pass; shown as the solution
	Checks []Check
}

// Check is one condition a step's completion requires: either a resource
// check (Resource set) or a script check (Script set).
type Check struct {
	// Resource is "group/version/resource", or "version/resource" for the
	// core group: "apps/v1/deployments", "v1/pods".
	Resource string
	Name     string // one object by name; with neither Name nor Selector, all of them
	Selector string // a label selector
	// Expr is CEL over object (with Name) or objects (otherwise), true
	// when the check passes.
	Expr string

	Script string // bash; exit 0 passes, a "FAIL: reason" line explains

	// Message tells the learner what is missing when the check fails.
	// MessageExpr, CEL giving a string, says it with the cluster's values;
	// Message is the fallback when it cannot be evaluated.
	Message     Text
	MessageExpr Text
	Timeout     time.Duration
}

// CheckResult is one check's verdict.
type CheckResult struct {
	Passed  bool
	Message string // what the learner should do next, when not passed
	Detail  string // for the scenario's author: an expression's error, a script's output
}

// Passed reports whether every result passed: a step with no checks has
// nothing to fail.
func Passed(rs []CheckResult) bool {
	for _, r := range rs {
		if !r.Passed {
			return false
		}
	}
	return true
}

// StepStatus is a learner's state on one step. It is stored as text, so the
// values are part of the database format: don't rename them.
type StepStatus string

// Step statuses. A step starts pending and ends passed (its checks matched
// the cluster) or skipped (the learner moved on without passing).
const (
	StepPending StepStatus = "pending"
	StepPassed  StepStatus = "passed"
	StepSkipped StepStatus = "skipped"
)
