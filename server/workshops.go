package server

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

// Workshops runs instructors' workshops and learners' place in them. An
// instructor sees only the workshops they own; an admin sees all. A
// workshop that is not the caller's is keiko.ENOTFOUND.
type Workshops interface {
	Create(ctx context.Context, who Staff, w keiko.Workshop) (keiko.Workshop, error)
	List(ctx context.Context, who Staff) ([]keiko.Workshop, error)
	// Attendees is a workshop with its learners and their sessions.
	Attendees(ctx context.Context, who Staff, id string) (keiko.Workshop, []keiko.Attendee, error)
	Delete(ctx context.Context, who Staff, id string) error
	// Join puts a learner in the workshop with that code, under a
	// display name when one is given.
	Join(ctx context.Context, learnerID, code, displayName string) (keiko.Workshop, error)
	// Learner is who the learner said they are and the workshop they
	// joined last, if any.
	Learner(ctx context.Context, learnerID string) (keiko.Learner, *keiko.Workshop, error)
	Rename(ctx context.Context, learnerID, displayName string) error
}

// stuckAfter is how long a learner may stay on one step before the
// instructor's grid marks them as stuck.
const stuckAfter = 5 * time.Minute

func (s *Server) workshops(c *gin.Context) (Workshops, bool) {
	if s.cfg.Workshops == nil {
		s.writeError(c, keiko.Errorf(keiko.EUNAVAILABLE, "Workshops are not available on this server."))
		return nil, false
	}
	return s.cfg.Workshops, true
}

type workshopRequest struct {
	Title     string    `json:"title"`
	Code      string    `json:"code"`
	Scenarios []string  `json:"scenarios"`
	Capacity  int       `json:"capacity"`
	Opens     time.Time `json:"opens"`
	Closes    time.Time `json:"closes"`
}

type workshopJSON struct {
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Title     string    `json:"title"`
	Scenarios []string  `json:"scenarios"`
	Capacity  int       `json:"capacity"`
	Opens     time.Time `json:"opens"`
	Closes    time.Time `json:"closes"`
	Owner     string    `json:"owner"`
	Open      bool      `json:"open"`
	JoinURL   string    `json:"joinURL"`
}

func toWorkshopJSON(w keiko.Workshop, now time.Time) workshopJSON {
	return workshopJSON{
		ID: w.ID, Code: w.Code, Title: w.Title, Scenarios: w.Scenarios, Capacity: w.Capacity,
		Opens: w.Opens, Closes: w.Closes, Owner: w.Owner, Open: w.OpenAt(now), JoinURL: "/join/" + w.Code,
	}
}

// handleCreateWorkshop is POST /api/workshops.
func (s *Server) handleCreateWorkshop(c *gin.Context) {
	ws, ok := s.workshops(c)
	if !ok {
		return
	}
	var req workshopRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, `Send {"title","scenarios":[...],"capacity","opens","closes"} with times in RFC 3339: %v`, err))
		return
	}
	for _, id := range req.Scenarios {
		if _, err := s.entry(id); err != nil {
			s.writeError(c, err)
			return
		}
	}
	who, _ := StaffOf(c.Request)
	w, err := ws.Create(c.Request.Context(), who, keiko.Workshop{
		Title: req.Title, Code: req.Code, Scenarios: req.Scenarios, Capacity: req.Capacity, Opens: req.Opens, Closes: req.Closes,
	})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, toWorkshopJSON(w, time.Now()))
}

// handleListWorkshops is GET /api/workshops.
func (s *Server) handleListWorkshops(c *gin.Context) {
	ws, ok := s.workshops(c)
	if !ok {
		return
	}
	who, _ := StaffOf(c.Request)
	list, err := ws.List(c.Request.Context(), who)
	if err != nil {
		s.writeError(c, err)
		return
	}
	now, out := time.Now(), []workshopJSON{}
	for _, w := range list {
		out = append(out, toWorkshopJSON(w, now))
	}
	c.JSON(http.StatusOK, out)
}

// handleDeleteWorkshop is DELETE /api/workshops/:id.
func (s *Server) handleDeleteWorkshop(c *gin.Context) {
	ws, ok := s.workshops(c)
	if !ok {
		return
	}
	who, _ := StaffOf(c.Request)
	if err := ws.Delete(c.Request.Context(), who, c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// gridJSON is the instructor's live view of a workshop: a row per learner
// and scenario, a cell per step.
type gridJSON struct {
	Workshop  workshopJSON       `json:"workshop"`
	Scenarios []gridScenarioJSON `json:"scenarios"`
	Rows      []gridRowJSON      `json:"rows"`
}

type gridScenarioJSON struct {
	ID    string   `json:"id"`
	Title string   `json:"title"`
	Steps []string `json:"steps"`
}

type gridRowJSON struct {
	Learner  string    `json:"learner"` // display name, or an anonymous label
	JoinedAt time.Time `json:"joinedAt"`
	Session  string    `json:"session,omitempty"`
	Scenario string    `json:"scenario,omitempty"`
	Active   bool      `json:"active"`
	Steps    []string  `json:"steps"`       // status per step
	Current  int       `json:"current"`     // index of the step they are on; -1 when done or not started
	Since    time.Time `json:"since"`       // when they reached the current step
	StuckFor int       `json:"stuckForSec"` // seconds on the current step, when over the stuck threshold; else 0
}

func (s *Server) grid(c *gin.Context) (gridJSON, bool) {
	ws, ok := s.workshops(c)
	if !ok {
		return gridJSON{}, false
	}
	who, _ := StaffOf(c.Request)
	w, attendees, err := ws.Attendees(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return gridJSON{}, false
	}
	lang, now := requestLang(c), time.Now()
	g := gridJSON{Workshop: toWorkshopJSON(w, now), Scenarios: []gridScenarioJSON{}, Rows: []gridRowJSON{}}
	steps := map[string]int{}
	for _, id := range w.Scenarios {
		gs := gridScenarioJSON{ID: id, Title: id, Steps: []string{}}
		if e, err := s.entry(id); err == nil && e.Scenario != nil {
			gs.Title = e.Scenario.Title.In(lang)
			for _, st := range e.Scenario.Steps {
				gs.Steps = append(gs.Steps, st.Title.In(lang))
			}
		}
		steps[id] = len(gs.Steps)
		g.Scenarios = append(g.Scenarios, gs)
	}
	for i, a := range attendees {
		name := a.Learner.DisplayName
		if name == "" {
			name = messages[lang]["anonymous"] + " " + strconv.Itoa(i+1)
		}
		if len(a.Sessions) == 0 {
			g.Rows = append(g.Rows, gridRowJSON{Learner: name, JoinedAt: a.JoinedAt, Steps: []string{}, Current: -1})
			continue
		}
		for _, at := range a.Sessions {
			g.Rows = append(g.Rows, gridRow(name, a.JoinedAt, at, steps[at.Session.ScenarioID], now))
		}
	}
	return g, true
}

// gridRow is one learner's attempt at a scenario: its steps, and how long
// they have been on the current one, which is since the last step they
// finished, or since they started.
func gridRow(name string, joined time.Time, at keiko.Attempt, n int, now time.Time) gridRowJSON {
	r := gridRowJSON{Learner: name, JoinedAt: joined, Session: at.Session.ID, Scenario: at.Session.ScenarioID,
		Active: at.Session.EndedAt.IsZero() && !at.Session.Expired(now), Current: -1, Since: at.Session.CreatedAt}
	for i := range n {
		rec, ok := at.Steps[i]
		status := keiko.StepPending
		if ok {
			status = rec.Status
		}
		r.Steps = append(r.Steps, string(status))
		if done(status) {
			if rec.At.After(r.Since) {
				r.Since = rec.At
			}
		} else if r.Current < 0 {
			r.Current = i
		}
	}
	if r.Current >= 0 && r.Active {
		if d := now.Sub(r.Since); d >= stuckAfter {
			r.StuckFor = int(d / time.Second)
		}
	}
	return r
}

// done reports whether a step lets the learner move on.
func done(s keiko.StepStatus) bool { return s == keiko.StepPassed || s == keiko.StepSkipped }

// handleWorkshopGrid is GET /api/workshops/:id.
func (s *Server) handleWorkshopGrid(c *gin.Context) {
	if g, ok := s.grid(c); ok {
		c.JSON(http.StatusOK, g)
	}
}

// handleWorkshopCSV is GET /api/workshops/:id/results.csv: a row per
// learner, scenario and step, for a spreadsheet.
func (s *Server) handleWorkshopCSV(c *gin.Context) {
	g, ok := s.grid(c)
	if !ok {
		return
	}
	titles := map[string]gridScenarioJSON{}
	for _, sc := range g.Scenarios {
		titles[sc.ID] = sc
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="workshop-`+g.Workshop.Code+`.csv"`)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"learner", "joined_at", "scenario", "session", "step", "step_title", "status", "steps_done", "steps_total"})
	for _, r := range g.Rows {
		if r.Session == "" {
			_ = w.Write([]string{r.Learner, r.JoinedAt.UTC().Format(time.RFC3339), "", "", "", "", "not started", "0", "0"})
			continue
		}
		n := 0
		for _, st := range r.Steps {
			if done(keiko.StepStatus(st)) {
				n++
			}
		}
		for i, st := range r.Steps {
			title := ""
			if i < len(titles[r.Scenario].Steps) {
				title = titles[r.Scenario].Steps[i]
			}
			_ = w.Write([]string{r.Learner, r.JoinedAt.UTC().Format(time.RFC3339), r.Scenario, r.Session, strconv.Itoa(i + 1), title, st, strconv.Itoa(n), strconv.Itoa(len(r.Steps))})
		}
	}
	w.Flush()
}

type joinRequest struct {
	Code        string `json:"code"`
	DisplayName string `json:"displayName"`
}

// handleJoin is POST /api/join {"code","displayName"}.
func (s *Server) handleJoin(c *gin.Context) {
	ws, ok := s.workshops(c)
	if !ok {
		return
	}
	var req joinRequest
	if err := c.ShouldBindJSON(&req); err != nil || keiko.NormalizeCode(req.Code) == "" {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, `Send {"code":"<the workshop's code>","displayName":"<optional>"}.`))
		return
	}
	if len(req.DisplayName) > maxDisplayName {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, "A display name has at most %d bytes.", maxDisplayName))
		return
	}
	w, err := ws.Join(c.Request.Context(), LearnerID(c.Request), req.Code, req.DisplayName)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, toWorkshopJSON(w, time.Now()))
}

// maxDisplayName keeps names to what fits a grid cell.
const maxDisplayName = 64

type meJSON struct {
	DisplayName string        `json:"displayName"`
	Workshop    *workshopJSON `json:"workshop,omitempty"`
}

// handleMe is GET /api/me: who the learner said they are.
func (s *Server) handleMe(c *gin.Context) {
	ws, ok := s.workshops(c)
	if !ok {
		return
	}
	l, w, err := ws.Learner(c.Request.Context(), LearnerID(c.Request))
	if err != nil {
		s.writeError(c, err)
		return
	}
	out := meJSON{DisplayName: l.DisplayName}
	if w != nil {
		j := toWorkshopJSON(*w, time.Now())
		out.Workshop = &j
	}
	c.JSON(http.StatusOK, out)
}

// handleRename is PUT /api/me {"displayName"}.
func (s *Server) handleRename(c *gin.Context) {
	ws, ok := s.workshops(c)
	if !ok {
		return
	}
	var req joinRequest
	if err := c.ShouldBindJSON(&req); err != nil || len(req.DisplayName) > maxDisplayName {
		s.writeError(c, keiko.Errorf(keiko.EINVALID, `Send {"displayName":"<at most %d bytes>"}.`, maxDisplayName))
		return
	}
	if err := ws.Rename(c.Request.Context(), LearnerID(c.Request), req.DisplayName); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, meJSON{DisplayName: req.DisplayName})
}
