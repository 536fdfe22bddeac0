package store_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 123456789, time.UTC)

func session(id, learner, scenario string, created time.Time) keiko.Session {
	return keiko.Session{ID: id, LearnerID: learner, ScenarioID: scenario, Namespace: "keiko-" + id,
		CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
}

func TestSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keiko.db")
	db := open(t, path)
	ctx := context.Background()
	for _, s := range []keiko.Session{
		session("a1", "alice", "kubernetes-basics", t0),
		session("a2", "alice", "kubernetes-basics", t0.Add(time.Minute)),
		session("a3", "alice", "knative", t0),
		session("b1", "bob", "kubernetes-basics", t0),
	} {
		if err := db.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SaveSession(ctx, session("a1", "alice", "x", t0)); err == nil {
		t.Error("a second session with the same id was saved")
	}

	got, err := db.Session(ctx, "a2")
	if err != nil || !got.CreatedAt.Equal(t0.Add(time.Minute)) || got.LearnerID != "alice" || got.Namespace != "keiko-a2" || !got.EndedAt.IsZero() {
		t.Errorf("Session(a2) = %+v, %v", got, err)
	}
	if _, err := db.Session(ctx, "nope"); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("Session(nope) err = %v, want ENOTFOUND", err)
	}

	// The newest active session of a scenario is the one a learner resumes.
	if s, ok, err := db.ActiveSession(ctx, "alice", "kubernetes-basics"); err != nil || !ok || s.ID != "a2" {
		t.Errorf("ActiveSession = %s %v %v, want a2", s.ID, ok, err)
	}
	if err := db.EndSession(ctx, "a2", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s, ok, err := db.ActiveSession(ctx, "alice", "kubernetes-basics"); err != nil || !ok || s.ID != "a1" {
		t.Errorf("after ending a2, ActiveSession = %s %v %v, want a1", s.ID, ok, err)
	}
	if _, ok, err := db.ActiveSession(ctx, "carol", "kubernetes-basics"); ok || err != nil {
		t.Errorf("ActiveSession of a stranger = %v %v", ok, err)
	}
	if err := db.EndSession(ctx, "a2", t0); keiko.ErrorCode(err) != keiko.ENOTFOUND {
		t.Errorf("ending an ended session: err = %v, want ENOTFOUND", err)
	}
	if err := db.ExtendSession(ctx, "a1", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}

	// Everything survives closing and reopening the file.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, path)
	defer db.Close()
	if s, _ := db.Session(ctx, "a1"); !s.ExpiresAt.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("extended deadline after reopen = %v", s.ExpiresAt)
	}
	if s, _ := db.Session(ctx, "a2"); !s.EndedAt.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("end after reopen = %v", s.EndedAt)
	}
}

func TestProgressAndEvents(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "keiko.db"))
	defer db.Close()
	ctx := context.Background()
	if err := db.SaveSession(ctx, session("s1", "alice", "kubernetes-basics", t0)); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		step   int
		status keiko.StepStatus
	}{
		{0, keiko.StepPassed},
		{1, keiko.StepSkipped},
		{1, keiko.StepPassed},  // a skipped step may still be passed later
		{0, keiko.StepPending}, // a passed step stays passed
		{2, keiko.StepPending},
	} {
		if err := db.SetStep(ctx, "s1", st.step, st.status, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Progress(ctx, "s1")
	want := map[int]keiko.StepStatus{0: keiko.StepPassed, 1: keiko.StepPassed, 2: keiko.StepPending}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("Progress = %v %v, want %v", got, err, want)
	}
	if err := db.SetStep(ctx, "no-such-session", 0, keiko.StepPassed, t0); err == nil {
		t.Error("progress was recorded for a session that does not exist")
	}

	events := []keiko.Event{
		{SessionID: "s1", Kind: keiko.EventSessionStarted, Step: -1, At: t0},
		{SessionID: "s1", Kind: keiko.EventHintUsed, Step: 0, At: t0.Add(time.Second)},
		{SessionID: "s1", Kind: keiko.EventStepPassed, Step: 0, At: t0.Add(2 * time.Second)},
	}
	for _, e := range events {
		if err := db.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.Events(ctx, "s1"); err != nil || !slices.EqualFunc(got, events, func(a, b keiko.Event) bool {
		return a.SessionID == b.SessionID && a.Kind == b.Kind && a.Step == b.Step && a.At.Equal(b.At)
	}) {
		t.Errorf("Events = %+v %v, want %+v", got, err, events)
	}
}

func TestContinueSessionMovesProgressAndEndsThePrevious(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	prev := keiko.Session{ID: "s1", LearnerID: "l1", ScenarioID: "basics", Namespace: "ns1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := db.SaveSession(ctx, prev); err != nil {
		t.Fatal(err)
	}
	for step, st := range []keiko.StepStatus{keiko.StepPassed, keiko.StepSkipped} {
		if err := db.SetStep(ctx, "s1", step, st, t0.Add(time.Duration(step+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	next := keiko.Session{ID: "s2", LearnerID: "l1", ScenarioID: "basics", Namespace: "ns2", CreatedAt: t0.Add(2 * time.Hour), ExpiresAt: t0.Add(3 * time.Hour)}
	if err := db.ContinueSession(ctx, "s1", next); err != nil {
		t.Fatal(err)
	}
	active, ok, err := db.ActiveSession(ctx, "l1", "basics")
	if err != nil || !ok || active.ID != "s2" {
		t.Fatalf("active session = %v %v %v, want s2", active.ID, ok, err)
	}
	got, err := db.Progress(ctx, "s2")
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != keiko.StepPassed || got[1] != keiko.StepSkipped || len(got) != 2 {
		t.Errorf("progress of s2 = %v, want step 0 passed and 1 skipped", got)
	}
	old, err := db.Session(ctx, "s1")
	if err != nil || old.EndedAt.IsZero() {
		t.Errorf("s1 = %+v, %v; want it ended", old, err)
	}
	attempts, err := db.LearnerAttempts(ctx, "l1")
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 1 || attempts[0].Session.ID != "s2" || attempts[0].Steps[1].Status != keiko.StepSkipped {
		t.Errorf("LearnerAttempts = %+v, want only s2 with its two steps", attempts)
	}
}
