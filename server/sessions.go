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

// Sessions starts learners' sessions of scenarios.
type Sessions interface {
	Start(ctx context.Context, learnerID, scenarioID string) (keiko.Session, error)
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
	if s.cfg.Sessions == nil {
		s.writeError(c, keiko.Errorf(keiko.EUNAVAILABLE, "Sessions are not available on this server."))
		return
	}
	var req startSessionRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.Scenario == "" {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, `Send {"scenario":"<id>"}.`))
		return
	}
	sess, err := s.cfg.Sessions.Start(c.Request.Context(), LearnerID(c.Request), req.Scenario)
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
