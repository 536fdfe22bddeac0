package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

// Sessions starts and runs learners' sessions of scenarios. Every method
// but Start acts only on the learner's own sessions: anyone else's is
// ENOTFOUND, so session ids cannot be probed.
type Sessions interface {
	Start(ctx context.Context, learnerID, scenarioID string) (keiko.Session, error)
	// Progress is the session with its steps' recorded status; steps
	// missing from the map are pending.
	Progress(ctx context.Context, learnerID, id string) (keiko.Session, map[int]keiko.StepStatus, error)
	// Check evaluates a step's checks now, recording the step when they
	// all pass.
	Check(ctx context.Context, learnerID, id string, step int, lang string) ([]keiko.CheckResult, error)
	Extend(ctx context.Context, learnerID, id string) (keiko.Session, error)
	End(ctx context.Context, learnerID, id string) error
	// Watch follows the session live until ctx ends: it sends the
	// current step's check results whenever they change, records the
	// step when they all pass, and moves on to the next. It returns an
	// error, before sending anything, for a session that is not the
	// learner's.
	Watch(ctx context.Context, learnerID, id, lang string, send func(StepEvent)) error
}

// StepEvent is a step's live state.
type StepEvent struct {
	Step     int
	Results  []keiko.CheckResult
	Finished bool // every step has passed
}

// retryHinter is an error that knows when trying again makes sense, such
// as a full cluster.
type retryHinter interface {
	RetryAfterHint() time.Duration
}

type startSessionRequest struct {
	Scenario string `json:"scenario"`
}

type sessionResponse struct {
	ID        string    `json:"id"`
	Namespace string    `json:"namespace"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func sessionJSON(s keiko.Session) sessionResponse {
	return sessionResponse{ID: s.ID, Namespace: s.Namespace, ExpiresAt: s.ExpiresAt}
}

// handleStartSession is POST /api/sessions {"scenario":"<id>"}.
func (s *Server) handleStartSession(c *gin.Context) {
	ss, ok := s.sessions(c)
	if !ok {
		return
	}
	var req startSessionRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.Scenario == "" {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, `Send {"scenario":"<id>"}.`))
		return
	}
	sess, err := ss.Start(c.Request.Context(), LearnerID(c.Request), req.Scenario)
	if err != nil {
		var h retryHinter
		if errors.As(err, &h) {
			c.Header("Retry-After", strconv.Itoa(int(h.RetryAfterHint().Round(time.Second)/time.Second)))
		}
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, sessionJSON(sess))
}

// sessions answers 503 when there is no session service, as the start of
// every session handler.
func (s *Server) sessions(c *gin.Context) (Sessions, bool) {
	if s.cfg.Sessions == nil {
		s.writeError(c, keiko.Errorf(keiko.EUNAVAILABLE, "Sessions are not available on this server."))
		return nil, false
	}
	return s.cfg.Sessions, true
}

type stepJSON struct {
	Index  int    `json:"index"`
	Title  string `json:"title"`
	Status string `json:"status"`
}

type progressResponse struct {
	sessionResponse
	Scenario string     `json:"scenario"`
	Steps    []stepJSON `json:"steps"`
}

// handleGetSession is GET /api/sessions/:id: the session and its steps.
func (s *Server) handleGetSession(c *gin.Context) {
	ss, ok := s.sessions(c)
	if !ok {
		return
	}
	sess, progress, err := ss.Progress(c.Request.Context(), LearnerID(c.Request), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	lang := requestLang(c)
	out := progressResponse{
		sessionResponse: sessionJSON(sess),
		Scenario:        sess.ScenarioID,
		Steps:           []stepJSON{},
	}
	if e, err := s.entry(sess.ScenarioID); err == nil && e.Scenario != nil {
		for _, st := range e.Scenario.Steps {
			status := progress[st.Index]
			if status == "" {
				status = keiko.StepPending
			}
			out.Steps = append(out.Steps, stepJSON{Index: st.Index, Title: st.Title.In(lang), Status: string(status)})
		}
	}
	c.JSON(http.StatusOK, out)
}

type checkJSON struct {
	Passed  bool   `json:"passed"`
	Message string `json:"message,omitempty"`
}

type checkResponse struct {
	Step    int         `json:"step"`
	Passed  bool        `json:"passed"`
	Results []checkJSON `json:"results"`
}

// handleCheckStep is POST /api/sessions/:id/steps/:n/check.
func checkJSONOf(step int, results []keiko.CheckResult) checkResponse {
	out := checkResponse{Step: step, Passed: keiko.Passed(results), Results: []checkJSON{}}
	for _, r := range results {
		out.Results = append(out.Results, checkJSON{Passed: r.Passed, Message: r.Message})
	}
	return out
}

func (s *Server) handleCheckStep(c *gin.Context) {
	ss, ok := s.sessions(c)
	if !ok {
		return
	}
	step, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, "Step %q is not a number.", c.Param("n")))
		return
	}
	lang := requestLang(c)
	results, err := ss.Check(c.Request.Context(), LearnerID(c.Request), c.Param("id"), step, lang)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, checkJSONOf(step, results))
}

// sseKeepalive keeps proxies from closing a quiet event stream.
const sseKeepalive = 15 * time.Second

// handleEvents is GET /api/sessions/:id/events: Server-Sent Events of the
// current step's checks, so a step turns green without pressing Check.
// Each event is "step" with the body of a check's answer, or "finished".
func (s *Server) handleEvents(c *gin.Context) {
	ss, ok := s.sessions(c)
	if !ok {
		return
	}
	lang := requestLang(c)
	// The stream ends with the request, or at shutdown.
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	var mu sync.Mutex // events come from the watch, keepalives from here
	started, done := false, false
	write := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		if done { // the handler has returned
			return
		}
		if !started {
			started = true
			h := c.Writer.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no") // nginx would hold events back
			c.Status(http.StatusOK)
		}
		f()
		c.Writer.Flush()
	}
	go func() {
		t := time.NewTicker(sseKeepalive)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				write(func() { _, _ = c.Writer.WriteString(": keepalive\n\n") })
			}
		}
	}()
	err := ss.Watch(ctx, LearnerID(c.Request), c.Param("id"), lang, func(e StepEvent) {
		write(func() {
			if e.Finished {
				c.SSEvent("finished", gin.H{})
				return
			}
			c.SSEvent("step", checkJSONOf(e.Step, e.Results))
		})
	})
	cancel()
	mu.Lock()
	defer mu.Unlock()
	done = true
	if err != nil && !started {
		s.writeError(c, err)
	}
}

// handleExtendSession is POST /api/sessions/:id/extend.
func (s *Server) handleExtendSession(c *gin.Context) {
	ss, ok := s.sessions(c)
	if !ok {
		return
	}
	sess, err := ss.Extend(c.Request.Context(), LearnerID(c.Request), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, sessionJSON(sess))
}

// handleEndSession is DELETE /api/sessions/:id.
func (s *Server) handleEndSession(c *gin.Context) {
	ss, ok := s.sessions(c)
	if !ok {
		return
	}
	if err := ss.End(c.Request.Context(), LearnerID(c.Request), c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
