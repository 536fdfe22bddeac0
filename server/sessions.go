package server

import (
	"context"
	"encoding/json"
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
	// Start gives the learner a session of the scenario: the one they
	// have running (resumed is true), or a new sandbox brought to their
	// progress so far. progress hears the phases of a slow start.
	Start(ctx context.Context, learnerID, scenarioID string, progress func(phase string, step int)) (sess keiko.Session, resumed bool, err error)
	// Progress is the session with its steps' recorded status; steps
	// missing from the map are pending.
	Progress(ctx context.Context, learnerID, id string) (keiko.Session, map[int]keiko.StepStatus, error)
	// Check evaluates a step's checks now, recording the step when they
	// all pass.
	Check(ctx context.Context, learnerID, id string, step int, lang string) ([]keiko.CheckResult, error)
	// Skip moves on past a step whose checks have not passed, when the
	// scenario allows it; Solve does the step in the sandbox, when the
	// scenario allows it; Hint records that the learner opened the hint.
	Skip(ctx context.Context, learnerID, id string, step int) error
	Solve(ctx context.Context, learnerID, id string, step int) error
	Hint(ctx context.Context, learnerID, id string, step int) error
	// Mine is the learner's progress in each scenario they have started.
	Mine(ctx context.Context, learnerID string) (map[string]ScenarioProgress, error)
	// Missing lists what of requires the cluster lacks, for the catalog.
	Missing(requires []string) []string
	Extend(ctx context.Context, learnerID, id string) (keiko.Session, error)
	End(ctx context.Context, learnerID, id string) error
	// Watch follows the session live until ctx ends: it sends the
	// current step's check results whenever they change, records the
	// step when they all pass, and moves on to the next. It returns an
	// error, before sending anything, for a session that is not the
	// learner's.
	Watch(ctx context.Context, learnerID, id, lang string, send func(StepEvent)) error
}

// ScenarioProgress is how far a learner got in a scenario.
type ScenarioProgress struct {
	Done, Total int
	Active      bool // a session is running
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

// handleStartSession is POST /api/sessions {"scenario":"<id>"}: 201 with
// a new session, or 200 with the learner's running one. A client that
// accepts application/x-ndjson gets the start's progress as it happens,
// a JSON object a line, ending with the session or the error.
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
	learner := LearnerID(c.Request)
	if c.GetHeader("Accept") == ndjson {
		s.streamStart(c, ss, learner, req.Scenario)
		return
	}
	sess, resumed, err := ss.Start(c.Request.Context(), learner, req.Scenario, nil)
	if err != nil {
		s.retryAfter(c, err)
		s.writeError(c, err)
		return
	}
	status := http.StatusCreated
	if resumed {
		status = http.StatusOK
	}
	c.JSON(status, sessionJSON(sess))
}

const ndjson = "application/x-ndjson"

type startLine struct {
	Phase   string           `json:"phase,omitempty"`
	Step    *int             `json:"step,omitempty"`
	Session *sessionResponse `json:"session,omitempty"`
	Resumed bool             `json:"resumed,omitempty"`
	Error   *errorBody       `json:"error,omitempty"`
}

// streamStart starts a session, writing each phase as a line, so the
// learner sees what a slow start is doing.
func (s *Server) streamStart(c *gin.Context, ss Sessions, learner, scenario string) {
	c.Header("Content-Type", ndjson)
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	enc := json.NewEncoder(c.Writer)
	var mu sync.Mutex
	line := func(l startLine) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(l)
		c.Writer.Flush()
	}
	sess, resumed, err := ss.Start(c.Request.Context(), learner, scenario, func(phase string, step int) {
		l := startLine{Phase: phase}
		if step >= 0 {
			l.Step = &step
		}
		line(l)
	})
	if err != nil {
		s.observeError(c, err)
		line(startLine{Error: &errorBody{Code: keiko.ErrorCode(err), Message: keiko.ErrorMessage(err)}})
		return
	}
	j := sessionJSON(sess)
	line(startLine{Session: &j, Resumed: resumed})
}

// retryAfter tells a client when trying again makes sense, for errors
// that know, such as a full cluster.
func (s *Server) retryAfter(c *gin.Context, err error) {
	var h retryHinter
	if errors.As(err, &h) {
		c.Header("Retry-After", strconv.Itoa(max(1, int(h.RetryAfterHint().Round(time.Second)/time.Second))))
	}
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
	step, ok := s.stepParam(c)
	if !ok {
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

// stepParam is the route's step number, or false with the error written.
func (s *Server) stepParam(c *gin.Context) (int, bool) {
	step, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, "Step %q is not a number.", c.Param("n")))
		return 0, false
	}
	return step, true
}

// stepAction is the shape of the step shortcuts: skip, solve and hint.
func (s *Server) stepAction(act func(Sessions) func(ctx context.Context, learnerID, id string, step int) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		ss, ok := s.sessions(c)
		if !ok {
			return
		}
		step, ok := s.stepParam(c)
		if !ok {
			return
		}
		if err := act(ss)(c.Request.Context(), LearnerID(c.Request), c.Param("id"), step); err != nil {
			s.writeError(c, err)
			return
		}
		c.Status(http.StatusNoContent)
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
