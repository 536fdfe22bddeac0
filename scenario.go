package keiko

import "time"

// Scenario is one hands-on lab: a title, some context, and ordered steps.
// Scenario content is data loaded from markdown by package scenarios.
type Scenario struct {
	ID          string        // stable slug, e.g. "deployments-101"; used in URLs and the store
	Title       string        // e.g. "Your first Deployment"
	Description string        // one or two sentences for the catalog
	Track       string        // groups scenarios in the catalog, e.g. "Kubernetes basics"
	Level       Level         // how much the learner should already know
	Duration    time.Duration // the estimate shown in the catalog, not a limit
	Steps       []Step
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
	Index int    // 0-based position in Scenario.Steps
	Title string // e.g. "Scale it up"
	Text  string // markdown body, rendered by package scenarios
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
