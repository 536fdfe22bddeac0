package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/store"
)

func workshop(id, code, owner string, capacity int, created time.Time) keiko.Workshop {
	return keiko.Workshop{ID: id, Code: code, Title: "Workshop " + id, Scenarios: []string{"pods", "services"},
		Capacity: capacity, Opens: created, Closes: created.Add(3 * time.Hour), Owner: owner, CreatedAt: created}
}

func sameWorkshop(a, b keiko.Workshop) bool {
	return a.ID == b.ID && a.Code == b.Code && a.Title == b.Title && slices.Equal(a.Scenarios, b.Scenarios) &&
		a.Capacity == b.Capacity && a.Opens.Equal(b.Opens) && a.Closes.Equal(b.Closes) && a.Owner == b.Owner &&
		a.CreatedAt.Equal(b.CreatedAt)
}

func openTemp(t *testing.T) *store.DB {
	t.Helper()
	db := open(t, filepath.Join(t.TempDir(), "keiko.db"))
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCreateWorkshop(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if err := db.CreateWorkshop(ctx, workshop("w1", " kansai-26 ", "ines", 0, t0)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		w        keiko.Workshop
		wantCode string
		wantMsg  string // a substring of the user-facing message
	}{
		{"new code", workshop("w2", "tokyo-26", "ines", 5, t0), "", ""},
		{"no scenarios", keiko.Workshop{ID: "w3", Code: "empty", CreatedAt: t0}, "", ""},
		{"taken code", workshop("w4", "KANSAI-26", "jo", 0, t0), keiko.ECONFLICT, "taken"},
		{"taken code in another case", workshop("w5", "Kansai-26", "jo", 0, t0), keiko.ECONFLICT, "choose another"},
		{"blank code", workshop("w6", "  ", "jo", 0, t0), keiko.EINVALID, "code"},
		{"negative capacity", workshop("w7", "neg", "jo", -1, t0), keiko.EINVALID, "capacity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.CreateWorkshop(ctx, tt.w)
			if got := keiko.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("CreateWorkshop() error = %v, want code %q", err, tt.wantCode)
			}
			if got := keiko.ErrorMessage(err); !strings.Contains(got, tt.wantMsg) {
				t.Errorf("CreateWorkshop() message = %q, want it to mention %q", got, tt.wantMsg)
			}
		})
	}

	got, err := db.Workshop(ctx, "w1")
	want := workshop("w1", "KANSAI-26", "ines", 0, t0)
	if err != nil || !sameWorkshop(got, want) {
		t.Errorf("Workshop(w1) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := db.Workshop(ctx, "w3"); err != nil || len(got.Scenarios) != 0 {
		t.Errorf("Workshop(w3) = %+v, %v; want no scenarios", got, err)
	}
	if _, err := db.Workshop(ctx, "nope"); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("Workshop(nope) error = %v, want ENOTFOUND", err)
	}
}

func TestWorkshopByCode(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if err := db.CreateWorkshop(ctx, workshop("w1", "KANSAI-26", "ines", 0, t0)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		code     string
		wantID   string
		wantCode string
	}{
		{"KANSAI-26", "w1", ""},
		{" kansai-26\n", "w1", ""},
		{"kansai-27", "", keiko.ENOTFOUND},
		{"", "", keiko.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			got, err := db.WorkshopByCode(ctx, tt.code)
			if keiko.ErrorCode(err) != tt.wantCode || got.ID != tt.wantID {
				t.Errorf("WorkshopByCode(%q) = %q, %v; want %q, code %q", tt.code, got.ID, err, tt.wantID, tt.wantCode)
			}
			if err != nil && !strings.Contains(keiko.ErrorMessage(err), "instructor") {
				t.Errorf("WorkshopByCode(%q) message = %q, want it to send the learner to their instructor", tt.code, keiko.ErrorMessage(err))
			}
		})
	}
}

func TestWorkshops(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	for i, w := range []keiko.Workshop{
		workshop("old", "a", "ines", 0, t0),
		workshop("new", "b", "ines", 0, t0.Add(time.Hour)),
		workshop("other", "c", "jo", 0, t0.Add(30*time.Minute)),
	} {
		if err := db.CreateWorkshop(ctx, w); err != nil {
			t.Fatalf("CreateWorkshop #%d = %v", i, err)
		}
	}
	tests := []struct {
		owner string
		want  []string
	}{
		{"ines", []string{"new", "old"}},
		{"jo", []string{"other"}},
		{"", []string{"new", "other", "old"}},
		{"nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.owner, func(t *testing.T) {
			ws, err := db.Workshops(ctx, tt.owner)
			var got []string
			for _, w := range ws {
				got = append(got, w.ID)
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Workshops(%q) = %v, %v; want %v", tt.owner, got, err, tt.want)
			}
		})
	}
}

func TestJoinWorkshop(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if err := db.CreateWorkshop(ctx, workshop("small", "small", "ines", 2, t0)); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateWorkshop(ctx, workshop("open", "open", "ines", 0, t0)); err != nil {
		t.Fatal(err)
	}
	// In order: each join sees the ones before it.
	tests := []struct {
		name     string
		workshop string
		learner  string
		wantCode string
	}{
		{"first", "small", "alice", ""},
		{"again is a no-op", "small", "alice", ""},
		{"last place", "small", "bob", ""},
		{"member rejoins when full", "small", "bob", ""},
		{"full", "small", "carol", keiko.ECONFLICT},
		{"no limit", "open", "carol", ""},
		{"unknown workshop", "nope", "alice", keiko.ENOTFOUND},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.JoinWorkshop(ctx, tt.workshop, tt.learner, t0.Add(time.Duration(i)*time.Minute))
			if got := keiko.ErrorCode(err); got != tt.wantCode {
				t.Errorf("JoinWorkshop(%s, %s) error = %v, want code %q", tt.workshop, tt.learner, err, tt.wantCode)
			}
		})
	}

	if _, err := db.Learner(ctx, "carol"); err != nil {
		t.Errorf("a learner first seen joining was not recorded: %v", err)
	}
	err := db.JoinWorkshop(ctx, "small", "dave", t0)
	if want := "This workshop is full (2 places)"; !strings.HasPrefix(keiko.ErrorMessage(err), want) {
		t.Errorf("joining a full workshop: message = %q, want it to start %q", keiko.ErrorMessage(err), want)
	}
	// A rejoin keeps the first joined_at, so Membership still orders by it.
	att, err := db.WorkshopProgress(ctx, "small")
	if err != nil || len(att) != 2 || !att[0].JoinedAt.Equal(t0) || !att[1].JoinedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("members of small = %+v, %v; want alice at t0 then bob at t0+2m", att, err)
	}
}

func TestJoinWorkshopRace(t *testing.T) {
	// Without the count and insert in one write transaction, joiners who
	// read the count together all see free places and overfill the room.
	db := openTemp(t)
	ctx := context.Background()
	const capacity, joiners = 10, 50
	if err := db.CreateWorkshop(ctx, workshop("w1", "race", "ines", capacity, t0)); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, joiners)
	var wg sync.WaitGroup
	for i := range joiners {
		wg.Go(func() {
			errs[i] = db.JoinWorkshop(ctx, "w1", fmt.Sprintf("learner-%02d", i), t0)
		})
	}
	wg.Wait()

	var joined, full int
	for i, err := range errs {
		switch keiko.ErrorCode(err) {
		case "":
			joined++
		case keiko.ECONFLICT:
			full++
		default:
			t.Errorf("joiner %d: %v", i, err)
		}
	}
	if joined != capacity || full != joiners-capacity {
		t.Errorf("%d joined and %d were turned away, want %d and %d", joined, full, capacity, joiners-capacity)
	}
	if att, err := db.WorkshopProgress(ctx, "w1"); err != nil || len(att) != capacity {
		t.Errorf("WorkshopProgress has %d members, %v; want %d", len(att), err, capacity)
	}
}

func TestMembership(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	for _, w := range []keiko.Workshop{workshop("w1", "one", "ines", 0, t0), workshop("w2", "two", "ines", 0, t0)} {
		if err := db.CreateWorkshop(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	check := func(learner, want string) {
		t.Helper()
		w, ok, err := db.Membership(ctx, learner)
		if err != nil || ok != (want != "") || w.ID != want {
			t.Errorf("Membership(%s) = %q, %v, %v; want %q", learner, w.ID, ok, err, want)
		}
	}
	check("alice", "")
	for _, j := range []struct {
		workshop string
		at       time.Time
	}{{"w1", t0}, {"w2", t0.Add(time.Hour)}, {"w1", t0.Add(2 * time.Hour)}} { // the rejoin changes nothing
		if err := db.JoinWorkshop(ctx, j.workshop, "alice", j.at); err != nil {
			t.Fatal(err)
		}
	}
	check("alice", "w2")

	// Deleting the workshop ends the membership and unlinks its sessions,
	// but the learner keeps them and their progress.
	s := session("s1", "alice", "pods", t0)
	s.WorkshopID = "w2"
	if err := db.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.SetStep(ctx, "s1", 0, keiko.StepPassed, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteWorkshop(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	check("alice", "w1")
	if got, err := db.Session(ctx, "s1"); err != nil || got.WorkshopID != "" {
		t.Errorf("session of a deleted workshop = %+v, %v; want it kept, unlinked", got, err)
	}
	if p, err := db.Progress(ctx, "s1"); err != nil || p[0] != keiko.StepPassed {
		t.Errorf("progress of a deleted workshop's session = %v, %v", p, err)
	}
	if err := db.DeleteWorkshop(ctx, "w2"); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("deleting twice: error = %v, want ENOTFOUND", err)
	}
	if _, err := db.Workshop(ctx, "w2"); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("Workshop after delete: error = %v, want ENOTFOUND", err)
	}
}

func TestLearner(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if _, err := db.Learner(ctx, "alice"); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("Learner of a stranger: error = %v, want ENOTFOUND", err)
	}
	if err := db.SaveSession(ctx, session("s1", "bob", "pods", t0)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		learner, name string
		at            time.Time
	}{
		{"alice", "Alice", t0},                   // first seen naming herself
		{"alice", "Alice B.", t0.Add(time.Hour)}, // renaming keeps created_at
		{"bob", "Bob", t0.Add(time.Hour)},        // first seen starting a session
	}
	for _, st := range steps {
		if err := db.SetDisplayName(ctx, st.learner, st.name, st.at); err != nil {
			t.Fatal(err)
		}
	}
	tests := []keiko.Learner{
		{ID: "alice", DisplayName: "Alice B.", CreatedAt: t0},
		{ID: "bob", DisplayName: "Bob", CreatedAt: t0},
	}
	for _, want := range tests {
		t.Run(want.ID, func(t *testing.T) {
			got, err := db.Learner(ctx, want.ID)
			if err != nil || got.ID != want.ID || got.DisplayName != want.DisplayName || !got.CreatedAt.Equal(want.CreatedAt) {
				t.Errorf("Learner(%s) = %+v, %v; want %+v", want.ID, got, err, want)
			}
		})
	}
}

func TestSessionWorkshopID(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if err := db.CreateWorkshop(ctx, workshop("w1", "one", "ines", 0, t0)); err != nil {
		t.Fatal(err)
	}
	in := session("s1", "alice", "pods", t0)
	in.WorkshopID = "w1"
	for _, s := range []keiko.Session{in, session("s2", "alice", "services", t0)} {
		if err := db.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		get  func() (keiko.Session, error)
		want string
	}{
		{"Session in a workshop", func() (keiko.Session, error) { return db.Session(ctx, "s1") }, "w1"},
		{"Session outside", func() (keiko.Session, error) { return db.Session(ctx, "s2") }, ""},
		{"ActiveSession", func() (keiko.Session, error) {
			s, _, err := db.ActiveSession(ctx, "alice", "pods")
			return s, err
		}, "w1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.get(); err != nil || got.WorkshopID != tt.want {
				t.Errorf("WorkshopID = %q, %v; want %q", got.WorkshopID, err, tt.want)
			}
		})
	}
	// Outside a workshop is NULL, not "", so the column never points at a
	// workshop that cannot exist.
	if got := db.QueryStrings(t, `SELECT id FROM sessions WHERE workshop_id IS NULL`); !slices.Equal(got, []string{"s2"}) {
		t.Errorf("sessions with a NULL workshop_id = %v, want [s2]", got)
	}
	bad := session("s3", "alice", "pods", t0)
	bad.WorkshopID = "nope"
	if err := db.SaveSession(ctx, bad); err == nil {
		t.Error("a session of a workshop that does not exist was saved")
	}
}

func TestWorkshopProgress(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	for _, w := range []keiko.Workshop{workshop("w1", "one", "ines", 0, t0), workshop("w2", "two", "ines", 0, t0)} {
		if err := db.CreateWorkshop(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range []string{"bob", "alice", "carol"} { // join order, not name order
		if err := db.JoinWorkshop(ctx, "w1", l, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetDisplayName(ctx, "alice", "Alice", t0); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		id, learner, workshop string
		created               time.Time
	}{
		{"a2", "alice", "w1", t0.Add(2 * time.Hour)},
		{"a1", "alice", "w1", t0.Add(time.Hour)},
		{"a-other", "alice", "w2", t0}, // another workshop's
		{"a-solo", "alice", "", t0},    // outside any workshop
		{"b1", "bob", "w1", t0},
		{"d1", "dave", "w1", t0}, // not a member: not on the grid
	} {
		sess := session(s.id, s.learner, "pods", s.created)
		sess.WorkshopID = s.workshop
		if err := db.SaveSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []struct {
		session string
		step    int
		status  keiko.StepStatus
		at      time.Time
	}{
		{"a1", 1, keiko.StepSkipped, t0.Add(time.Hour + 2*time.Minute)},
		{"a1", 0, keiko.StepPassed, t0.Add(time.Hour + time.Minute)},
		{"a-other", 0, keiko.StepPassed, t0},
		{"b1", 0, keiko.StepPending, t0.Add(time.Second)},
	} {
		if err := db.SetStep(ctx, st.session, st.step, st.status, st.at); err != nil {
			t.Fatal(err)
		}
	}

	got, err := db.WorkshopProgress(ctx, "w1")
	if err != nil {
		t.Fatal(err)
	}
	type attempt struct {
		session string
		steps   map[int]keiko.StepRecord
	}
	want := []struct {
		learner, name string
		attempts      []attempt
	}{
		{"bob", "", []attempt{{"b1", map[int]keiko.StepRecord{0: {Status: keiko.StepPending, At: t0.Add(time.Second)}}}}},
		{"alice", "Alice", []attempt{
			{"a1", map[int]keiko.StepRecord{
				0: {Status: keiko.StepPassed, At: t0.Add(time.Hour + time.Minute)},
				1: {Status: keiko.StepSkipped, At: t0.Add(time.Hour + 2*time.Minute)},
			}},
			{"a2", map[int]keiko.StepRecord{}},
		}},
		{"carol", "", nil},
	}
	if len(got) != len(want) {
		t.Fatalf("WorkshopProgress has %d attendees, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Learner.ID != w.learner || g.Learner.DisplayName != w.name || !g.JoinedAt.Equal(t0.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("attendee %d = %+v joined %v, want %s (%q)", i, g.Learner, g.JoinedAt, w.learner, w.name)
		}
		if len(g.Sessions) != len(w.attempts) {
			t.Errorf("%s has %d sessions, want %d: %+v", w.learner, len(g.Sessions), len(w.attempts), g.Sessions)
			continue
		}
		for j, wa := range w.attempts {
			ga := g.Sessions[j]
			if ga.Session.ID != wa.session || ga.Session.WorkshopID != "w1" || ga.Session.LearnerID != w.learner {
				t.Errorf("%s session %d = %+v, want %s", w.learner, j, ga.Session, wa.session)
			}
			if ga.Steps == nil || len(ga.Steps) != len(wa.steps) {
				t.Errorf("%s steps = %v, want %v", wa.session, ga.Steps, wa.steps)
			}
			for step, rec := range wa.steps {
				if g := ga.Steps[step]; g.Status != rec.Status || !g.At.Equal(rec.At) {
					t.Errorf("%s step %d = %+v, want %+v", wa.session, step, g, rec)
				}
			}
		}
	}

	if got, err := db.WorkshopProgress(ctx, "w2"); err != nil || len(got) != 0 {
		t.Errorf("WorkshopProgress of a workshop nobody joined = %+v, %v", got, err)
	}
	if got, err := db.WorkshopProgress(ctx, "nope"); err != nil || len(got) != 0 {
		t.Errorf("WorkshopProgress of an unknown workshop = %+v, %v", got, err)
	}
}
