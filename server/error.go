package server

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

// statusOf maps each keiko error code to its HTTP status. It is the only
// place in Keiko that knows this mapping; handlers just return errors.
var statusOf = map[string]int{
	keiko.EINVALID:      http.StatusBadRequest,
	keiko.ENOTFOUND:     http.StatusNotFound,
	keiko.ECONFLICT:     http.StatusConflict,
	keiko.EUNAUTHORIZED: http.StatusUnauthorized,
	keiko.EUNAVAILABLE:  http.StatusServiceUnavailable,
	keiko.EINTERNAL:     http.StatusInternalServerError,
}

// errorStatus returns the HTTP status for a keiko error code; unknown codes
// are a bug, hence 500.
func errorStatus(code string) int {
	if status, ok := statusOf[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorResponse is the JSON body of every API error.
type errorResponse struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError writes err as a JSON error. Internal errors are logged in full
// and shown to the user only as a plain message, because their text may hold
// file paths, SQL or cluster details.
func (s *Server) writeError(c *gin.Context, err error) {
	s.observeError(c, err)
	code, message := keiko.ErrorCode(err), keiko.ErrorMessage(err)
	c.JSON(errorStatus(code), errorResponse{Error: errorBody{Code: code, Message: message}})
}

// observeError counts and, for internal errors, logs err.
func (s *Server) observeError(c *gin.Context, err error) {
	code := keiko.ErrorCode(err)
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Error(code)
	}
	if code == keiko.EINTERNAL {
		s.log.LogAttrs(c.Request.Context(), slog.LevelError, "internal error",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Any("err", err),
		)
	}
}
