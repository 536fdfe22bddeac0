package server

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// indexPage is the data the landing page template reads.
type indexPage struct {
	Lang       string            // BCP 47 tag of the page, "en" or "ja"
	Path       string            // of this page, for the language switch
	T          map[string]string // the page's strings in Lang
	Ready      bool              // whether the cluster answered its readiness check
	Kubeconfig string            // admin kubeconfig path; empty hides the row
	Tracks     []track
	Broken     []scenarioJSON
}

// handleIndex renders the landing page with the cluster's current status.
func (s *Server) handleIndex(c *gin.Context) {
	lang := requestLang(c)
	page := indexPage{
		Lang:       lang,
		Path:       "/",
		T:          messages[lang],
		Ready:      s.clusterReady(c.Request.Context()) == nil,
		Kubeconfig: s.cfg.Kubeconfig,
	}
	page.Tracks, page.Broken = s.catalog(lang)
	s.render(c, "index.html", page)
}

// render writes a page. It renders to a buffer first, so a template error
// becomes a clean 500 instead of half a page with a 200 status.
func (s *Server) render(c *gin.Context, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.writeError(c, fmt.Errorf("render %s: %w", name, err))
		return
	}
	c.Header("Vary", "Accept-Language")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}
