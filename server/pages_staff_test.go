package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/web"
)

// staffNow is the fake clock of the staff tests' workshops and sessions.
var staffNow = time.Now()

// fakeWorkshops keeps workshops in memory with the real rule of
// visibility: an instructor sees only their own, an admin sees all.
type fakeWorkshops struct {
	mu        sync.Mutex
	list      []keiko.Workshop
	attendees map[string][]keiko.Attendee // by workshop id
	learners  map[string]keiko.Learner
	joined    map[string]string // learner id to workshop id
}

func newFakeWorkshops() *fakeWorkshops {
	return &fakeWorkshops{
		list: []keiko.Workshop{
			{ID: "w1", Code: "KANSAI-26", Title: "Kubernetes in Osaka", Scenarios: []string{"pods"}, Owner: "Ann",
				Opens: staffNow.Add(-time.Hour), Closes: staffNow.Add(2 * time.Hour)},
			{ID: "w2", Code: "TOKYO-1", Title: "Bob's room", Scenarios: []string{"pods"}, Owner: "Bob",
				Opens: staffNow.Add(-time.Hour), Closes: staffNow.Add(2 * time.Hour)},
		},
		attendees: map[string][]keiko.Attendee{"w1": {
			{Learner: keiko.Learner{ID: "l1", DisplayName: "<script>alert(1)</script>"}, JoinedAt: staffNow.Add(-50 * time.Minute),
				Sessions: []keiko.Attempt{{
					Session: keiko.Session{ID: "s1", ScenarioID: "pods", CreatedAt: staffNow.Add(-40 * time.Minute), ExpiresAt: staffNow.Add(time.Hour)},
					Steps: map[int]keiko.StepRecord{
						0: {Status: keiko.StepPassed, At: staffNow.Add(-30 * time.Minute)},
						1: {Status: keiko.StepSkipped, At: staffNow.Add(-20 * time.Minute)},
					},
				}}},
			{Learner: keiko.Learner{ID: "l2"}, JoinedAt: staffNow.Add(-10 * time.Minute)},
		}},
		learners: map[string]keiko.Learner{},
		joined:   map[string]string{},
	}
}

func visible(who Staff, w keiko.Workshop) bool { return who.Admin() || w.Owner == who.Name }

func (f *fakeWorkshops) find(who Staff, id string) (keiko.Workshop, error) {
	for _, w := range f.list {
		if w.ID == id && visible(who, w) {
			return w, nil
		}
	}
	return keiko.Workshop{}, keiko.Errorf(keiko.ENOTFOUND, "There is no workshop %q.", id)
}

func (f *fakeWorkshops) Create(_ context.Context, who Staff, w keiko.Workshop) (keiko.Workshop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.ID, w.Owner, w.Code = "w"+strconv.Itoa(len(f.list)+1), who.Name, keiko.NormalizeCode(w.Code)
	if w.Code == "" {
		w.Code = "GEN123"
	}
	f.list = append(f.list, w)
	return w, nil
}

func (f *fakeWorkshops) List(_ context.Context, who Staff) ([]keiko.Workshop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []keiko.Workshop
	for _, w := range f.list {
		if visible(who, w) {
			out = append(out, w)
		}
	}
	return out, nil
}

func (f *fakeWorkshops) Attendees(_ context.Context, who Staff, id string) (keiko.Workshop, []keiko.Attendee, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, err := f.find(who, id)
	return w, f.attendees[id], err
}

func (f *fakeWorkshops) Delete(_ context.Context, who Staff, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.find(who, id); err != nil {
		return err
	}
	f.list = slices.DeleteFunc(f.list, func(w keiko.Workshop) bool { return w.ID == id })
	return nil
}

func (f *fakeWorkshops) Join(_ context.Context, learner, code, name string) (keiko.Workshop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.list {
		if w.Code == keiko.NormalizeCode(code) {
			f.joined[learner] = w.ID
			f.learners[learner] = keiko.Learner{ID: learner, DisplayName: name}
			return w, nil
		}
	}
	return keiko.Workshop{}, keiko.Errorf(keiko.ENOTFOUND, "No workshop has the code %q.", code)
}

func (f *fakeWorkshops) Learner(_ context.Context, learner string) (keiko.Learner, *keiko.Workshop, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.list {
		if w.ID == f.joined[learner] {
			return f.learners[learner], &w, nil
		}
	}
	return f.learners[learner], nil, nil
}

func (f *fakeWorkshops) Rename(_ context.Context, learner, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.learners[learner] = keiko.Learner{ID: learner, DisplayName: name}
	return nil
}

// staffCatalog offers pods, three steps titled in both languages, plus a
// broken scenario and one with a warning, for the admin page.
type staffCatalog struct{}

func (staffCatalog) Scenarios() []CatalogEntry {
	step := func(en, ja string) keiko.Step { return keiko.Step{Title: keiko.Text{"en": en, "ja": ja}} }
	return []CatalogEntry{
		{ID: "pods", Scenario: &keiko.Scenario{ID: "pods", Title: keiko.Text{"en": "Run pods", "ja": "Pod を動かす"},
			Track: "basics", Level: keiko.LevelBeginner, Duration: 20 * time.Minute,
			Steps: []keiko.Step{step("Run a pod", "Pod を起動"), step("Scale it", "スケール"), step("Clean up", "片付け")}}},
		{ID: "warned", Scenario: &keiko.Scenario{ID: "warned", Title: keiko.Text{"en": "Warned"}, Track: "basics",
			Steps: []keiko.Step{step("Only step", "唯一のステップ")}},
			Problems: []string{"warned/scenario.yaml:7: step 1 has no checks"}},
		{ID: "bad-one", Problems: []string{"bad-one/scenario.yaml:2: title is required"}},
	}
}

func (staffCatalog) Asset(string, string) (fs.File, error) { return nil, fs.ErrNotExist }

type fakeCapacity struct{ c Capacity }

func (f fakeCapacity) Capacity(context.Context) (Capacity, error) { return f.c, nil }

type readyProbe struct{}

func (readyProbe) Ready(context.Context) error { return nil }

const (
	adminPassword      = "a-secret-password"
	instructorPassword = "i-secret-password"
)

func newStaffServer() *Server {
	return New(Config{
		Auth:      Passwords{Admin: adminPassword, Instructor: instructorPassword},
		Workshops: newFakeWorkshops(),
		Catalog:   staffCatalog{},
		Admin:     fakeCapacity{Capacity{Sandboxes: 3, MaxSandboxes: 10, PoolReady: 1, PoolSize: 2, Terminals: 4}},
		Probe:     readyProbe{},
		Secret:    []byte("0123456789abcdef0123456789abcdef"),
	})
}

// serve sends one request to h, with the cookie when it is not nil.
func serve(h http.Handler, method, path, contentType, body string, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// signIn posts the login form and returns the staff cookie it sets.
func signIn(t *testing.T, h http.Handler, name, password string) *http.Cookie {
	t.Helper()
	form := url.Values{"name": {name}, "password": {password}, "next": {"/instructor"}}
	rec := serve(h, http.MethodPost, "/login", "application/x-www-form-urlencoded", form.Encode(), nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST /login = %d, want 303: %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == staffCookie {
			return c
		}
	}
	t.Fatalf("POST /login set no %s cookie", staffCookie)
	return nil
}

func TestStaffPagesNeedSignIn(t *testing.T) {
	h := newStaffServer().Handler()
	for _, path := range []string{"/instructor", "/instructor/workshops/w1", "/admin"} {
		t.Run(path, func(t *testing.T) {
			rec := serve(h, http.MethodGet, path, "", "", nil)
			want := "/login?next=" + url.QueryEscape(path)
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
				t.Errorf("GET %s = %d to %q, want 303 to %q", path, rec.Code, rec.Header().Get("Location"), want)
			}
		})
	}
	rec := serve(h, http.MethodGet, "/api/workshops", "", "", nil)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"code":"unauthorized"`) {
		t.Errorf("GET /api/workshops = %d %s, want a 401 JSON error", rec.Code, rec.Body)
	}
}

func TestWrongPasswordShowsTheForm(t *testing.T) {
	h := newStaffServer().Handler()
	form := url.Values{"password": {"nope"}, "next": {"/admin"}}
	rec := serve(h, http.MethodPost, "/login?lang=ja", "application/x-www-form-urlencoded", form.Encode(), nil)
	body := rec.Body.String()
	if rec.Code != http.StatusUnauthorized || !strings.Contains(body, messages["ja"]["loginFailed"]) || !strings.Contains(body, `role="alert"`) ||
		!strings.Contains(body, `name="next" value="/admin"`) {
		t.Errorf("POST /login with a wrong password = %d, want 401 with the form, the alert and next kept:\n%s", rec.Code, body)
	}
}

func TestStaffPages(t *testing.T) {
	s := newStaffServer()
	h := s.Handler()
	instructor := signIn(t, h, "Ann", instructorPassword)
	admin := signIn(t, h, "Root", adminPassword)
	en, ja := messages["en"], messages["ja"]

	tests := []struct {
		name       string
		path       string
		cookie     *http.Cookie
		wantStatus int
		want       []string
		wantNot    []string
	}{
		{"instructor page", "/instructor", instructor, 200,
			[]string{`<html lang="en">`, "<h1>" + en["instrTitle"] + "</h1>", en["newTitle"], "Run pods", `value="pods"`, en["track.basics"],
				"Beginner · 20 min · 3 steps", "/static/dashboard.css", "Ann"},
			[]string{"<h1>" + en["instrTitleAll"]}},
		{"instructor page in Japanese", "/instructor?lang=ja", instructor, 200,
			[]string{`<html lang="ja">`, ja["instrTitle"], ja["newTitle"], "Pod を動かす", ja["track.basics"], ja["fSubmit"]}, nil},
		{"admin sees all workshops", "/instructor", admin, 200, []string{"<h1>" + en["instrTitleAll"] + "</h1>", `href="/admin"`}, nil},
		{"live grid", "/instructor/workshops/w1", instructor, 200,
			[]string{`data-api="/api/workshops/w1"`, `href="/api/workshops/w1/results.csv"`, en["csv"], en["cntStuck"], en["gridJoinAt"]}, nil},
		{"live grid in Japanese", "/instructor/workshops/w1?lang=ja", instructor, 200,
			[]string{ja["csv"], ja["cntStuck"], ja["gridProject"]}, nil},
		{"admin page refused to an instructor", "/admin", instructor, http.StatusSeeOther, nil, nil},
		{"admin page", "/admin", admin, 200,
			[]string{en["adminTitle"], `http-equiv="refresh" content="10"`, "state ready", "<strong>3</strong> <span>/ 10</span>",
				"<strong>1</strong> <span>/ 2</span>", "<strong>4</strong>", "bad-one/scenario.yaml:2: title is required",
				"warned/scenario.yaml:7: step 1 has no checks", `href="/metrics"`, "2 " + en["scLoaded"]}, nil},
		{"admin page in Japanese", "/admin?lang=ja", admin, 200,
			[]string{ja["adminTitle"], ja["capSandboxes"], ja["broken"], ja["warnings"]}, nil},
		{"login", "/login?next=/admin", nil, 200,
			[]string{en["loginTitle"], `name="next" value="/admin"`, `type="password"`, en["loginNameHint"]}, []string{en["loginOff"], `role="alert"`}},
		{"login in Japanese", "/login?lang=ja", nil, 200, []string{ja["loginTitle"], ja["loginPassword"], ja["loginNameHint"]}, nil},
		{"login keeps next on this site", "/login?next=//evil.example", nil, 200, []string{`name="next" value="/instructor"`}, []string{"evil.example"}},
		{"join with a code", "/join/ABC123", nil, 200,
			[]string{en["joinTitle"], `value="ABC123"`, `autocomplete="off"`, `data-page="join"`, "/static/dashboard.js"}, nil},
		{"join without a code", "/join?lang=ja", nil, 200,
			[]string{ja["joinTitle"], ja["joinSubmit"], `value="" required`, `placeholder="ABC123" autofocus`}, nil},
		{"error page", "/scenarios/nope", nil, 404, []string{en["errorTitle"], en["back"]}, nil},
		{"error page in Japanese", "/scenarios/nope?lang=ja", nil, 404, []string{ja["errorTitle"], ja["back"]}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, http.MethodGet, tt.path, "", "", tt.cookie)
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d: %s", tt.path, rec.Code, tt.wantStatus, rec.Body)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q", tt.path, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: body has %q, want it absent", tt.path, w)
				}
			}
		})
	}
}

func TestLoginWhenSignInIsOff(t *testing.T) {
	h := New(Config{}).Handler()
	rec := serve(h, http.MethodGet, "/login", "", "", nil)
	body := rec.Body.String()
	for _, w := range []string{messages["en"]["loginOff"], "--admin-password", "--instructor-password", "<fieldset disabled>"} {
		if !strings.Contains(body, w) {
			t.Errorf("GET /login with no Auth: body lacks %q", w)
		}
	}
}

func TestWorkshopAPIIsTheOwners(t *testing.T) {
	h := newStaffServer().Handler()
	ann := signIn(t, h, "Ann", instructorPassword)
	admin := signIn(t, h, "Root", adminPassword)
	tests := []struct {
		name       string
		cookie     *http.Cookie
		path       string
		wantStatus int
	}{
		{"own workshop", ann, "/api/workshops/w1", 200},
		{"another instructor's", ann, "/api/workshops/w2", 404},
		{"another instructor's results", ann, "/api/workshops/w2/results.csv", 404},
		{"admin sees any", admin, "/api/workshops/w2", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, http.MethodGet, tt.path, "", "", tt.cookie)
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d: %s", tt.path, rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus != 404 {
				return
			}
			var got errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Error.Code != keiko.ENOTFOUND || got.Error.Message == "" {
				t.Errorf("GET %s = %s (%v), want a not_found JSON error with a message", tt.path, rec.Body, err)
			}
		})
	}

	// The list, too, is only Ann's.
	rec := serve(h, http.MethodGet, "/api/workshops", "", "", ann)
	var list []workshopJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].ID != "w1" || list[0].JoinURL != "/join/KANSAI-26" {
		t.Errorf("GET /api/workshops as Ann = %s (%v), want only w1", rec.Body, err)
	}
}

func TestWorkshopGridAndCSV(t *testing.T) {
	h := newStaffServer().Handler()
	ann := signIn(t, h, "Ann", instructorPassword)

	rec := serve(h, http.MethodGet, "/api/workshops/w1?lang=ja", "", "", ann)
	var g gridJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil {
		t.Fatalf("GET /api/workshops/w1 = %d %s: %v", rec.Code, rec.Body, err)
	}
	if len(g.Rows) != 2 || g.Rows[0].Learner != "<script>alert(1)</script>" || g.Rows[0].Current != 2 || g.Rows[0].StuckFor < 19*60 ||
		!slices.Equal(g.Rows[0].Steps, []string{"passed", "skipped", "pending"}) {
		t.Errorf("grid rows = %+v, want the learner on step 3, stuck, and an anonymous one", g.Rows)
	}
	if len(g.Scenarios) != 1 || g.Scenarios[0].Title != "Pod を動かす" || len(g.Scenarios[0].Steps) != 3 {
		t.Errorf("grid scenarios = %+v, want pods with 3 step titles in Japanese", g.Scenarios)
	}
	// JSON, not HTML: the name's angle brackets cannot open a tag.
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Errorf("grid JSON has a raw <script>: %s", rec.Body)
	}

	rec = serve(h, http.MethodGet, "/api/workshops/w1/results.csv", "", "", ann)
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/csv") {
		t.Errorf("Content-Type = %q, want text/csv", got)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff, so no browser reads the CSV as HTML", got)
	}
	if got := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(got, "attachment") {
		t.Errorf("Content-Disposition = %q, want an attachment", got)
	}
	records, err := csv.NewReader(bytes.NewReader(rec.Body.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("results.csv does not parse: %v\n%s", err, rec.Body)
	}
	want := [][]string{
		{"learner", "joined_at", "scenario", "session", "step", "step_title", "status", "steps_done", "steps_total"},
		{"<script>alert(1)</script>", "", "pods", "s1", "1", "Run a pod", "passed", "2", "3"},
		{"<script>alert(1)</script>", "", "pods", "s1", "2", "Scale it", "skipped", "2", "3"},
		{"<script>alert(1)</script>", "", "pods", "s1", "3", "Clean up", "pending", "2", "3"},
		{messages["en"]["anonymous"] + " 2", "", "", "", "", "", "not started", "0", "0"},
	}
	if len(records) != len(want) {
		t.Fatalf("results.csv has %d rows, want %d:\n%s", len(records), len(want), rec.Body)
	}
	for i := range want {
		got := slices.Clone(records[i])
		if i > 0 {
			got[1] = "" // joined_at is the fake's clock
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("row %d = %q, want %q", i, got, want[i])
		}
	}
}

func TestStaffPagesEscape(t *testing.T) {
	h := newStaffServer().Handler()
	const evil = `<script>alert(1)</script>`
	ann := signIn(t, h, "Ann", instructorPassword)
	tests := []struct {
		path   string
		cookie *http.Cookie
	}{
		{"/instructor/workshops/" + url.PathEscape(evil), ann},
		{"/join/" + url.PathEscape(evil), nil},
		{"/login?next=/" + url.QueryEscape(`"><script>alert(1)</script>`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			body := serve(h, http.MethodGet, tt.path, "", "", tt.cookie).Body.String()
			if strings.Contains(body, "<script>alert(1)") {
				t.Errorf("GET %s renders the name as HTML:\n%s", tt.path, body)
			}
		})
	}

	// A staff member's name is theirs to type: it shows as text.
	s := newStaffServer()
	for _, name := range []string{"instructor.html", "admin.html"} {
		var buf bytes.Buffer
		b := base{Lang: "en", T: messages["en"], Path: "/", Staff: &Staff{Name: evil, Role: RoleAdmin}}
		data := any(adminPage{base: b})
		if name == "instructor.html" {
			data = struct {
				base
				Tracks        []track
				Opens, Closes string
			}{base: b}
		}
		if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(buf.String(), "<script>alert(1)") || !strings.Contains(buf.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the staff name escaped", name)
		}
	}
}

// TestStaffNamesSurviveTheCookie signs in with names people have: with a
// space, in Japanese. Each must come back from the staff cookie.
func TestStaffNamesSurviveTheCookie(t *testing.T) {
	h := newStaffServer().Handler()
	for _, name := range []string{"Ann", "Ann Lee", "田中 花子", "<b>&"} {
		t.Run(name, func(t *testing.T) {
			rec := serve(h, http.MethodGet, "/instructor", "", "", signIn(t, h, name, instructorPassword))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /instructor after signing in as %q = %d to %q, want 200", name, rec.Code, rec.Header().Get("Location"))
			}
		})
	}
}

// TestStaffTemplatesExecute runs each template with data at its edges,
// in both languages.
func TestStaffTemplatesExecute(t *testing.T) {
	s := newStaffServer()
	tracks, _ := s.catalog("en", nil)
	adminStaff := &Staff{Name: "Root", Role: RoleAdmin}
	for _, lang := range []string{"en", "ja"} {
		b := base{Lang: lang, T: messages[lang], Path: "/x", Theme: "dark"}
		staff := b
		staff.Staff = adminStaff
		pages := []struct {
			name string
			data any
		}{
			{"login.html", loginPage{base: b, Next: "/instructor", Error: "wrong", Off: true}},
			{"join.html", joinPage{base: b}},
			{"join.html", joinPage{base: b, Code: "ABC123"}},
			{"instructor.html", struct {
				base
				Tracks        []track
				Opens, Closes string
			}{staff, tracks, "2026-05-01T10:00", "2026-05-01T13:00"}},
			{"instructor.html", struct {
				base
				Tracks        []track
				Opens, Closes string
			}{staff, []track{{Name: "", Scenarios: []card{{scenarioJSON: scenarioJSON{ID: "x", Title: "X"}}}}}, "", ""}},
			{"workshop.html", struct {
				base
				ID, API string
			}{staff, "w1", "/api/workshops/w1"}},
			{"admin.html", adminPage{base: staff, Status: adminJSON{Cluster: "dial tcp: refused", CapacityNote: "metrics server down"}}},
			{"admin.html", adminPage{base: staff, Status: adminJSON{Cluster: "ready", Capacity: &Capacity{Sandboxes: 10, MaxSandboxes: 10}}}},
			{"error.html", struct {
				base
				Message string
			}{b, "gone"}},
		}
		for _, p := range pages {
			var buf bytes.Buffer
			if err := s.pages.ExecuteTemplate(&buf, p.name, p.data); err != nil {
				t.Errorf("%s in %s: %v", p.name, lang, err)
			}
			if strings.Contains(buf.String(), "<no value>") {
				t.Errorf("%s in %s renders <no value>", p.name, lang)
			}
		}
	}
}

// TestStaffStringsExist checks that every string the staff templates and
// dashboard.js name is there, in both languages.
func TestStaffStringsExist(t *testing.T) {
	refs := map[string]bool{}
	tmpl := regexp.MustCompile(`\.T\.([A-Za-z0-9]+)|index \$?\.T "([^"]+)"`)
	for _, name := range []string{"login.html", "join.html", "instructor.html", "workshop.html", "admin.html", "error.html", "partials.html"} {
		b, err := fs.ReadFile(web.Templates, "templates/"+name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			refs[m[1]+m[2]] = true
		}
	}
	js, err := fs.ReadFile(web.Static, "static/dashboard.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\bt\("([A-Za-z.]+)"`).FindAllStringSubmatch(string(js), -1) {
		refs[m[1]] = true
	}
	for _, k := range []string{"stPassed", "stSkipped", "stCurrent", "stPending", "role.admin", "role.instructor"} {
		refs[k] = true // named by parts
	}
	for key := range refs {
		for _, lang := range []string{"en", "ja"} {
			if messages[lang][key] == "" {
				t.Errorf("messages[%q] lacks %q", lang, key)
			}
		}
	}
	for key := range staffMessages["en"] {
		if staffMessages["ja"][key] == "" {
			t.Errorf("staffMessages[ja] lacks %q", key)
		}
	}
	if len(staffMessages["en"]) != len(staffMessages["ja"]) {
		t.Errorf("staffMessages has %d keys in en, %d in ja", len(staffMessages["en"]), len(staffMessages["ja"]))
	}
}
