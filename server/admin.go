package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Metrics hears what the server does and serves it at /metrics.
type Metrics interface {
	Handler() http.Handler
	ObserveHTTP(route string, status int, d time.Duration)
	Error(code string)
	WebSocketBytes(direction string, n int)
}

// AdminStatus reports the sandboxes' capacity for the admin page.
type AdminStatus interface {
	Capacity(ctx context.Context) (Capacity, error)
}

// Capacity is how full the cluster is.
type Capacity struct {
	Sandboxes    int `json:"sandboxes"`    // live now
	MaxSandboxes int `json:"maxSandboxes"` // 0: no limit
	PoolReady    int `json:"poolReady"`    // warm sandboxes waiting
	PoolSize     int `json:"poolSize"`     // warm sandboxes wanted
	Terminals    int `json:"terminals"`    // open now
}

type adminJSON struct {
	Cluster      string         `json:"cluster"` // "ready", or why not
	Capacity     *Capacity      `json:"capacity,omitempty"`
	Scenarios    int            `json:"scenarios"`
	Broken       []scenarioJSON `json:"broken"`
	Warnings     []scenarioJSON `json:"warnings"`
	CapacityNote string         `json:"capacityError,omitempty"`
}

func (s *Server) adminStatus(ctx context.Context, lang string) adminJSON {
	out := adminJSON{Cluster: "ready", Broken: []scenarioJSON{}, Warnings: []scenarioJSON{}}
	if err := s.clusterReady(ctx); err != nil {
		out.Cluster = err.Error()
	}
	for _, e := range s.entries() {
		j := toJSON(e, lang)
		switch {
		case j.Broken:
			out.Broken = append(out.Broken, j)
		case len(j.Problems) > 0:
			out.Warnings = append(out.Warnings, j)
			out.Scenarios++
		default:
			out.Scenarios++
		}
	}
	if s.cfg.Admin != nil {
		c, err := s.cfg.Admin.Capacity(ctx)
		if err != nil {
			out.CapacityNote = err.Error()
		} else {
			out.Capacity = &c
		}
	}
	return out
}

// handleAdminStatus is GET /api/admin/status.
func (s *Server) handleAdminStatus(c *gin.Context) {
	c.JSON(http.StatusOK, s.adminStatus(c.Request.Context(), requestLang(c)))
}

type adminPage struct {
	base
	Status adminJSON
}

// handleAdminPage is GET /admin.
func (s *Server) handleAdminPage(c *gin.Context) {
	b := s.base(c)
	s.render(c, "admin.html", adminPage{base: b, Status: s.adminStatus(c.Request.Context(), b.Lang)})
}
