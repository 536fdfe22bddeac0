package keiko

import "time"

// Session is one learner's run of one scenario in its own sandbox namespace.
type Session struct {
	ID         string
	LearnerID  string
	ScenarioID string
	WorkshopID string // empty unless started from a workshop
	Namespace  string // the sandbox namespace on the cluster
	CreatedAt  time.Time
	ExpiresAt  time.Time // moves forward when the learner extends the session
	EndedAt    time.Time // zero while the session is active
}

// Expired reports whether the session's time is up at now. It takes now
// rather than calling time.Now so callers (the reaper, tests) own the clock.
// A zero ExpiresAt counts as expired: a session nobody gave a deadline would
// otherwise hold its namespace forever.
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt)
}

// Event is something that happened in a session, kept in an append-only
// log for instructors' reports and the events webhook.
type Event struct {
	SessionID string
	Kind      EventKind
	Step      int // for step events; -1 otherwise
	At        time.Time
}

// EventKind names an event. Stored as text: don't rename the values.
type EventKind string

// Event kinds.
const (
	EventSessionStarted EventKind = "session.started"
	EventStepChecked    EventKind = "step.checked"
	EventStepPassed     EventKind = "step.passed"
	EventStepSkipped    EventKind = "step.skipped"
	EventHintUsed       EventKind = "hint.used"
	EventSolveUsed      EventKind = "solve.used"
	EventFinished       EventKind = "session.finished"
)
