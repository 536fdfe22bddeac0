package server

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

// base is what every page's template reads: its language and strings, its
// path (for the language switch), the theme, and who is signed in.
type base struct {
	Lang  string            // BCP 47 tag of the page, "en" or "ja"
	T     map[string]string // the page's strings in Lang
	Path  string
	Theme string // "light", "dark", or empty to follow the system
	Staff *Staff // nil for learners
}

// themeCookie holds the learner's theme choice; the switch's script sets
// it, and pages are rendered with it so they do not flash.
const themeCookie = "keiko_theme"

func (s *Server) base(c *gin.Context) base {
	lang := requestLang(c)
	if q := c.Query("lang"); q == lang {
		// The switch's choice sticks for the pages that follow.
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: secure(c)})
	}
	b := base{Lang: lang, T: messages[lang], Path: c.Request.URL.Path}
	if v, err := c.Cookie(themeCookie); err == nil && (v == "light" || v == "dark") {
		b.Theme = v
	}
	if who, ok := StaffOf(c.Request); ok {
		b.Staff = &who
	}
	return b
}

// Strings gives a page's script its strings, as a JSON object.
func (b base) Strings() template.JS {
	j, _ := json.Marshal(b.T) // a map of strings always marshals
	return template.JS(j)
}

// playPage is what play.html reads: the scenario's pages, rendered, for
// the player to show one at a time.
type playPage struct {
	base
	scenarioPage
	AllowSkip, AllowSolve bool
}

// handlePlayPage is GET /scenarios/:id/play, the scenario player. The page
// starts or resumes the learner's session itself, so a reload lands on
// the same session.
func (s *Server) handlePlayPage(c *gin.Context) {
	e, err := s.entry(c.Param("id"))
	if err != nil || e.Scenario == nil {
		s.pageError(c, http.StatusNotFound, err)
		return
	}
	b := s.base(c)
	p := playPage{base: b, scenarioPage: s.scenarioView(e, b.Lang)}
	p.AllowSkip, p.AllowSolve = e.Scenario.Allow.Skip, e.Scenario.Allow.Solve
	s.render(c, "play.html", p)
}

// pageError answers a browser with a page that says what to do next.
func (s *Server) pageError(c *gin.Context, status int, err error) {
	b := s.base(c)
	msg := b.T["notFound"]
	if err != nil {
		msg = keiko.ErrorMessage(err)
	}
	s.renderStatus(c, status, "error.html", struct {
		base
		Message string
	}{b, msg})
}

type joinPage struct {
	base
	Code string
}

// handleJoinPage is GET /join and /join/:code: where learners type a
// workshop's code, or land from its link with the code filled in.
func (s *Server) handleJoinPage(c *gin.Context) {
	s.render(c, "join.html", joinPage{base: s.base(c), Code: c.Param("code")})
}

// handleInstructorPage is GET /instructor: the instructor's workshops and
// a form for a new one. The page fetches its data from the API.
func (s *Server) handleInstructorPage(c *gin.Context) {
	b := s.base(c)
	tracks, _ := s.catalog(b.Lang, nil)
	now := time.Now()
	s.render(c, "instructor.html", struct {
		base
		Tracks        []track
		Opens, Closes string
	}{b, tracks, now.Format("2006-01-02T15:04"), now.Add(3 * time.Hour).Format("2006-01-02T15:04")})
}

// handleWorkshopPage is GET /instructor/workshops/:id: the live grid.
func (s *Server) handleWorkshopPage(c *gin.Context) {
	s.render(c, "workshop.html", struct {
		base
		ID, API string
	}{s.base(c), c.Param("id"), "/api/workshops/" + url.PathEscape(c.Param("id"))})
}
