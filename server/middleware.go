package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
)

// logRequests measures each request, and logs it at debug level. Readiness probes hit Keiko
// every few seconds, so request lines at info level would drown real events.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	if s.cfg.Metrics != nil && !c.IsWebsocket() && c.Writer.Header().Get("Content-Type") != "text/event-stream" {
		// The route's pattern, not the path, so session ids do not each
		// make a time series. Streams are left out: their duration is the
		// learner's stay, not a response time.
		s.cfg.Metrics.ObserveHTTP(c.FullPath(), c.Writer.Status(), time.Since(start))
	}
	if !s.log.Enabled(c.Request.Context(), slog.LevelDebug) {
		return
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelDebug, "http request",
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", time.Since(start)),
	)
}

// recoverPanics turns a handler panic into a logged internal error, instead
// of gin's default recovery, which writes to stderr behind slog's back.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			err := fmt.Errorf("panic in %s %s: %v", c.Request.Method, c.Request.URL.Path, v)
			if c.Writer.Written() {
				s.log.Error("http handler panicked after writing", "err", err)
				c.Abort()
				return
			}
			s.writeError(c, err)
			c.Abort()
		}
	}()
	c.Next()
}
