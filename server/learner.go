package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// learnerCookie identifies a learner. Learners are anonymous: the cookie
// holds a random id and Keiko's signature of it, nothing else.
const learnerCookie = "keiko_learner"

// learnerKey is the request-context key of the learner's id.
type learnerKey struct{}

// identify gives every browser a learner id, kept in a signed, HttpOnly,
// SameSite cookie: scripts cannot read it, other sites' pages do not send
// it along, and a forged or edited one is ignored for a new id.
func (s *Server) identify(c *gin.Context) {
	if v, err := c.Cookie(learnerCookie); err == nil {
		if id, ok := s.verify(v); ok {
			withLearner(c, id)
			return
		}
	}
	id := newLearnerID()
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     learnerCookie,
		Value:    s.sign(id),
		Path:     "/",
		MaxAge:   365 * 24 * 3600,
		HttpOnly: true,
		Secure:   secure(c),
		SameSite: http.SameSiteLaxMode,
	})
	withLearner(c, id)
}

func withLearner(c *gin.Context, id string) {
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), learnerKey{}, id))
	c.Next()
}

// LearnerID is the id of the learner making r, as set by the server's
// middleware; empty outside it.
func LearnerID(r *http.Request) string {
	id, _ := r.Context().Value(learnerKey{}).(string)
	return id
}

func (s *Server) sign(id string) string {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte(id))
	return id + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) verify(v string) (string, bool) {
	id, _, ok := strings.Cut(v, ".")
	if !ok || !learnerIDPattern(id) {
		return "", false
	}
	return id, hmac.Equal([]byte(s.sign(id)), []byte(v))
}

// newLearnerID is 16 characters of [a-z0-9]: 82 bits, and valid wherever
// Keiko records it, Kubernetes labels included.
func newLearnerID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func learnerIDPattern(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
