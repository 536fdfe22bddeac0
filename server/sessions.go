package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	c.JSON(http.StatusCreated, sessionResponse{ID: sess.ID, Namespace: sess.Namespace, ExpiresAt: sess.ExpiresAt})
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
	lang := pickLang(c.Query("lang"), c.GetHeader("Accept-Language"))
	out := progressResponse{
		sessionResponse: sessionResponse{ID: sess.ID, Namespace: sess.Namespace, ExpiresAt: sess.ExpiresAt},
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
	lang := pickLang(c.Query("lang"), c.GetHeader("Accept-Language"))
	results, err := ss.Check(c.Request.Context(), LearnerID(c.Request), c.Param("id"), step, lang)
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := checkResponse{Step: step, Passed: true, Results: []checkJSON{}}
	for _, r := range results {
		out.Passed = out.Passed && r.Passed
		out.Results = append(out.Results, checkJSON{Passed: r.Passed, Message: r.Message})
	}
	c.JSON(http.StatusOK, out)
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
	c.JSON(http.StatusOK, sessionResponse{ID: sess.ID, Namespace: sess.Namespace, ExpiresAt: sess.ExpiresAt})
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
