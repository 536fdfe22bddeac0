package sandbox

import (
	"fmt"
	"sync"
	"time"

	"github.com/keiko-lab/keiko"
)

// CapacityError says a sandbox cannot be had now. It is wrapped in a
// keiko.Error with code EUNAVAILABLE, so the web layer maps it to 503 and
// takes RetryAfter for the Retry-After header.
type CapacityError struct {
	Scope      string // "cluster" or "learner"
	Limit      int
	RetryAfter time.Duration // zero when waiting will not help
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("%s sandbox limit of %d reached", e.Scope, e.Limit)
}

// RetryAfterHint is when to try again; zero when waiting will not help.
func (e *CapacityError) RetryAfterHint() time.Duration { return e.RetryAfter }

func capacityError(e *CapacityError) error {
	msg := fmt.Sprintf("All %d lab environments are in use. Please try again in %s.", e.Limit, e.RetryAfter.Round(time.Second))
	if e.Scope == "learner" {
		msg = fmt.Sprintf("You already have %d lab environments open. Finish or delete one to start another.", e.Limit)
	}
	return &keiko.Error{Code: keiko.EUNAVAILABLE, Message: msg, Op: "sandbox.Provision", Err: e}
}

// Retry hints are bounded: a sandbox may be deleted early, and a hint of an
// hour would send a learner away for nothing.
const (
	minRetryAfter = 10 * time.Second
	maxRetryAfter = 5 * time.Minute
)

// capacity counts live sandboxes per learner. It is the source of truth
// for admission only within one process; the reaper re-syncs it from the
// cluster, which holds the real state.
type capacity struct {
	mu       sync.Mutex
	max      int              // 0: unlimited
	perLearn int              // 0: unlimited
	live     map[string]entry // by namespace
}

type entry struct {
	learner   string
	expiresAt time.Time
	since     time.Time // when this process learned of it
}

func newCapacity(max, perLearner int) *capacity {
	return &capacity{max: max, perLearn: perLearner, live: map[string]entry{}}
}

// reserve admits a sandbox for learner under namespace ns.
func (c *capacity) reserve(ns, learner string, expiresAt, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perLearn > 0 {
		n := 0
		for _, e := range c.live {
			if e.learner == learner {
				n++
			}
		}
		if n >= c.perLearn {
			return capacityError(&CapacityError{Scope: "learner", Limit: c.perLearn})
		}
	}
	if c.max > 0 && len(c.live) >= c.max {
		soonest := time.Time{}
		for _, e := range c.live {
			if soonest.IsZero() || e.expiresAt.Before(soonest) {
				soonest = e.expiresAt
			}
		}
		wait := min(max(soonest.Sub(now), minRetryAfter), maxRetryAfter)
		return capacityError(&CapacityError{Scope: "cluster", Limit: c.max, RetryAfter: wait})
	}
	c.live[ns] = entry{learner: learner, expiresAt: expiresAt, since: now}
	return nil
}

func (c *capacity) release(ns string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.live, ns)
}

func (c *capacity) setExpiry(ns string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.live[ns]; ok {
		e.expiresAt = t
		c.live[ns] = e
	}
}

// sync replaces what the cluster showed in a list started at listedAt.
// Entries this process added after that moment are kept: the list could
// not have seen them.
func (c *capacity) sync(seen map[string]entry, listedAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ns, e := range c.live {
		if _, ok := seen[ns]; !ok && e.since.Before(listedAt) {
			delete(c.live, ns)
		}
	}
	for ns, e := range seen {
		if _, ok := c.live[ns]; !ok {
			e.since = listedAt
			c.live[ns] = e
		}
	}
}

func (c *capacity) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live)
}
