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
	T          map[string]string // the page's strings in Lang
	Ready      bool              // whether the cluster answered its readiness check
	Kubeconfig string            // admin kubeconfig path; empty hides the row
}

// handleIndex renders the landing page with the cluster's current status.
func (s *Server) handleIndex(c *gin.Context) {
	lang := pickLang(c.Query("lang"), c.GetHeader("Accept-Language"))
	page := indexPage{
		Lang:       lang,
		T:          messages[lang],
		Ready:      s.clusterReady(c.Request.Context()) == nil,
		Kubeconfig: s.cfg.Kubeconfig,
	}
	// Render to a buffer first, so a template error becomes a clean 500
	// instead of half a page with a 200 status.
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, "index.html", page); err != nil {
		s.writeError(c, fmt.Errorf("render index page: %w", err))
		return
	}
	c.Header("Vary", "Accept-Language")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}
