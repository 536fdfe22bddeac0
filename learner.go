package keiko

import "time"

// Learner is a person taking scenarios. Learners are anonymous by default:
// DisplayName is whatever they chose to be called in an instructor's view.
type Learner struct {
	ID          string
	DisplayName string
	CreatedAt   time.Time
}
