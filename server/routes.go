package server

import (
	"context"
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
	r.Use(s.recoverPanics, s.logRequests, securityHeaders, s.identify, s.identifyStaff)

	r.GET("/healthz", s.handleHealthz)
	r.GET("/readyz", s.handleReadyz)
	if s.cfg.Metrics != nil {
		r.GET("/metrics", gin.WrapH(s.cfg.Metrics.Handler()))
	}

	// Learners' pages and API.
	r.GET("/", s.handleIndex)
	r.GET("/join", s.handleJoinPage)
	r.GET("/join/:code", s.handleJoinPage)
	r.GET("/scenarios/:id", s.handleScenarioPage)
	r.GET("/scenarios/:id/play", s.handlePlayPage)
	r.GET("/scenarios/:id/assets/*path", s.handleAsset)
	r.GET("/terminal/:id", s.handleTerminalPage)
	r.GET("/api/scenarios", s.handleListScenarios)
	r.GET("/api/me", s.handleMe)
	r.PUT("/api/me", s.handleRename)
	r.POST("/api/join", s.handleJoin)
	r.POST("/api/sessions", s.handleStartSession)
	r.GET("/api/sessions/:id", s.handleGetSession)
	r.POST("/api/sessions/:id/steps/:n/check", s.handleCheckStep)
	r.POST("/api/sessions/:id/steps/:n/skip", s.stepAction(func(ss Sessions) func(context.Context, string, string, int) error { return ss.Skip }))
	r.POST("/api/sessions/:id/steps/:n/solve", s.stepAction(func(ss Sessions) func(context.Context, string, string, int) error { return ss.Solve }))
	r.POST("/api/sessions/:id/steps/:n/hint", s.stepAction(func(ss Sessions) func(context.Context, string, string, int) error { return ss.Hint }))
	r.POST("/api/sessions/:id/extend", s.handleExtendSession)
	r.DELETE("/api/sessions/:id", s.handleEndSession)
	r.GET("/api/sessions/:id/events", s.handleEvents)
	r.GET("/api/sessions/:id/terminal", s.handleTerminal)

	// Staff: sign-in, instructors' workshops, the admin page.
	r.GET("/login", s.handleLoginPage)
	r.POST("/login", s.handleLogin)
	r.GET("/login/callback", s.handleLogin)
	r.POST("/logout", s.handleLogout)
	instructor := r.Group("", s.requireStaff(RoleInstructor))
	instructor.GET("/instructor", s.handleInstructorPage)
	instructor.GET("/instructor/workshops/:id", s.handleWorkshopPage)
	instructor.GET("/api/workshops", s.handleListWorkshops)
	instructor.POST("/api/workshops", s.handleCreateWorkshop)
	instructor.GET("/api/workshops/:id", s.handleWorkshopGrid)
	instructor.DELETE("/api/workshops/:id", s.handleDeleteWorkshop)
	instructor.GET("/api/workshops/:id/results.csv", s.handleWorkshopCSV)
	admin := r.Group("", s.requireStaff(RoleAdmin))
	admin.GET("/admin", s.handleAdminPage)
	admin.GET("/api/admin/status", s.handleAdminStatus)

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
