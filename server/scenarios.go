package server

import (
	"errors"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

// Catalog is the scenarios on offer, loaded or broken.
type Catalog interface {
	Scenarios() []CatalogEntry
	// Asset opens a file a scenario's pages link to; anything else does
	// not exist.
	Asset(id, name string) (fs.File, error)
}

// CatalogEntry is a scenario, or a broken one with its problems.
type CatalogEntry struct {
	ID       string
	Scenario *keiko.Scenario // nil when broken
	Problems []string        // "file:line: message", warnings included
}

func (s *Server) entries() []CatalogEntry {
	if s.cfg.Catalog == nil {
		return nil
	}
	return s.cfg.Catalog.Scenarios()
}

func (s *Server) entry(id string) (CatalogEntry, error) {
	for _, e := range s.entries() {
		if e.ID == id {
			return e, nil
		}
	}
	return CatalogEntry{}, keiko.Errorf(keiko.ENOTFOUND, "There is no scenario %q.", id)
}

// scenarioJSON is a scenario in the catalog API, in one language.
type scenarioJSON struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Track       string   `json:"track,omitempty"`
	Level       string   `json:"level,omitempty"`
	Minutes     int      `json:"minutes,omitempty"`
	Steps       int      `json:"steps"`
	Tags        []string `json:"tags,omitempty"`
	Requires    []string `json:"requires,omitempty"`
	// Missing is what of Requires the cluster lacks: the scenario cannot
	// start until it is installed.
	Missing  []string `json:"missing,omitempty"`
	Broken   bool     `json:"broken,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// missing is what e requires that the cluster lacks.
func (s *Server) missing(e CatalogEntry) []string {
	if e.Scenario == nil || len(e.Scenario.Requires) == 0 || s.cfg.Sessions == nil {
		return nil
	}
	return s.cfg.Sessions.Missing(e.Scenario.Requires)
}

func (s *Server) toJSON(e CatalogEntry, lang string) scenarioJSON {
	j := toJSON(e, lang)
	j.Missing = s.missing(e)
	return j
}

func toJSON(e CatalogEntry, lang string) scenarioJSON {
	j := scenarioJSON{ID: e.ID, Problems: e.Problems}
	sc := e.Scenario
	if sc == nil {
		j.Title, j.Broken = e.ID, true
		return j
	}
	j.Title, j.Description = sc.Title.In(lang), sc.Description.In(lang)
	j.Track, j.Level, j.Minutes = sc.Track, string(sc.Level), int(sc.Duration.Minutes())
	j.Steps, j.Tags, j.Requires = len(sc.Steps), sc.Tags, sc.Requires
	return j
}

// handleListScenarios answers GET /api/scenarios, in the language of
// ?lang= or Accept-Language.
func (s *Server) handleListScenarios(c *gin.Context) {
	lang := requestLang(c)
	out := []scenarioJSON{}
	for _, e := range s.entries() {
		out = append(out, s.toJSON(e, lang))
	}
	c.Header("Vary", "Accept-Language")
	c.JSON(http.StatusOK, out)
}

// track is one group of the catalog page.
type track struct {
	Name      string
	Scenarios []card
}

// card is a scenario in the catalog, with the learner's progress in it.
type card struct {
	scenarioJSON
	ScenarioProgress
}

// Percent is how much of the scenario the learner has done.
func (c card) Percent() int {
	if c.Total == 0 {
		return 0
	}
	return 100 * c.Done / c.Total
}

// catalog groups the loaded scenarios by track, in a fixed order of the
// tracks Keiko ships, and lists the broken ones apart. mine is the
// learner's progress by scenario, and may be nil.
func (s *Server) catalog(lang string, mine map[string]ScenarioProgress) (tracks []track, broken []scenarioJSON) {
	for _, e := range s.entries() {
		j := s.toJSON(e, lang)
		if j.Broken {
			broken = append(broken, j)
			continue
		}
		i := slices.IndexFunc(tracks, func(t track) bool { return t.Name == j.Track })
		if i < 0 {
			tracks = append(tracks, track{Name: j.Track})
			i = len(tracks) - 1
		}
		p := mine[j.ID]
		p.Total = j.Steps
		tracks[i].Scenarios = append(tracks[i].Scenarios, card{j, p})
	}
	slices.SortStableFunc(tracks, func(a, b track) int { return trackRank(a.Name) - trackRank(b.Name) })
	return tracks, broken
}

// trackOrder is the catalog's order: the on-ramp first, then the seed
// tracks, then anything else.
var trackOrder = []string{"basics", "operators", "fargate", "kubeflow-mlops", "rancher-cicd", "knative"}

func trackRank(name string) int {
	if i := slices.Index(trackOrder, name); i >= 0 {
		return i
	}
	return len(trackOrder)
}

// scenarioPage is a scenario's pages, rendered, in one language.
type scenarioPage struct {
	ID       string
	Problems []string
	Title    string
	Intro    template.HTML
	Finish   template.HTML
	Steps    []stepView
	Minutes  int
	Level    string
}

type stepView struct {
	Index  int
	Number int
	Title  string
	Text   template.HTML
	Hint   template.HTML
	Solve  string
	Checks []string
}

// html marks rendered markdown as safe: goldmark escaped everything and
// rendered no raw HTML.
func html(p keiko.Page, lang string) template.HTML {
	return template.HTML(p.HTML.In(lang))
}

func (s *Server) scenarioView(e CatalogEntry, lang string) scenarioPage {
	p := scenarioPage{ID: e.ID, Problems: e.Problems, Title: e.ID}
	if sc := e.Scenario; sc != nil {
		p.Title, p.Minutes, p.Level = sc.Title.In(lang), int(sc.Duration.Minutes()), string(sc.Level)
		p.Intro, p.Finish = html(sc.Intro, lang), html(sc.Finish, lang)
		for _, st := range sc.Steps {
			v := stepView{Index: st.Index, Number: st.Index + 1, Title: st.Title.In(lang), Text: html(st.Text, lang), Hint: html(st.Hint, lang),
				Solve: strings.TrimSpace(strings.TrimSpace(st.Solve.Script) + "\n" + strings.TrimSpace(st.Solve.Manifests))}
			for _, ch := range st.Checks {
				v.Checks = append(v.Checks, ch.Message.In(lang))
			}
			p.Steps = append(p.Steps, v)
		}
	}
	return p
}

// handleScenarioPage shows a scenario's overview, with its Start button;
// with ?preview=1 every page in order, for authors; and a broken
// scenario's problems.
func (s *Server) handleScenarioPage(c *gin.Context) {
	e, err := s.entry(c.Param("id"))
	if err != nil {
		s.pageError(c, http.StatusNotFound, err)
		return
	}
	b := s.base(c)
	s.render(c, "scenario.html", struct {
		base
		scenarioPage
		Preview bool
		Missing []string
	}{b, s.scenarioView(e, b.Lang), c.Query("preview") != "", s.missing(e)})
}

// handleAsset serves a file a scenario's pages link to.
func (s *Server) handleAsset(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("path"), "/")
	if s.cfg.Catalog == nil || !fs.ValidPath(name) {
		s.notFound(c)
		return
	}
	f, err := s.cfg.Catalog.Asset(c.Param("id"), name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("scenario asset", "id", c.Param("id"), "path", name, "err", err)
		}
		s.notFound(c)
		return
	}
	defer f.Close()
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	// Authors' SVGs could carry scripts; served this way they cannot run
	// in Keiko's origin.
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	c.Header("Cache-Control", "public, max-age=300")
	c.Status(http.StatusOK)
	c.Header("Content-Type", ctype)
	_, _ = io.Copy(c.Writer, f)
}
