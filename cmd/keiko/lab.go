package main

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/metrics"
	"github.com/keiko-lab/keiko/player"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/server"
	"github.com/keiko-lab/keiko/store"
	"github.com/keiko-lab/keiko/terminal"
	"github.com/keiko-lab/keiko/webhook"
)

// lab joins the adapters for serve: a session is a sandbox, and its
// terminal is a shell whose kubeconfig is the sandbox's. It implements
// server.Sessions and server.Terminals.
type lab struct {
	sandboxes  *sandbox.Manager
	player     *player.Player
	scenario   func(id string) *keiko.Scenario // nil when there is no such scenario
	db         *store.DB
	extendBy   time.Duration
	now        func() time.Time
	terms      *terminal.Registry
	removeHome func(id string) error
	off        error  // why terminals are refused, if they are
	warning    string // shown on terminal pages, for unjailed shells
	observers
	// starting serialises starts per learner and scenario, so two tabs
	// opened at once share one session instead of making two.
	starting keyedMutex
	moved    signals // fired when a session's learner moves on a step
}

// newLab opens learners' terminals with sh.
func newLab(m *sandbox.Manager, sh shells) *lab {
	l := &lab{sandboxes: m, removeHome: sh.remove, off: sh.off, warning: sh.warning}
	l.terms = terminal.NewRegistry(sh.start, terminal.Options{})
	return l
}

// ended closes a deleted sandbox's shell and removes its home.
func (l *lab) ended(id string) {
	l.terms.Close(id)
	l.moved.fire(id)     // frees its channel; a watch of it ends anyway
	_ = l.removeHome(id) // an id that names no home has nothing to remove
}

// Start gives the learner their running session of the scenario, or a
// new sandbox. A learner whose last session's sandbox is gone (it expired,
// or the server restarted and reaped it) continues in the new one: it is
// fast-forwarded through the steps they had done, and takes over their
// progress.
func (l *lab) Start(ctx context.Context, learnerID, scenarioID string, progress func(string, int)) (keiko.Session, bool, error) {
	sc := l.scenario(scenarioID)
	if sc == nil {
		return keiko.Session{}, false, keiko.Errorf(keiko.ENOTFOUND, "There is no scenario %q; GET /api/scenarios lists them.", scenarioID)
	}
	unlock := l.starting.lock(learnerID + "/" + scenarioID)
	defer unlock()

	prev, found, err := l.db.ActiveSession(ctx, learnerID, scenarioID)
	if err != nil {
		return keiko.Session{}, false, err
	}
	done := 0
	if found {
		sb, err := l.own(ctx, learnerID, prev.ID)
		switch {
		case err == nil && sb.State == sandbox.StateReady:
			return prev, true, nil
		case err != nil && keiko.ErrorCode(err) != keiko.ENOTFOUND:
			// The cluster cannot say: a second sandbox would be a guess.
			return keiko.Session{}, false, err
		}
		p, err := l.db.Progress(ctx, prev.ID)
		if err != nil {
			return keiko.Session{}, false, err
		}
		done = doneSteps(sc, p)
	}

	t0 := l.now()
	sb, err := l.player.Start(ctx, sc, learnerID, progress)
	if err != nil {
		return keiko.Session{}, false, err
	}
	l.metrics.ObserveProvision(l.now().Sub(t0), sb.Warm)
	fail := func(err error) (keiko.Session, bool, error) {
		_ = l.sandboxes.Delete(context.WithoutCancel(ctx), sb.ID)
		return keiko.Session{}, false, err
	}
	if err := l.player.FastForward(ctx, sb, sc, done, progress); err != nil {
		return fail(err)
	}
	sess := session(sb)
	if found {
		sess.WorkshopID = prev.WorkshopID
		err = l.db.ContinueSession(ctx, prev.ID, sess)
	} else {
		sess.WorkshopID = l.workshopFor(ctx, learnerID, scenarioID)
		err = l.db.SaveSession(ctx, sess)
	}
	if err != nil {
		return fail(&keiko.Error{Code: keiko.EINTERNAL, Message: "Could not record your session.", Op: "lab.Start", Err: err})
	}
	l.event(ctx, sess, keiko.EventSessionStarted, -1)
	return sess, false, nil
}

// workshopFor is the workshop a new session counts for: the learner's,
// when it is open and offers the scenario.
func (l *lab) workshopFor(ctx context.Context, learnerID, scenarioID string) string {
	w, ok, err := l.db.Membership(ctx, learnerID)
	if err != nil || !ok || !w.OpenAt(l.now()) || !slices.Contains(w.Scenarios, scenarioID) {
		return ""
	}
	return w.ID
}

// doneSteps is how many steps from the first are done, passed or skipped:
// the learner is on the next one.
func doneSteps(sc *keiko.Scenario, p map[int]keiko.StepStatus) int {
	for i, st := range sc.Steps {
		if s := p[st.Index]; s != keiko.StepPassed && s != keiko.StepSkipped {
			return i
		}
	}
	return len(sc.Steps)
}

func session(sb *sandbox.Sandbox) keiko.Session {
	return keiko.Session{
		ID: sb.ID, LearnerID: sb.LearnerID, ScenarioID: sb.ScenarioID,
		Namespace: sb.Namespace, CreatedAt: sb.CreatedAt, ExpiresAt: sb.ExpiresAt,
	}
}

// event records an event and posts it to the webhook; losing one must
// not fail the learner's request.
func (l *lab) event(ctx context.Context, sess keiko.Session, kind keiko.EventKind, step int) {
	at := l.now()
	if err := l.db.AddEvent(context.WithoutCancel(ctx), keiko.Event{SessionID: sess.ID, Kind: kind, Step: step, At: at}); err != nil {
		l.log.Warn("event not recorded", "session", sess.ID, "kind", kind, "err", err)
	}
	e := webhook.Event{Name: string(kind), Timestamp: at, Session: sess.ID, Learner: sess.LearnerID, Scenario: sess.ScenarioID, Workshop: sess.WorkshopID}
	if step >= 0 {
		e.Step = &step
	}
	l.webhook.Post(e)
}

// stepEvent records an event of a step in the session with this id.
func (l *lab) stepEvent(ctx context.Context, id string, kind keiko.EventKind, step int) {
	sess, err := l.db.Session(context.WithoutCancel(ctx), id)
	if err != nil {
		sess = keiko.Session{ID: id}
	}
	l.event(ctx, sess, kind, step)
}

// own returns the learner's live sandbox; anyone else is told it does not
// exist, so ids cannot be probed.
func (l *lab) own(ctx context.Context, learnerID, id string) (*sandbox.Sandbox, error) {
	sb, err := l.sandboxes.Get(ctx, id)
	if err != nil && keiko.ErrorCode(err) != keiko.ENOTFOUND {
		return nil, err // the cluster's trouble, which says nothing about the id
	}
	if err != nil || learnerID == "" || sb.LearnerID != learnerID {
		return nil, noSession(id)
	}
	return sb, nil
}

func noSession(id string) error {
	return keiko.Errorf(keiko.ENOTFOUND, "No lab environment %q: it may have expired.", id)
}

// scenarioOf is the scenario a sandbox was started for.
func (l *lab) scenarioOf(sb *sandbox.Sandbox) (*keiko.Scenario, error) {
	if sc := l.scenario(sb.ScenarioID); sc != nil {
		return sc, nil
	}
	return nil, keiko.Errorf(keiko.ENOTFOUND, "Scenario %q is no longer offered.", sb.ScenarioID)
}

// Progress is the learner's session with its steps' status.
func (l *lab) Progress(ctx context.Context, learnerID, id string) (keiko.Session, map[int]keiko.StepStatus, error) {
	sb, err := l.own(ctx, learnerID, id)
	if err != nil {
		return keiko.Session{}, nil, err
	}
	p, err := l.db.Progress(ctx, id)
	if err != nil {
		return keiko.Session{}, nil, err
	}
	return session(sb), p, nil
}

// step is the learner's sandbox, its scenario and one of its steps.
func (l *lab) step(ctx context.Context, learnerID, id string, step int) (*sandbox.Sandbox, *keiko.Scenario, error) {
	sb, err := l.own(ctx, learnerID, id)
	if err != nil {
		return nil, nil, err
	}
	sc, err := l.scenarioOf(sb)
	if err != nil {
		return nil, nil, err
	}
	if step < 0 || step >= len(sc.Steps) {
		return nil, nil, keiko.Errorf(keiko.EINVALID, "Step %d does not exist; %s has steps 0 to %d.", step, sc.ID, len(sc.Steps)-1)
	}
	return sb, sc, nil
}

// Check evaluates a step's checks now, and records the step when they pass.
func (l *lab) Check(ctx context.Context, learnerID, id string, step int, lang string) ([]keiko.CheckResult, error) {
	sb, sc, err := l.step(ctx, learnerID, id, step)
	if err != nil {
		return nil, err
	}
	st := sc.Steps[step]
	if slices.ContainsFunc(st.Checks, func(c keiko.Check) bool { return c.Script != "" }) {
		// Scripts run with the learner's credentials.
		if sb, err = l.sandboxes.Kubeconfig(ctx, id); err != nil {
			return nil, err
		}
	}
	t0 := l.now()
	results := l.player.Check(ctx, sb, st, lang)
	l.metrics.ObserveCheck(l.now().Sub(t0))
	l.stepEvent(ctx, id, keiko.EventStepChecked, step)
	if keiko.Passed(results) {
		if err := l.finishStep(ctx, sb, sc, step, keiko.StepPassed); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// finishStep records a step as passed or skipped and sets up the next
// one, which the learner is now on. A step already done is left alone,
// so the next step's setup runs once.
func (l *lab) finishStep(ctx context.Context, sb *sandbox.Sandbox, sc *keiko.Scenario, step int, status keiko.StepStatus) error {
	before, err := l.db.Progress(ctx, sb.ID)
	if err != nil {
		return err
	}
	if s := before[step]; s == keiko.StepPassed || s == keiko.StepSkipped {
		return nil
	}
	if err := l.db.SetStep(ctx, sb.ID, step, status, l.now()); err != nil {
		return err
	}
	kind := keiko.EventStepPassed
	if status == keiko.StepSkipped {
		kind = keiko.EventStepSkipped
	}
	l.stepEvent(ctx, sb.ID, kind, step)
	l.moved.fire(sb.ID)
	if next := step + 1; next < len(sc.Steps) && doneSteps(sc, before) == step {
		return l.player.Enter(ctx, sb, sc.Steps[next])
	}
	return nil
}

// Skip moves the learner past a step, when the scenario allows it.
func (l *lab) Skip(ctx context.Context, learnerID, id string, step int) error {
	sb, sc, err := l.step(ctx, learnerID, id, step)
	if err != nil {
		return err
	}
	if !sc.Allow.Skip {
		return keiko.Errorf(keiko.ECONFLICT, "This scenario does not let you skip steps: make the step's checks pass, or ask your instructor.")
	}
	if sb, err = l.sandboxes.Kubeconfig(ctx, id); err != nil {
		return err
	}
	return l.finishStep(ctx, sb, sc, step, keiko.StepSkipped)
}

// Solve does a step in the learner's sandbox, when the scenario allows
// it. The step then passes as any other: its checks see the result.
func (l *lab) Solve(ctx context.Context, learnerID, id string, step int) error {
	_, sc, err := l.step(ctx, learnerID, id, step)
	if err != nil {
		return err
	}
	if !sc.Allow.Solve {
		return keiko.Errorf(keiko.ECONFLICT, "This scenario does not offer solutions: use the hint, or ask your instructor.")
	}
	sb, err := l.sandboxes.Kubeconfig(ctx, id)
	if err != nil {
		return err
	}
	l.stepEvent(ctx, id, keiko.EventSolveUsed, step)
	if err := l.player.Solve(ctx, sb, sc.Steps[step]); err != nil {
		return &keiko.Error{Code: keiko.EINTERNAL, Message: "The solution did not run; try the step by hand.", Op: "lab.Solve", Err: err}
	}
	return nil
}

// Hint records that the learner opened a step's hint.
func (l *lab) Hint(ctx context.Context, learnerID, id string, step int) error {
	if _, _, err := l.step(ctx, learnerID, id, step); err != nil {
		return err
	}
	l.stepEvent(ctx, id, keiko.EventHintUsed, step)
	return nil
}

// Mine is the learner's progress in each scenario they have started.
func (l *lab) Mine(ctx context.Context, learnerID string) (map[string]server.ScenarioProgress, error) {
	attempts, err := l.db.LearnerAttempts(ctx, learnerID)
	if err != nil {
		return nil, err
	}
	out := map[string]server.ScenarioProgress{}
	for _, a := range attempts {
		p := server.ScenarioProgress{Active: a.Session.EndedAt.IsZero() && !a.Session.Expired(l.now())}
		if sc := l.scenario(a.Session.ScenarioID); sc != nil {
			steps := map[int]keiko.StepStatus{}
			for i, r := range a.Steps {
				steps[i] = r.Status
			}
			p.Done, p.Total = doneSteps(sc, steps), len(sc.Steps)
		}
		out[a.Session.ScenarioID] = p
	}
	return out, nil
}

// Missing lists what of requires the cluster lacks. A cluster that cannot
// say is taken to have it all: starting will then say what is wrong.
func (l *lab) Missing(requires []string) []string {
	missing, err := l.sandboxes.Missing(requires)
	if err != nil {
		return nil
	}
	return missing
}

// Watch follows the learner's current step live: the first one not yet
// done. When its checks all pass, the step is recorded and the next one
// is watched, until the last.
func (l *lab) Watch(ctx context.Context, learnerID, id, lang string, send func(server.StepEvent)) error {
	sb, err := l.own(ctx, learnerID, id)
	if err != nil {
		return err
	}
	sc, err := l.scenarioOf(sb)
	if err != nil {
		return err
	}
	// Scripts run with the learner's credentials; one token serves the
	// whole stream.
	if sb, err = l.sandboxes.Kubeconfig(ctx, id); err != nil {
		return err
	}
	for ctx.Err() == nil {
		progress, err := l.db.Progress(ctx, id)
		if err != nil {
			return err
		}
		step := doneSteps(sc, progress)
		if step == len(sc.Steps) {
			send(server.StepEvent{Finished: true})
			<-ctx.Done()
			return nil
		}
		stepCtx, next := context.WithCancel(ctx)
		// A skip elsewhere moves the learner on without this step's
		// checks passing.
		go func(moved <-chan struct{}) {
			select {
			case <-moved:
				next()
			case <-stepCtx.Done():
			}
		}(l.moved.wait(id))
		var recordErr error
		l.player.Checks.Watch(stepCtx, player.Target(sb, lang), sc.Steps[step].Checks, func(r []keiko.CheckResult) {
			send(server.StepEvent{Step: step, Results: r})
			if len(r) > 0 && keiko.Passed(r) {
				recordErr = l.finishStep(ctx, sb, sc, step, keiko.StepPassed)
				next()
			}
		})
		next()
		if recordErr != nil {
			return recordErr
		}
	}
	return nil
}

// Extend gives the learner more time.
func (l *lab) Extend(ctx context.Context, learnerID, id string) (keiko.Session, error) {
	if _, err := l.own(ctx, learnerID, id); err != nil {
		return keiko.Session{}, err
	}
	sb, err := l.sandboxes.Extend(ctx, id, l.extendBy)
	if err != nil {
		return keiko.Session{}, err
	}
	if err := l.db.ExtendSession(ctx, id, sb.ExpiresAt); err != nil {
		return keiko.Session{}, err
	}
	return session(sb), nil
}

// End deletes the learner's sandbox; their progress stays recorded.
func (l *lab) End(ctx context.Context, learnerID, id string) error {
	if _, err := l.own(ctx, learnerID, id); err != nil {
		return err
	}
	if err := l.sandboxes.Delete(ctx, id); err != nil {
		return err
	}
	l.stepEvent(ctx, id, keiko.EventFinished, -1)
	return l.db.EndSession(ctx, id, l.now())
}

// Terminal gives a session's terminal to its learner, and read-only to
// its workshop's instructors and to admins. Anyone else is told it does
// not exist, so ids cannot be probed.
func (l *lab) Terminal(r *http.Request, id string) (*terminal.Terminal, bool, func(), error) {
	ctx := r.Context()
	readOnly := false
	sb, err := l.own(ctx, server.LearnerID(r), id)
	if keiko.ErrorCode(err) == keiko.ENOTFOUND && l.watches(ctx, r, id) {
		sb, err = l.sandboxes.Get(ctx, id)
		readOnly = true
	}
	if err != nil {
		return nil, false, nil, err
	}
	if sb.State != sandbox.StateReady {
		return nil, false, nil, noSession(id)
	}
	if l.off != nil {
		return nil, false, nil, keiko.Errorf(keiko.EUNAVAILABLE, "Terminals are off on this server: %v", l.off)
	}
	t, err := l.terms.Get(ctx, id)
	if err != nil {
		return nil, false, nil, &keiko.Error{Code: keiko.EINTERNAL, Message: "Could not start your terminal.", Op: "lab.Terminal", Err: err}
	}
	if readOnly {
		// Watching keeps no sandbox alive: the learner's absence is
		// still an orphan.
		return t, true, func() {}, nil
	}
	detach, err := l.sandboxes.Attach(ctx, id)
	if err != nil {
		return nil, false, nil, err
	}
	l.metrics.TerminalOpened()
	return t, false, func() { detach(); l.metrics.TerminalClosed() }, nil
}

// watches reports whether the staff member making r may watch the
// session: an admin, or the instructor who owns its workshop.
func (l *lab) watches(ctx context.Context, r *http.Request, id string) bool {
	who, ok := server.StaffOf(r)
	if !ok {
		return false
	}
	if who.Admin() {
		return true
	}
	sess, err := l.db.Session(ctx, id)
	if err != nil || sess.WorkshopID == "" {
		return false
	}
	w, err := l.db.Workshop(ctx, sess.WorkshopID)
	return err == nil && w.Owner == who.Name
}

// Capacity is how full the cluster is, for the admin page.
func (l *lab) Capacity(context.Context) (server.Capacity, error) {
	maxSandboxes, poolSize := l.sandboxes.Limits()
	return server.Capacity{
		Sandboxes: l.sandboxes.Live(), MaxSandboxes: maxSandboxes,
		PoolReady: l.sandboxes.PoolLevel(), PoolSize: poolSize, Terminals: l.terms.Len(),
	}, nil
}

// pendingLab stands in for the lab until the cluster is ready: the web
// server answers from the first second, and learners who come early are
// told to wait rather than refused.
type pendingLab struct {
	mu  sync.Mutex
	lab *lab
}

func (p *pendingLab) ready(l *lab) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lab = l
}

func (p *pendingLab) get() (*lab, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lab == nil {
		return nil, keiko.Errorf(keiko.EUNAVAILABLE, "Keiko is still starting; try again in a few seconds.")
	}
	return p.lab, nil
}

func (p *pendingLab) Start(ctx context.Context, learnerID, scenarioID string, progress func(string, int)) (keiko.Session, bool, error) {
	l, err := p.get()
	if err != nil {
		return keiko.Session{}, false, err
	}
	return l.Start(ctx, learnerID, scenarioID, progress)
}

// withLab calls f with the lab once it is ready; until then it returns
// get's error.
func withLab[T any](p *pendingLab, f func(*lab) (T, error)) (T, error) {
	l, err := p.get()
	if err != nil {
		var zero T
		return zero, err
	}
	return f(l)
}

// doLab is withLab for calls that return only an error.
func doLab(p *pendingLab, f func(*lab) error) error {
	_, err := withLab(p, func(l *lab) (struct{}, error) { return struct{}{}, f(l) })
	return err
}

func (p *pendingLab) Skip(ctx context.Context, learnerID, id string, step int) error {
	return doLab(p, func(l *lab) error { return l.Skip(ctx, learnerID, id, step) })
}

func (p *pendingLab) Solve(ctx context.Context, learnerID, id string, step int) error {
	return doLab(p, func(l *lab) error { return l.Solve(ctx, learnerID, id, step) })
}

func (p *pendingLab) Hint(ctx context.Context, learnerID, id string, step int) error {
	return doLab(p, func(l *lab) error { return l.Hint(ctx, learnerID, id, step) })
}

func (p *pendingLab) Mine(ctx context.Context, learnerID string) (map[string]server.ScenarioProgress, error) {
	return withLab(p, func(l *lab) (map[string]server.ScenarioProgress, error) { return l.Mine(ctx, learnerID) })
}

func (p *pendingLab) Missing(requires []string) []string {
	l, err := p.get()
	if err != nil {
		return nil
	}
	return l.Missing(requires)
}

// capacity is Capacity for gauges, which have no error to give: zero
// until the lab is ready.
func (p *pendingLab) capacity() server.Capacity {
	c, _ := p.Capacity(context.Background())
	return c
}

func (p *pendingLab) Capacity(ctx context.Context) (server.Capacity, error) {
	return withLab(p, func(l *lab) (server.Capacity, error) { return l.Capacity(ctx) })
}

func (p *pendingLab) Progress(ctx context.Context, learnerID, id string) (keiko.Session, map[int]keiko.StepStatus, error) {
	l, err := p.get()
	if err != nil {
		return keiko.Session{}, nil, err
	}
	return l.Progress(ctx, learnerID, id)
}

func (p *pendingLab) Check(ctx context.Context, learnerID, id string, step int, lang string) ([]keiko.CheckResult, error) {
	return withLab(p, func(l *lab) ([]keiko.CheckResult, error) { return l.Check(ctx, learnerID, id, step, lang) })
}

func (p *pendingLab) Extend(ctx context.Context, learnerID, id string) (keiko.Session, error) {
	return withLab(p, func(l *lab) (keiko.Session, error) { return l.Extend(ctx, learnerID, id) })
}

func (p *pendingLab) End(ctx context.Context, learnerID, id string) error {
	return doLab(p, func(l *lab) error { return l.End(ctx, learnerID, id) })
}

func (p *pendingLab) Watch(ctx context.Context, learnerID, id, lang string, send func(server.StepEvent)) error {
	return doLab(p, func(l *lab) error { return l.Watch(ctx, learnerID, id, lang, send) })
}

func (p *pendingLab) Terminal(r *http.Request, id string) (*terminal.Terminal, bool, func(), error) {
	l, err := p.get()
	if err != nil {
		return nil, false, nil, err
	}
	return l.Terminal(r, id)
}

// TerminalWarning is shown on terminal pages: empty unless shells run
// unjailed.
func (p *pendingLab) TerminalWarning() string {
	if l, err := p.get(); err == nil {
		return l.warning
	}
	return ""
}

// close ends every shell, at shutdown.
func (p *pendingLab) close() {
	if l, err := p.get(); err == nil {
		l.terms.CloseAll()
	}
}

// observers hear what the lab does.
type observers struct {
	metrics *metrics.Metrics
	webhook *webhook.Poster
	log     *slog.Logger
}

// keyedMutex is a mutex per key, dropped when nobody holds it.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// signals are one-shot broadcasts by key: wait returns a channel that
// the next fire of its key closes.
type signals struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func (s *signals) wait(key string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[string]chan struct{}{}
	}
	c, ok := s.ch[key]
	if !ok {
		c = make(chan struct{})
		s.ch[key] = c
	}
	return c
}

func (s *signals) fire(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.ch[key]; ok {
		close(c)
		delete(s.ch, key)
	}
}
