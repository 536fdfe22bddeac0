package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// indexPage is the data the landing page template reads.
type indexPage struct {
	base
	Ready      bool   // whether the cluster answered its readiness check
	Kubeconfig string // admin kubeconfig path; empty hides the row
	Tracks     []track
	Broken     []scenarioJSON
	Me         meJSON
}

// handleIndex renders the catalog, with the learner's progress and the
// cluster's current status.
func (s *Server) handleIndex(c *gin.Context) {
	page := indexPage{
		base:       s.base(c),
		Ready:      s.readyCached(c.Request.Context()),
		Kubeconfig: s.cfg.Kubeconfig,
	}
	var mine map[string]ScenarioProgress
	ctx, learner := c.Request.Context(), LearnerID(c.Request)
	if s.cfg.Sessions != nil {
		mine, _ = s.cfg.Sessions.Mine(ctx, learner) // a catalog without progress still serves
	}
	if s.cfg.Workshops != nil {
		if l, w, err := s.cfg.Workshops.Learner(ctx, learner); err == nil {
			page.Me.DisplayName = l.DisplayName
			if w != nil {
				j := toWorkshopJSON(*w, time.Now())
				page.Me.Workshop = &j
			}
		}
	}
	page.Tracks, page.Broken = s.catalog(page.Lang, mine)
	s.render(c, "index.html", page)
}

// readyFor is how long the catalog trusts a readiness check. A room of
// learners loading the catalog would otherwise each cost the apiserver a
// TLS round trip; a second of staleness shows nobody anything wrong.
const readyFor = time.Second

// readyCached is clusterReady's answer, at most readyFor old.
func (s *Server) readyCached(ctx context.Context) bool {
	s.ready.Lock()
	defer s.ready.Unlock()
	if time.Since(s.ready.at) > readyFor {
		s.ready.ok, s.ready.at = s.clusterReady(ctx) == nil, time.Now()
	}
	return s.ready.ok
}

// render writes a page. It renders to a buffer first, so a template error
// becomes a clean 500 instead of half a page with a 200 status.
func (s *Server) render(c *gin.Context, name string, data any) {
	s.renderStatus(c, http.StatusOK, name, data)
}

func (s *Server) renderStatus(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.writeError(c, fmt.Errorf("render %s: %w", name, err))
		return
	}
	c.Header("Vary", "Accept-Language")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
