package server

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// handleHealthz answers 200 while the process can serve HTTP at all. It
// deliberately ignores the cluster: restarting Keiko would not fix a
// cluster that is still starting.
func (s *Server) handleHealthz(c *gin.Context) {
	c.String(http.StatusOK, "ok")
}

// handleReadyz answers 200 only when the cluster is ready, so a load
// balancer sends no learners to a Keiko that can't give them a sandbox.
func (s *Server) handleReadyz(c *gin.Context) {
	if err := s.clusterReady(c.Request.Context()); err != nil {
		c.String(http.StatusServiceUnavailable, "cluster not ready: %v", err)
		return
	}
	c.String(http.StatusOK, "ok")
}

func (s *Server) clusterReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return s.cfg.Probe.Ready(ctx)
}
