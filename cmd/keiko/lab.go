package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/player"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/server"
	"github.com/keiko-lab/keiko/store"
	"github.com/keiko-lab/keiko/terminal"
	"github.com/keiko-lab/keiko/terminal/jail"
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
}

// newLab starts shells in j, or unjailed when j is nil (only with
// --unsafe-local-terminal).
func newLab(m *sandbox.Manager, j *jail.Jail, homes, kubectl string) *lab {
	l := &lab{sandboxes: m, removeHome: func(id string) error { return jail.RemoveHome(homes, id) }}
	if j != nil {
		l.removeHome = j.Remove
	}
	l.terms = terminal.NewRegistry(func(ctx context.Context, id string) (terminal.Backend, error) {
		sb, err := m.Kubeconfig(ctx, id)
		if err != nil {
			return nil, err
		}
		if j == nil {
			return jail.StartUnjailed(homes, kubectl, id, sb.Kubeconfig, 80, 24)
		}
		return j.Start(id, sb.Kubeconfig, 80, 24)
	}, terminal.Options{})
	return l
}

// ended closes a deleted sandbox's shell and removes its home.
func (l *lab) ended(id string) {
	l.terms.Close(id)
	_ = l.removeHome(id) // an id that names no home has nothing to remove
}

// Start provisions a sandbox for the scenario, with its setup done.
func (l *lab) Start(ctx context.Context, learnerID, scenarioID string) (keiko.Session, error) {
	sc := l.scenario(scenarioID)
	if sc == nil {
		return keiko.Session{}, keiko.Errorf(keiko.ENOTFOUND, "There is no scenario %q; GET /api/scenarios lists them.", scenarioID)
	}
	sb, err := l.player.Start(ctx, sc, learnerID)
	if err != nil {
		return keiko.Session{}, err
	}
	sess := session(sb)
	if err := l.db.SaveSession(ctx, sess); err != nil {
		_ = l.sandboxes.Delete(context.WithoutCancel(ctx), sb.ID)
		return keiko.Session{}, &keiko.Error{Code: keiko.EINTERNAL, Message: "Could not record your session.", Op: "lab.Start", Err: err}
	}
	l.event(ctx, sess.ID, keiko.EventSessionStarted, -1)
	return sess, nil
}

func session(sb *sandbox.Sandbox) keiko.Session {
	return keiko.Session{
		ID: sb.ID, LearnerID: sb.LearnerID, ScenarioID: sb.ScenarioID,
		Namespace: sb.Namespace, CreatedAt: sb.CreatedAt, ExpiresAt: sb.ExpiresAt,
	}
}

// event records an event; losing one must not fail the learner's request.
func (l *lab) event(ctx context.Context, id string, kind keiko.EventKind, step int) {
	_ = l.db.AddEvent(context.WithoutCancel(ctx), keiko.Event{SessionID: id, Kind: kind, Step: step, At: l.now()})
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

// Check evaluates a step's checks now, and records the step when they pass.
func (l *lab) Check(ctx context.Context, learnerID, id string, step int, lang string) ([]keiko.CheckResult, error) {
	sb, err := l.own(ctx, learnerID, id)
	if err != nil {
		return nil, err
	}
	sc, err := l.scenarioOf(sb)
	if err != nil {
		return nil, err
	}
	if step < 0 || step >= len(sc.Steps) {
		return nil, keiko.Errorf(keiko.EINVALID, "Step %d does not exist; %s has steps 0 to %d.", step, sc.ID, len(sc.Steps)-1)
	}
	st := sc.Steps[step]
	if slices.ContainsFunc(st.Checks, func(c keiko.Check) bool { return c.Script != "" }) {
		// Scripts run with the learner's credentials.
		if sb, err = l.sandboxes.Kubeconfig(ctx, id); err != nil {
			return nil, err
		}
	}
	results := l.player.Check(ctx, sb, st, lang)
	l.event(ctx, id, keiko.EventStepChecked, step)
	if keiko.Passed(results) {
		if err := l.db.SetStep(ctx, id, step, keiko.StepPassed, l.now()); err != nil {
			return nil, err
		}
		l.event(ctx, id, keiko.EventStepPassed, step)
	}
	return results, nil
}

// Watch follows the learner's current step live: the first one not yet
// passed. When its checks all pass, the step is recorded and the next one
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
		step := slices.IndexFunc(sc.Steps, func(st keiko.Step) bool { return progress[st.Index] != keiko.StepPassed })
		if step < 0 {
			send(server.StepEvent{Finished: true})
			<-ctx.Done()
			return nil
		}
		stepCtx, next := context.WithCancel(ctx)
		var recordErr error
		l.player.Checks.Watch(stepCtx, player.Target(sb, lang), sc.Steps[step].Checks, func(r []keiko.CheckResult) {
			send(server.StepEvent{Step: step, Results: r})
			if len(r) > 0 && keiko.Passed(r) {
				if recordErr = l.db.SetStep(ctx, id, step, keiko.StepPassed, l.now()); recordErr == nil {
					l.event(ctx, id, keiko.EventStepPassed, step)
				}
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
	l.event(ctx, id, keiko.EventFinished, -1)
	return l.db.EndSession(ctx, id, l.now())
}

// Terminal gives a session's terminal to its learner only. Anyone else is
// told it does not exist, so ids cannot be probed.
func (l *lab) Terminal(r *http.Request, id string) (*terminal.Terminal, bool, func(), error) {
	ctx := r.Context()
	sb, err := l.own(ctx, server.LearnerID(r), id)
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
	detach, err := l.sandboxes.Attach(ctx, id)
	if err != nil {
		return nil, false, nil, err
	}
	return t, false, detach, nil
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

func (p *pendingLab) Start(ctx context.Context, learnerID, scenarioID string) (keiko.Session, error) {
	l, err := p.get()
	if err != nil {
		return keiko.Session{}, err
	}
	return l.Start(ctx, learnerID, scenarioID)
}

func (p *pendingLab) Progress(ctx context.Context, learnerID, id string) (keiko.Session, map[int]keiko.StepStatus, error) {
	l, err := p.get()
	if err != nil {
		return keiko.Session{}, nil, err
	}
	return l.Progress(ctx, learnerID, id)
}

func (p *pendingLab) Check(ctx context.Context, learnerID, id string, step int, lang string) ([]keiko.CheckResult, error) {
	l, err := p.get()
	if err != nil {
		return nil, err
	}
	return l.Check(ctx, learnerID, id, step, lang)
}

func (p *pendingLab) Extend(ctx context.Context, learnerID, id string) (keiko.Session, error) {
	l, err := p.get()
	if err != nil {
		return keiko.Session{}, err
	}
	return l.Extend(ctx, learnerID, id)
}

func (p *pendingLab) End(ctx context.Context, learnerID, id string) error {
	l, err := p.get()
	if err != nil {
		return err
	}
	return l.End(ctx, learnerID, id)
}

func (p *pendingLab) Watch(ctx context.Context, learnerID, id, lang string, send func(server.StepEvent)) error {
	l, err := p.get()
	if err != nil {
		return err
	}
	return l.Watch(ctx, learnerID, id, lang, send)
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
