package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStaffCookie(t *testing.T) {
	s := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	other := New(Config{Secret: []byte("another-secret-another-secret-00")})
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	good := s.staffValue(Staff{Name: "yamada|admin", Role: RoleInstructor}, now.Add(time.Hour))
	for _, tc := range []struct {
		name  string
		value string
		want  *Staff
	}{
		{"signed and fresh", good, &Staff{Name: "yamada|admin", Role: RoleInstructor}},
		{"expired", s.staffValue(Staff{Name: "a", Role: RoleAdmin}, now), nil},
		{"role edited", strings.Replace(good, "instructor", "admin", 1), nil},
		{"signed by another server", other.staffValue(Staff{Name: "a", Role: RoleAdmin}, now.Add(time.Hour)), nil},
		{"a learner cookie's signature", s.sign("abcdefghijklmnop"), nil},
		{"an unknown role, signed", s.staffValue(Staff{Name: "a", Role: "root"}, now.Add(time.Hour)), nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := s.verifyStaff(tc.value, now)
			if ok != (tc.want != nil) || (ok && got != *tc.want) {
				t.Errorf("verifyStaff = %+v %v, want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestLoginRedirectsOnlyWithinKeiko(t *testing.T) {
	for next, want := range map[string]string{
		"/instructor/workshops/w1": "/instructor/workshops/w1",
		"//evil.example/x":         "/instructor",
		"https://evil.example":     "/instructor",
		`/\evil.example`:           "/instructor",
		"":                         "/instructor",
	} {
		if got := localNext(next); got != want {
			t.Errorf("localNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestLogin(t *testing.T) {
	h := New(Config{Auth: Passwords{Admin: "admin-secret-1", Instructor: "teach-secret-1"}}).Handler()
	login := func(password string) *httptest.ResponseRecorder {
		form := url.Values{"name": {"Yamada"}, "password": {password}, "next": {"/instructor"}}
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := login("wrong"); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not right") {
		t.Errorf("wrong password = %d, want 401 saying so", rec.Code)
	}
	rec := login("teach-secret-1")
	var staff *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == staffCookie {
			staff = c
		}
	}
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/instructor" || staff == nil ||
		!staff.HttpOnly || staff.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login = %d %v, cookie %+v; want a redirect and an HttpOnly, SameSite=Strict cookie", rec.Code, rec.Header(), staff)
	}
	for _, tc := range []struct {
		path   string
		cookie *http.Cookie
		bearer string
		want   int
	}{
		{"/api/workshops", nil, "", http.StatusUnauthorized},
		{"/api/workshops", nil, "wrong", http.StatusUnauthorized},
		{"/api/admin/status", staff, "", http.StatusUnauthorized},
		{"/api/admin/status", nil, "admin-secret-1", http.StatusOK},
		{"/admin", nil, "", http.StatusSeeOther},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.cookie != nil {
			req.AddCookie(tc.cookie)
		}
		if tc.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+tc.bearer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET %s (cookie %v, bearer %q) = %d %s, want %d", tc.path, tc.cookie != nil, tc.bearer, rec.Code, rec.Body, tc.want)
		}
	}
}
