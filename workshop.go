package keiko

import (
	"strings"
	"time"
)

// Workshop is an instructor's event: a room of learners who join with a
// code and take the chosen scenarios within a time window.
type Workshop struct {
	ID        string
	Code      string // what learners type to join; compared without case
	Title     string
	Scenarios []string // scenario ids on offer, in order
	Capacity  int      // most learners who may join; 0 means no limit
	Opens     time.Time
	Closes    time.Time
	Owner     string // the instructor who made it, who alone sees its learners
	CreatedAt time.Time
}

// OpenAt reports whether learners may join and start sessions at now.
func (w Workshop) OpenAt(now time.Time) bool {
	return !now.Before(w.Opens) && now.Before(w.Closes)
}

// NormalizeCode is how a join code is stored and compared: trimmed and
// upper case, so "kansai-26 " and "KANSAI-26" are one code.
func NormalizeCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// Attendee is a learner of a workshop with their sessions of its scenarios,
// as an instructor's grid shows them.
type Attendee struct {
	Learner  Learner
	JoinedAt time.Time
	Sessions []Attempt
}

// Attempt is a session with its steps' records.
type Attempt struct {
	Session Session
	Steps   map[int]StepRecord // steps with no record are pending
}

// StepRecord is a step's recorded status and when it was recorded, which
// is when an instructor sees a learner's progress last moved.
type StepRecord struct {
	Status StepStatus
	At     time.Time
}
