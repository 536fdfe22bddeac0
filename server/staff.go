package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/keiko-lab/keiko"
)

// Role is what a member of staff may do. Admins may do all instructors
// may, for every workshop.
type Role string

// Roles.
const (
	RoleInstructor Role = "instructor"
	RoleAdmin      Role = "admin"
)

// Staff is a signed-in instructor or admin.
type Staff struct {
	Name string // owns the workshops this person creates
	Role Role
}

// Admin reports whether s may see and manage everything.
func (s Staff) Admin() bool { return s.Role == RoleAdmin }

// Authenticator signs staff in. Passwords from config are the built-in
// one. An OIDC provider (coreos/go-oidc) is the other this seam is for:
// its LoginURL is the provider's authorization URL, and its Authenticate
// handles the provider's redirect back to /login/callback, verifying the
// ID token and mapping a claim (such as groups) to a Role. Either way the
// server then keeps the staff member in its own signed cookie, so the
// rest of Keiko never knows which was used. docs/auth.md has the details.
type Authenticator interface {
	// LoginURL is where GET /login sends the browser, to come back to
	// next once signed in; empty shows Keiko's own password form, which
	// posts to /login.
	LoginURL(next string) string
	// Authenticate reads a login: the form's POST, or the provider's
	// callback. A wrong credential is keiko.EUNAUTHORIZED.
	Authenticate(r *http.Request) (Staff, error)
	// Bearer accepts an API client's "Authorization: Bearer" token.
	Bearer(token string) (Staff, bool)
}

// Passwords is the built-in Authenticator: one password for admins and
// one for instructors, from config. An empty password turns its role off.
type Passwords struct {
	Admin      string
	Instructor string
}

// LoginURL is empty: Keiko shows its own form.
func (Passwords) LoginURL(string) string { return "" }

// Authenticate checks the login form's name and password.
func (p Passwords) Authenticate(r *http.Request) (Staff, error) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	role, ok := p.role(r.PostFormValue("password"))
	if !ok {
		return Staff{}, keiko.Errorf(keiko.EUNAUTHORIZED, "That password is not right. Ask whoever runs this Keiko for the instructor password.")
	}
	if name == "" {
		name = string(role)
	}
	return Staff{Name: name, Role: role}, nil
}

// Bearer accepts either password as an API token.
func (p Passwords) Bearer(token string) (Staff, bool) {
	role, ok := p.role(token)
	return Staff{Name: string(role), Role: role}, ok
}

func (p Passwords) role(password string) (Role, bool) {
	// Both comparisons always run, in constant time, so timing tells
	// nothing about which password was nearly right.
	admin := p.Admin != "" && subtle.ConstantTimeCompare([]byte(password), []byte(p.Admin)) == 1
	instructor := p.Instructor != "" && subtle.ConstantTimeCompare([]byte(password), []byte(p.Instructor)) == 1
	switch {
	case admin:
		return RoleAdmin, true
	case instructor:
		return RoleInstructor, true
	}
	return "", false
}

// staffCookie keeps a signed-in staff member for staffTTL. It is
// SameSite=Strict: no other site's page can make a request with it.
const (
	staffCookie = "keiko_staff"
	staffTTL    = 12 * time.Hour
)

type staffKey struct{}

// identifyStaff reads the staff cookie or a bearer token into the
// request's context. Learners pass through untouched.
func (s *Server) identifyStaff(c *gin.Context) {
	var who Staff
	ok := false
	if token, found := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); found && s.cfg.Auth != nil {
		who, ok = s.cfg.Auth.Bearer(strings.TrimSpace(token))
	} else if ck, err := c.Request.Cookie(staffCookie); err == nil {
		// Not c.Cookie: gin URL-decodes the value, which would change the
		// escaped name the signature covers.
		who, ok = s.verifyStaff(ck.Value, time.Now())
	}
	if ok {
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), staffKey{}, who))
	}
	c.Next()
}

// StaffOf is the signed-in staff member making r, if any.
func StaffOf(r *http.Request) (Staff, bool) {
	s, ok := r.Context().Value(staffKey{}).(Staff)
	return s, ok
}

// The staff cookie is role, expiry and name, then a signature over them
// that only this server's secret makes. The name goes last and escaped,
// so no name can forge the fields before it.
func (s *Server) staffValue(who Staff, expires time.Time) string {
	body := string(who.Role) + "|" + strconv.FormatInt(expires.Unix(), 10) + "|" + url.QueryEscape(who.Name)
	return body + "|" + s.mac("staff", body)
}

func (s *Server) verifyStaff(v string, now time.Time) (Staff, bool) {
	i := strings.LastIndexByte(v, '|')
	if i < 0 || !hmac.Equal([]byte(v[i+1:]), []byte(s.mac("staff", v[:i]))) {
		return Staff{}, false
	}
	parts := strings.SplitN(v[:i], "|", 3)
	if len(parts) != 3 {
		return Staff{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	name, nerr := url.QueryUnescape(parts[2])
	role := Role(parts[0])
	if err != nil || nerr != nil || now.Unix() >= exp || (role != RoleAdmin && role != RoleInstructor) {
		return Staff{}, false
	}
	return Staff{Name: name, Role: role}, true
}

// mac signs v for one purpose; the purpose keeps a value signed for one
// cookie from being accepted as another.
func (s *Server) mac(purpose, v string) string {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// requireStaff lets through staff of at least role. Pages send everyone
// else to the login form; the API answers 401.
func (s *Server) requireStaff(role Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		who, ok := StaffOf(c.Request)
		if ok && (who.Admin() || who.Role == role) {
			c.Next()
			return
		}
		if isAPI(c.Request.URL.Path) {
			msg := "Sign in as an instructor at /login, or send the password as a bearer token."
			if role == RoleAdmin {
				msg = "Sign in as an admin at /login, or send the admin password as a bearer token."
			}
			s.writeError(c, keiko.Errorf(keiko.EUNAUTHORIZED, "%s", msg))
		} else {
			c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		}
		c.Abort()
	}
}

type loginPage struct {
	base
	Next  string
	Error string
	Off   bool // no authenticator: staff pages are off
}

// localNext keeps the after-login redirect on this site: a "next" of
// //evil.example or https://evil.example would make the login form an
// open redirect.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/instructor"
	}
	return next
}

// handleLoginPage is GET /login: the password form, or a redirect to the
// identity provider.
func (s *Server) handleLoginPage(c *gin.Context) {
	next := localNext(c.Query("next"))
	if s.cfg.Auth != nil {
		if u := s.cfg.Auth.LoginURL(next); u != "" {
			c.Redirect(http.StatusFound, u)
			return
		}
	}
	s.render(c, "login.html", loginPage{base: s.base(c), Next: next, Off: s.cfg.Auth == nil})
}

// handleLogin is POST /login (the form) and GET /login/callback (an
// identity provider's redirect): it sets the staff cookie.
func (s *Server) handleLogin(c *gin.Context) {
	next := localNext(c.Request.FormValue("next"))
	if s.cfg.Auth == nil {
		s.writeError(c, keiko.Errorf(keiko.EUNAVAILABLE, "Staff sign-in is off: start Keiko with --admin-password or --instructor-password."))
		return
	}
	who, err := s.cfg.Auth.Authenticate(c.Request)
	if err != nil {
		b := s.base(c)
		msg := keiko.ErrorMessage(err)
		if keiko.ErrorCode(err) == keiko.EUNAUTHORIZED {
			msg = b.T["loginWrong"] // in the page's language
		}
		s.renderStatus(c, http.StatusUnauthorized, "login.html", loginPage{base: b, Next: next, Error: msg})
		return
	}
	expires := time.Now().Add(staffTTL)
	http.SetCookie(c.Writer, &http.Cookie{
		Name: staffCookie, Value: s.staffValue(who, expires), Path: "/", Expires: expires,
		HttpOnly: true, Secure: secure(c), SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("staff signed in", "name", who.Name, "role", who.Role)
	c.Redirect(http.StatusSeeOther, next)
}

// handleLogout is POST /logout.
func (s *Server) handleLogout(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: staffCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(c), SameSite: http.SameSiteStrictMode})
	c.Redirect(http.StatusSeeOther, "/")
}

// secure is whether cookies must be HTTPS-only: when the browser reached
// Keiko over TLS, directly or through a proxy.
func secure(c *gin.Context) bool {
	return c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https"
}
