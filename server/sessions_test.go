package server

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
)

type fakeSessions struct {
	learners []string
	err      error
}

var fakeSession = keiko.Session{ID: "abc", Namespace: "keiko-abc", ScenarioID: "kubernetes-basics", ExpiresAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}

// Start reports two phases; a learner's second start resumes.
func (f *fakeSessions) Start(_ context.Context, learner, scenario string, progress func(string, int)) (keiko.Session, bool, error) {
	resumed := slices.Contains(f.learners, learner)
	f.learners = append(f.learners, learner)
	if progress != nil {
		progress("sandbox", -1)
		progress("replay", 0)
	}
	if f.err != nil {
		return keiko.Session{}, false, f.err
	}
	s := fakeSession
	s.LearnerID, s.ScenarioID = learner, scenario
	return s, resumed, nil
}

func (f *fakeSessions) Skip(_ context.Context, learner, id string, step int) error {
	return f.own(learner, id)
}

// Solve is refused, as in a scenario that does not allow it.
func (f *fakeSessions) Solve(_ context.Context, learner, id string, step int) error {
	if err := f.own(learner, id); err != nil {
		return err
	}
	return keiko.Errorf(keiko.ECONFLICT, "This scenario does not offer solutions.")
}

func (f *fakeSessions) Hint(_ context.Context, learner, id string, step int) error {
	return f.own(learner, id)
}

func (f *fakeSessions) Mine(context.Context, string) (map[string]ScenarioProgress, error) {
	return map[string]ScenarioProgress{"kubernetes-basics": {Done: 1, Total: 1}}, nil
}

func (f *fakeSessions) Missing([]string) []string { return nil }

// own is the lab's rule: only the learner who started session abc sees it.
func (f *fakeSessions) own(learner, id string) error {
	if id != "abc" || len(f.learners) == 0 || learner != f.learners[0] {
		return keiko.Errorf(keiko.ENOTFOUND, "No lab environment %q.", id)
	}
	return nil
}

func (f *fakeSessions) Progress(_ context.Context, learner, id string) (keiko.Session, map[int]keiko.StepStatus, error) {
	return fakeSession, map[int]keiko.StepStatus{0: keiko.StepPassed}, f.own(learner, id)
}

func (f *fakeSessions) Check(_ context.Context, learner, id string, step int, lang string) ([]keiko.CheckResult, error) {
	if err := f.own(learner, id); err != nil {
		return nil, err
	}
	if step != 1 {
		return nil, keiko.Errorf(keiko.EINVALID, "Step %d does not exist.", step)
	}
	return []keiko.CheckResult{{Passed: true}, {Message: "Scale web to 4 (" + lang + ")."}}, nil
}

func (f *fakeSessions) Extend(_ context.Context, learner, id string) (keiko.Session, error) {
	s := fakeSession
	s.ExpiresAt = s.ExpiresAt.Add(time.Hour)
	return s, f.own(learner, id)
}

func (f *fakeSessions) End(_ context.Context, learner, id string) error { return f.own(learner, id) }

// Watch sends step 1 failing, then passing, then the end.
func (f *fakeSessions) Watch(_ context.Context, learner, id, lang string, send func(StepEvent)) error {
	if err := f.own(learner, id); err != nil {
		return err
	}
	send(StepEvent{Step: 1, Results: []keiko.CheckResult{{Message: "Scale web to 4 (" + lang + ")."}}})
	send(StepEvent{Step: 1, Results: []keiko.CheckResult{{Passed: true}}})
	send(StepEvent{Finished: true})
	return nil
}

// fullError is how the sandbox reports a full cluster: a keiko.Error
// wrapping a cause that knows when to retry.
type fullError struct{}

func (fullError) Error() string                 { return "cluster full" }
func (fullError) RetryAfterHint() time.Duration { return 90 * time.Second }

func TestLearnerCookie(t *testing.T) {
	h := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != learnerCookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookies = %+v, want one HttpOnly SameSite=Lax learner cookie", cookies)
	}

	tests := []struct {
		name     string
		value    string
		wantSame bool
	}{
		{"genuine", cookies[0].Value, true},
		{"edited id", "aaaaaaaaaaaaaaaa" + cookies[0].Value[16:], false},
		{"no signature", cookies[0].Value[:16], false},
		{"garbage", "x.y", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.AddCookie(&http.Cookie{Name: learnerCookie, Value: tt.value})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			reissued := len(rec.Result().Cookies()) > 0
			if reissued == tt.wantSame {
				t.Errorf("reissued = %v, want %v", reissued, !tt.wantSame)
			}
		})
	}
}

func TestStartSession(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		err        error
		wantStatus int
		wantRetry  string
	}{
		{"created", `{"scenario":"kubernetes-basics"}`, nil, http.StatusCreated, ""},
		{"no scenario", `{}`, nil, http.StatusBadRequest, ""},
		{"not json", `scenario`, nil, http.StatusBadRequest, ""},
		{"cluster full", `{"scenario":"s"}`, &keiko.Error{Code: keiko.EUNAVAILABLE, Message: "All 100 lab environments are in use.", Err: fullError{}}, http.StatusServiceUnavailable, "90"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSessions{err: tt.err}
			h := New(Config{Sessions: f}).Handler()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/sessions", strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			if tt.wantStatus != http.StatusCreated {
				return
			}
			var got sessionResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID != "abc" || got.Namespace != "keiko-abc" {
				t.Errorf("body = %s (%v)", rec.Body, err)
			}
			if len(f.learners) != 1 || !learnerIDPattern(f.learners[0]) {
				t.Errorf("session started for learner %v, want the cookie's id", f.learners)
			}
		})
	}
}

// oneScenario offers kubernetes-basics with one step, titled in English
// only.
type oneScenario struct{}

func (oneScenario) Scenarios() []CatalogEntry {
	return []CatalogEntry{{ID: "kubernetes-basics", Scenario: &keiko.Scenario{ID: "kubernetes-basics",
		Steps: []keiko.Step{{Index: 0, Title: keiko.Text{"en": "Run a pod"}}}}}}
}

func (oneScenario) Asset(string, string) (fs.File, error) { return nil, fs.ErrNotExist }

func TestSessionAPI(t *testing.T) {
	f := &fakeSessions{}
	h := New(Config{Sessions: f, Catalog: oneScenario{}}).Handler()
	do := func(method, path string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"scenario":"kubernetes-basics"}`))
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	start := do(http.MethodPost, "/api/sessions", nil)
	mine := start.Result().Cookies()[0]
	stranger := do(http.MethodGet, "/", nil).Result().Cookies()[0]

	for _, tc := range []struct {
		name, method, path string
		cookie             *http.Cookie
		status             int
		body               string
	}{
		{"progress", "GET", "/api/sessions/abc?lang=ja", mine, 200,
			`{"id":"abc","namespace":"keiko-abc","expiresAt":"2026-11-24T12:00:00Z","scenario":"kubernetes-basics","steps":[{"index":0,"title":"Run a pod","status":"passed"}]}`},
		{"check", "POST", "/api/sessions/abc/steps/1/check?lang=en", mine, 200,
			`{"step":1,"passed":false,"results":[{"passed":true},{"passed":false,"message":"Scale web to 4 (en)."}]}`},
		{"check a step that is not a number", "POST", "/api/sessions/abc/steps/one/check", mine, 400, `"code":"invalid"`},
		{"check a step that does not exist", "POST", "/api/sessions/abc/steps/9/check", mine, 400, "Step 9 does not exist."},
		{"extend", "POST", "/api/sessions/abc/extend", mine, 200, `"expiresAt":"2026-11-24T13:00:00Z"`},
		{"start again resumes", "POST", "/api/sessions", mine, 200, `"id":"abc"`},
		{"skip", "POST", "/api/sessions/abc/steps/0/skip", mine, 204, ""},
		{"hint", "POST", "/api/sessions/abc/steps/0/hint", mine, 204, ""},
		{"solve where not allowed", "POST", "/api/sessions/abc/steps/0/solve", mine, 409, `"code":"conflict"`},
		{"another learner's skip", "POST", "/api/sessions/abc/steps/0/skip", stranger, 404, `"code":"not_found"`},
		{"another learner's solve", "POST", "/api/sessions/abc/steps/0/solve", stranger, 404, `"code":"not_found"`},
		{"another learner's hint", "POST", "/api/sessions/abc/steps/0/hint", stranger, 404, `"code":"not_found"`},
		{"end", "DELETE", "/api/sessions/abc", mine, 204, ""},
		{"another learner's progress", "GET", "/api/sessions/abc", stranger, 404, `"code":"not_found"`},
		{"another learner's check", "POST", "/api/sessions/abc/steps/1/check", stranger, 404, `"code":"not_found"`},
		{"another learner's extend", "POST", "/api/sessions/abc/extend", stranger, 404, `"code":"not_found"`},
		{"another learner's end", "DELETE", "/api/sessions/abc", stranger, 404, `"code":"not_found"`},
		{"no cookie at all", "GET", "/api/sessions/abc", nil, 404, `"code":"not_found"`},
		{"live events", "GET", "/api/sessions/abc/events?lang=ja", mine, 200, "event:step\n" +
			`data:{"step":1,"passed":false,"results":[{"passed":false,"message":"Scale web to 4 (ja)."}]}` + "\n\n" +
			"event:step\n" + `data:{"step":1,"passed":true,"results":[{"passed":true}]}` + "\n\n" +
			"event:finished\ndata:{}\n\n"},
		{"another learner's events", "GET", "/api/sessions/abc/events", stranger, 404, `"code":"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(tc.method, tc.path, tc.cookie)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("%s %s = %d %s, want %d with %s", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.body)
			}
		})
	}
}

func TestStartSessionStreamsProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"started", nil, `{"phase":"sandbox"}
{"phase":"replay","step":0}
{"session":{"id":"abc","namespace":"keiko-abc","expiresAt":"2026-11-24T12:00:00Z"}}
`},
		{"failed", keiko.Errorf(keiko.EUNAVAILABLE, "All 100 lab environments are in use."), `{"phase":"sandbox"}
{"phase":"replay","step":0}
{"error":{"code":"unavailable","message":"All 100 lab environments are in use."}}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Config{Sessions: &fakeSessions{err: tc.err}}).Handler()
			req := httptest.NewRequest(http.MethodPost, "/api/sessions", strings.NewReader(`{"scenario":"kubernetes-basics"}`))
			req.Header.Set("Accept", "application/x-ndjson")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-ndjson" || rec.Body.String() != tc.want {
				t.Errorf("= %d %q\n%s\nwant 200 application/x-ndjson\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.want)
			}
		})
	}
}
