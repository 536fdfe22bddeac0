package keiko

import "time"

// Session is one learner's run of one scenario in its own sandbox namespace.
type Session struct {
	ID         string
	LearnerID  string
	ScenarioID string
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
