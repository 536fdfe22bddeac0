package server

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/web"
)

// routes builds the gin engine. All routes are listed here so a newcomer can
// find every URL Keiko serves in one place.
func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.Use(s.recoverPanics, s.logRequests, securityHeaders, s.identify)

	r.GET("/healthz", s.handleHealthz)
	r.GET("/readyz", s.handleReadyz)
	r.GET("/", s.handleIndex)
	r.POST("/api/sessions", s.handleStartSession)
	r.GET("/api/sessions/:id", s.handleGetSession)
	r.POST("/api/sessions/:id/steps/:n/check", s.handleCheckStep)
	r.POST("/api/sessions/:id/extend", s.handleExtendSession)
	r.DELETE("/api/sessions/:id", s.handleEndSession)
	r.GET("/api/sessions/:id/events", s.handleEvents)
	r.GET("/api/sessions/:id/terminal", s.handleTerminal)
	r.GET("/terminal/:id", s.handleTerminalPage)
	r.GET("/api/scenarios", s.handleListScenarios)
	r.GET("/scenarios/:id", s.handleScenarioPage)
	r.GET("/scenarios/:id/assets/*path", s.handleAsset)

	static, err := fs.Sub(web.Static, "static")
	if err != nil {
		panic(err) // "static" is a literal matching web's embed pattern
	}
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	r.GET("/static/*filepath", func(c *gin.Context) {
		// http.FileServer would list directories; there is nothing to browse.
		if strings.HasSuffix(c.Request.URL.Path, "/") {
			s.notFound(c)
			return
		}
		files.ServeHTTP(c.Writer, c.Request)
	})

	r.NoRoute(s.notFound)
	return r
}

// notFound answers API clients in JSON and browsers in plain text.
func (s *Server) notFound(c *gin.Context) {
	if isAPI(c.Request.URL.Path) {
		s.writeError(c, keiko.Errorf(keiko.ENOTFOUND, "no such API route: %s %s", c.Request.Method, c.Request.URL.Path))
		return
	}
	c.String(http.StatusNotFound, "404 page not found")
}

func isAPI(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/")
}

// securityHeaders sets headers that cost nothing and close off content
// sniffing and referrer leaks of session URLs.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}
