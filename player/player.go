// Package player plays scenarios in sandboxes: it provisions a sandbox
// for a scenario, runs its setup, each step's setup and solve, and
// evaluates the steps' checks. `keiko test` and learners' sessions share
// it, so what the tests prove is what learners get.
package player

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/sandbox/check"
)

// Sandboxes provisions learners' namespaces.
type Sandboxes interface {
	Provision(ctx context.Context, req sandbox.Request) (*sandbox.Sandbox, error)
	Apply(ctx context.Context, ns string, manifests []byte) error
	Delete(ctx context.Context, id string) error
}

// Checks evaluates checks, now or as the namespace changes.
type Checks interface {
	Evaluate(ctx context.Context, t check.Target, checks []keiko.Check) []keiko.CheckResult
	Watch(ctx context.Context, t check.Target, checks []keiko.Check, report func([]keiko.CheckResult))
}

// Player is the three together, plus the learner's environment for
// scripts.
type Player struct {
	Sandboxes Sandboxes
	Checks    Checks
	Scripts   check.ScriptRunner
}

// Progress hears what a slow start is doing, so a learner watching it is
// told: a phase, and for the step phases the step's index.
type Progress func(phase string, step int)

// The phases of a start, in order.
const (
	PhaseSandbox = "sandbox" // provisioning the namespace, or claiming one from the warm pool
	PhaseSetup   = "setup"   // the scenario's setup
	PhaseReplay  = "replay"  // redoing a step already done, in a new sandbox
	PhaseStep    = "step"    // the current step's setup
)

func (f Progress) say(phase string, step int) {
	if f != nil {
		f(phase, step)
	}
}

// Start provisions a sandbox for sc, applies its setup manifests and runs
// its setup script.
func (p *Player) Start(ctx context.Context, sc *keiko.Scenario, learner string, progress Progress) (*sandbox.Sandbox, error) {
	progress.say(PhaseSandbox, -1)
	sb, err := p.Sandboxes.Provision(ctx, sandbox.Request{
		LearnerID:   learner,
		ScenarioID:  sc.ID,
		Size:        sc.Sandbox.Size,
		PodSecurity: sc.Sandbox.PodSecurity,
		Setup:       []byte(sc.Setup.Manifests),
	})
	if err != nil {
		return nil, err
	}
	progress.say(PhaseSetup, -1)
	if err := p.script(ctx, sb, "setup", sc.Setup.Script); err != nil {
		_ = p.Sandboxes.Delete(context.WithoutCancel(ctx), sb.ID)
		return nil, err
	}
	return sb, nil
}

// FastForward brings a new sandbox to a learner's progress: the first done
// steps are set up and solved again, in order, so the cluster holds what
// the learner had built; then the step they are on is set up. A learner
// whose sandbox expired or whose server restarted continues where they
// were instead of starting over.
func (p *Player) FastForward(ctx context.Context, sb *sandbox.Sandbox, sc *keiko.Scenario, done int, progress Progress) error {
	for _, st := range sc.Steps[:min(done, len(sc.Steps))] {
		progress.say(PhaseReplay, st.Index)
		if err := p.Enter(ctx, sb, st); err != nil {
			return err
		}
		if err := p.Solve(ctx, sb, st); err != nil {
			return err
		}
	}
	if done < len(sc.Steps) {
		progress.say(PhaseStep, done)
		return p.Enter(ctx, sb, sc.Steps[done])
	}
	return nil
}

// Enter runs a step's setup, when the learner reaches it.
func (p *Player) Enter(ctx context.Context, sb *sandbox.Sandbox, st keiko.Step) error {
	return p.act(ctx, sb, fmt.Sprintf("step %d setup", st.Index+1), st.Setup)
}

// Solve does a step for the learner.
func (p *Player) Solve(ctx context.Context, sb *sandbox.Sandbox, st keiko.Step) error {
	return p.act(ctx, sb, fmt.Sprintf("step %d solve", st.Index+1), st.Solve)
}

// Check evaluates a step's checks now.
func (p *Player) Check(ctx context.Context, sb *sandbox.Sandbox, st keiko.Step, lang string) []keiko.CheckResult {
	return p.Checks.Evaluate(ctx, Target(sb, lang), st.Checks)
}

// Target is where a sandbox's checks run.
func Target(sb *sandbox.Sandbox, lang string) check.Target {
	return check.Target{Namespace: sb.Namespace, Session: sb.ID, Kubeconfig: sb.Kubeconfig, Lang: lang}
}

func (p *Player) act(ctx context.Context, sb *sandbox.Sandbox, what string, a keiko.Action) error {
	if strings.TrimSpace(a.Manifests) != "" {
		if err := p.Sandboxes.Apply(ctx, sb.Namespace, []byte(a.Manifests)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return p.script(ctx, sb, what, a.Script)
}

// scriptTimeout bounds a setup or solve script.
const scriptTimeout = 2 * time.Minute

func (p *Player) script(ctx context.Context, sb *sandbox.Sandbox, what, script string) error {
	if strings.TrimSpace(script) == "" {
		return nil
	}
	if p.Scripts == nil {
		return keiko.Errorf(keiko.EUNAVAILABLE, "The %s needs a shell to run its script, and this server has none.", what)
	}
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout)
	defer cancel()
	code, out, err := p.Scripts.Run(ctx, sb.ID, sb.Kubeconfig, script)
	switch {
	case err != nil:
		return fmt.Errorf("%s script: %w", what, err)
	case code != 0:
		return fmt.Errorf("%s script exited %d: %s", what, code, lastLines(out, 10))
	}
	return nil
}

// lastLines keeps the end of a script's output, where its error is.
func lastLines(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// TestOptions tune Test.
type TestOptions struct {
	// StepTimeout is how long a step's checks may take to pass after its
	// solve; default one minute.
	StepTimeout time.Duration
	Progress    io.Writer
}

// Test plays sc from start to finish in a fresh sandbox, as an automated
// learner: for every step it requires that the checks fail, runs the
// solve, and requires that the checks then pass. A check that passes
// before its step is solved cannot tell whether the learner did anything;
// one that never passes after the solve would strand learners. The
// sandbox is deleted at the end.
func (p *Player) Test(ctx context.Context, sc *keiko.Scenario, opts TestOptions) error {
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = time.Minute
	}
	say := func(format string, a ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "  "+format+"\n", a...)
		}
	}
	t0 := time.Now()
	sb, err := p.Start(ctx, sc, "keiko-test", nil)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { _ = p.Sandboxes.Delete(context.WithoutCancel(ctx), sb.ID) }()
	say("sandbox %s ready, setup done (%s)", sb.Namespace, since(t0))

	for _, st := range sc.Steps {
		name := fmt.Sprintf("step %d (%s)", st.Index+1, st.Title.In(keiko.DefaultLanguage))
		if err := p.Enter(ctx, sb, st); err != nil {
			return err
		}
		if len(st.Checks) == 0 {
			say("%s: no checks, nothing to test", name)
			if err := p.Solve(ctx, sb, st); err != nil {
				return err
			}
			continue
		}
		before := p.Check(ctx, sb, st, keiko.DefaultLanguage)
		if keiko.Passed(before) {
			return fmt.Errorf("%s: the checks pass before the step is solved, so they cannot tell whether the learner did it", name)
		}
		say("%s: fails before its solve: %s", name, failures(before))
		if err := p.Solve(ctx, sb, st); err != nil {
			return err
		}
		t := time.Now()
		after, err := p.await(ctx, sb, st, opts.StepTimeout)
		if err != nil {
			return fmt.Errorf("%s: %w: %s", name, err, failures(after))
		}
		say("%s: passes %s after its solve", name, since(t))
	}
	say("passed in %s", since(t0))
	return nil
}

// await watches a step's checks until they all pass or timeout.
func (p *Player) await(ctx context.Context, sb *sandbox.Sandbox, st keiko.Step, timeout time.Duration) ([]keiko.CheckResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []keiko.CheckResult
	p.Checks.Watch(ctx, Target(sb, keiko.DefaultLanguage), st.Checks, func(r []keiko.CheckResult) {
		last = r
		if keiko.Passed(r) {
			cancel()
		}
	})
	if len(last) > 0 && keiko.Passed(last) { // no report at all is no pass
		return last, nil
	}
	return last, fmt.Errorf("the checks still fail %s after the solve", timeout)
}

// failures lists the failing checks' messages, with what authors need.
func failures(rs []keiko.CheckResult) string {
	var out []string
	for i, r := range rs {
		if r.Passed {
			continue
		}
		s := fmt.Sprintf("check %d: %q", i+1, r.Message)
		if r.Detail != "" {
			s += " (" + r.Detail + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
