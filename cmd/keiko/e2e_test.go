package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeouts of the browser test. Each bounds one wait, generously; the
// whole test takes about a minute.
const (
	e2ePage     = 15 * time.Second // a page loads and renders
	e2eStart    = 60 * time.Second // a sandbox is provisioned and its shell prompts
	e2eStep     = 45 * time.Second // a step's checks pass once its commands ran
	e2eGridSeen = 20 * time.Second // the instructor's grid shows a new learner
)

const e2eInstructorPassword = "e2e-instructor-secret"

// The built-in scenario the test plays through, and, per step, the
// click-to-run blocks (by the start of their command) that solve it.
const e2eScenario = "kubernetes-basics"

var e2eSolutions = [][]string{
	{"kubectl run hello --image=nginx:1.27", "kubectl label pod hello env=lab"},
	{"kubectl delete pod hello", "kubectl create deployment web --image=nginx:1.27 --replicas=2"},
	{"kubectl label pods -l app=web original=true", "kubectl delete pod $(kubectl get pods -l app=web,original=true"},
	{"kubectl expose deployment web --port=80 --target-port=80"},
	{"kubectl scale deployment web --replicas=4"},
	{"kubectl set image deployment/web nginx=nginx:1.28", "kubectl rollout status deployment/web", "kubectl rollout undo deployment/web", "kubectl rollout status deployment/web"},
	{"cat > ~/web.yaml <<'EOF'", "kubectl apply -f ~/web.yaml"},
}

// TestE2EBrowser drives a real browser through Keiko as learners and an
// instructor use it: a real `keiko serve`, its embedded cluster, a SQLite
// file and jailed shells, and Debian's chromium.
func TestE2EBrowser(t *testing.T) {
	chromium := findChromium(t)
	artifacts := artifactsDir(t)
	t.Logf("artifacts: %s", artifacts)

	base, serverLog := startE2EServe(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.WindowSize(1366, 800),
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // chromium refuses to sandbox as root
	}
	allocCtx, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(stopAlloc)
	browserCtx, closeBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(closeBrowser)
	learner := newTab(t, browserCtx, "learner", artifacts)
	// A second browser context is a second learner: it has cookies of its own.
	learner2Ctx, closeLearner2 := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(closeLearner2)
	learner2 := newTab(t, learner2Ctx, "learner2", artifacts)
	tabs := []*tab{learner, learner2}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, b := range tabs {
			b.t = t // the sub-test that last used it has ended
			b.dump()
		}
		tail := serverLog.String()
		if len(tail) > 20000 {
			tail = tail[len(tail)-20000:]
		}
		p := filepath.Join(artifacts, "failure-server.log")
		if os.WriteFile(p, []byte(tail), 0o644) == nil {
			t.Logf("server log tail: %s", p)
		}
	})

	// Each sub-step builds on the one before.
	steps := []struct {
		name string
		f    func(t *testing.T)
	}{
		{"catalog", func(t *testing.T) { e2eCatalog(t, learner, base) }},
		{"start the scenario", func(t *testing.T) { e2eStartScenario(t, learner) }},
		{"step 1 turns green by itself", func(t *testing.T) { e2eStep1(t, learner) }},
		{"step 2", func(t *testing.T) {
			learner.t = t
			clickNext(learner, 0)
			e2eSolveStep(t, learner, 1)
		}},
		{"reload resumes the session and terminal", func(t *testing.T) { e2eReload(t, learner) }},
		{"steps 3 to 7 and the finish page", func(t *testing.T) { e2eRest(t, learner) }},
		{"workshop", func(t *testing.T) { e2eWorkshop(t, learner, learner2, base) }},
	}
	for _, s := range steps {
		// A sub-step that stopped short (t.Fatal) leaves the next one
		// nothing to build on; one that only reported errors does not.
		finished := false
		t.Run(s.name, func(t *testing.T) { s.f(t); finished = true })
		if !finished {
			return
		}
	}
	for _, b := range tabs {
		b.t = t
		if ex := b.exceptions(); len(ex) > 0 {
			t.Errorf("%s: the page's scripts threw:\n%s", b.name, strings.Join(ex, "\n"))
		}
	}
}

// startE2EServe runs `keiko serve` as an operator would, on free ports,
// with a fresh data directory, and waits until it is ready.
func startE2EServe(t *testing.T) (base string, log *syncBuffer) {
	t.Helper()
	port, dataDir := embeddedServe(t)
	out := &syncBuffer{}
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve",
		"--addr", "127.0.0.1:0",
		"--data-dir", dataDir,
		"--cluster-port", strconv.Itoa(port),
		"--instructor-password", e2eInstructorPassword,
		"--log-level", "debug", // requests too, for a failure's log tail
	})
	cmd.SetOut(out)
	cmd.SetErr(out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("keiko serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("keiko serve did not stop within 30s of cancel")
		}
	})
	base = waitFor(t, out, regexp.MustCompile(`Keiko is starting on (http://\S+)`))
	waitForLong(t, out, regexp.MustCompile(`Keiko is ready: http://`))
	t.Logf("keiko serve is ready at %s (data in %s)", base, dataDir)
	return base, out
}

// e2eCatalog opens the catalog and follows the scenario's card to its page.
func e2eCatalog(t *testing.T, b *tab, base string) {
	b.t = t
	card := fmt.Sprintf(`a[href="/scenarios/%s"]`, e2eScenario)
	b.do(e2ePage, "open the catalog", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(card)))
	b.waitJS(e2ePage, "the cluster to show as ready", `document.querySelector('.state.ready') !== null`, `document.querySelector('main').innerText`)
	b.shot("01-catalog", true)

	b.clickNav("click the scenario's card", chromedp.CSS(card))
	start := fmt.Sprintf(`a[href="/scenarios/%s/play"]`, e2eScenario)
	b.do(e2ePage, "see the scenario page", chromedp.WaitVisible(chromedp.CSS(start)))
	b.shot("02-scenario", false)
}

// e2eStartScenario clicks Start and waits for provisioning, then for the
// shell's prompt in the terminal.
func e2eStartScenario(t *testing.T, b *tab) {
	b.t = t
	b.clickNav("click Start", chromedp.CSS(fmt.Sprintf(`a[href="/scenarios/%s/play"]`, e2eScenario)))
	// The phases stay in the page once the session is there, so this sees
	// them however fast a warm sandbox is handed out.
	b.waitJS(e2eStart, "the provisioning phases", `document.querySelectorAll('#phases li').length > 0`, `document.querySelector('#instructions').innerText`)
	b.waitJS(e2eStart, "the session to open", `document.querySelector('#provisioning').hidden && !document.querySelector('article[data-page="intro"]').hidden`, `document.querySelector('#instructions').innerText`)
	phases := eval[string](b, e2ePage, `Array.from(document.querySelectorAll('#phases li')).map(li => li.textContent + ' (' + li.className + ')').join('; ')`)
	t.Logf("provisioning phases: %s", phases)
	if strings.Contains(phases, "doing") {
		t.Errorf("a provisioning phase is still shown as in progress after the session opened: %s", phases)
	}
	waitPrompt(b, e2eStart)
	b.waitJS(e2ePage, "the terminal status to say connected", `document.querySelector('#term-status').dataset.state === 'connected'`, `document.querySelector('#term-status').dataset.state`)
	b.shot("03-terminal-ready", false)
}

// waitPrompt waits for the jailed shell's prompt, learner@keiko:~$.
func waitPrompt(b *tab, d time.Duration) {
	b.t.Helper()
	b.waitJS(d, "the shell's prompt in the terminal", `/learner@keiko:\S*\$/.test(`+termText+`)`, termText)
}

// e2eStep1 leaves the intro, runs step 1's commands by their buttons, and
// waits for the step to turn green without anyone pressing Check.
func e2eStep1(t *testing.T, b *tab) {
	b.t = t
	b.do(e2ePage, "click Begin", chromedp.Click(chromedp.CSS(`article[data-page="intro"] [data-next]`), chromedp.NodeVisible))
	b.waitJS(e2ePage, "step 1 to show", `!document.querySelector('article[data-page="0"]').hidden`, `location.hash`)
	if n := eval[int](b, e2ePage, `document.querySelectorAll('article[data-page="0"] .run-block .run-btn').length`); n == 0 {
		t.Fatal("step 1 has no run buttons")
	}
	e2eSolveStep(t, b, 0)
	showNext(b, 0)
	b.shot("04-step1-passed", false)
	if checks := b.requestsMatching("/check"); len(checks) > 0 {
		t.Errorf("the browser asked for checks, but step 1 was to turn green by itself: %v", checks)
	}
}

// e2eSolveStep clicks the run buttons that solve step i (0-based), waits
// for it to turn green, and moves on with Next.
func e2eSolveStep(t *testing.T, b *tab, i int) {
	b.t = t
	t.Helper()
	b.waitJS(e2ePage, fmt.Sprintf("step %d to show", i+1), fmt.Sprintf(`!document.querySelector('article[data-page="%d"]').hidden`, i), `location.hash`)
	for _, cmd := range e2eSolutions[i] {
		clickRun(b, i, cmd)
	}
	waitGreen(b, i)
}

// clickRun clicks the Run button of step i's run-block whose command
// starts with cmd.
func clickRun(b *tab, i int, cmd string) {
	b.t.Helper()
	xpath := fmt.Sprintf(`//article[@data-page="%d"]//div[contains(concat(" ", normalize-space(@class), " "), " run-block ")][.//code[starts-with(normalize-space(.), %s)]]//button[contains(concat(" ", normalize-space(@class), " "), " run-btn ")]`, i, xpathString(cmd))
	b.do(e2ePage, fmt.Sprintf("click Run for %q in step %d", cmd, i+1), chromedp.Click(xpath, chromedp.NodeVisible))
	// The block's command is typed into the shell in one frame; give the
	// shell a moment so that commands run in order, as a learner clicks.
	b.do(e2ePage, "pause", chromedp.Sleep(300*time.Millisecond))
}

// waitGreen waits until step i has passed: its page is marked passed and
// its Next button is enabled.
func waitGreen(b *tab, i int) {
	b.t.Helper()
	page := fmt.Sprintf(`document.querySelector('article[data-page="%d"]')`, i)
	b.waitJS(e2eStep, fmt.Sprintf("step %d to turn green", i+1),
		page+`.classList.contains('passed') && !`+page+`.querySelector('[data-next]').disabled`,
		`Array.from(`+page+`.querySelectorAll('.check')).map(c => c.className + ': ' + c.innerText).join(' | ') + '\nterminal:\n' + `+termText)
	checkGoals(b, i)
}

// checkGoals expects the checks of a green step all ticked, each saying
// what it asked for, as the page first showed it, and not a hint left
// over from when it failed.
func checkGoals(b *tab, i int) {
	b.t.Helper()
	type checks struct {
		Want  []string `json:"want"`
		Got   []string `json:"got"`
		Class []string `json:"class"`
	}
	sel := fmt.Sprintf(`article[data-page="%d"] .check`, i)
	c := eval[checks](b, e2ePage, `fetch(location.pathname).then(r => r.text()).then(html => {
		const served = new DOMParser().parseFromString(html, 'text/html');
		const shown = Array.from(document.querySelectorAll('`+sel+`'));
		return {
			want: Array.from(served.querySelectorAll('`+sel+` .msg')).map(m => m.textContent.trim()),
			got: shown.map(li => li.querySelector('.msg').textContent.trim()),
			class: shown.map(li => li.className),
		};
	})`)
	if len(c.Got) != len(c.Want) {
		b.t.Errorf("step %d shows %d checks, want %d: %q", i+1, len(c.Got), len(c.Want), c.Got)
		return
	}
	for k := range c.Got {
		if c.Class[k] != "check ok" || c.Got[k] != c.Want[k] {
			b.t.Errorf("step %d passed, but its check %d shows %q %q, want %q %q", i+1, k+1, c.Class[k], c.Got[k], "check ok", c.Want[k])
		}
	}
}

// showNext scrolls step i's Next button, and the live checks above it,
// into view, for a screenshot of a green step.
func showNext(b *tab, i int) {
	b.t.Helper()
	b.do(e2ePage, "scroll to Next", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('article[data-page="%d"] [data-next]').scrollIntoView({block: 'end'})`, i)))
}

// clickNext clicks the Next button of step i.
func clickNext(b *tab, i int) {
	b.t.Helper()
	b.do(e2ePage, fmt.Sprintf("click Next on step %d", i+1), chromedp.Click(chromedp.CSS(fmt.Sprintf(`article[data-page="%d"] [data-next]`, i)), chromedp.NodeVisible))
}

// e2eReload types a command into the terminal with the keyboard, reloads
// the page, and expects the same session and the same shell, whose
// output is still there.
func e2eReload(t *testing.T, b *tab) {
	b.t = t
	clickNext(b, 1)
	b.waitJS(e2ePage, "step 3 to show", `!document.querySelector('article[data-page="2"]').hidden`, `location.hash`)
	before := b.sessionIDs()
	if len(before) == 0 {
		t.Fatal("the page opened no terminal WebSocket")
	}

	// Typed, not clicked: the output differs from the echo of the input.
	b.do(e2ePage, "focus the terminal", chromedp.Click(chromedp.CSS(`#terminal .xterm-screen`), chromedp.NodeVisible))
	b.do(e2ePage, "type into the terminal", typeKeys("echo before-reload-$((6*7))\r"))
	b.waitJS(e2ePage, "the typed command's output", `(`+termText+`).includes('before-reload-42')`, termText)

	b.do(e2ePage, "reload the page", chromedp.Reload())
	b.waitJS(e2eStart, "the session to resume", `document.querySelector('#provisioning').hidden && document.querySelector('#progress-text').textContent.trim() === '2 / 7'`,
		`document.querySelector('#progress-text').textContent + ' ' + document.querySelector('#instructions').innerText.slice(0, 300)`)
	waitPrompt(b, e2eStart)
	b.waitJS(e2ePage, "the earlier output in the terminal", `(`+termText+`).includes('before-reload-42') && (`+termText+`).includes('deployment.apps/web created')`, termText)
	if hidden := eval[bool](b, e2ePage, `document.querySelector('article[data-page="2"]').hidden`); hidden {
		t.Errorf("after the reload the player is not on step 3 (%s)", eval[string](b, e2ePage, `location.hash`))
	}
	after := b.sessionIDs()
	if len(after) <= len(before) {
		t.Fatalf("the reloaded page opened no new terminal WebSocket: %v", after)
	}
	if got, want := after[len(after)-1], before[len(before)-1]; got != want {
		t.Errorf("after the reload the terminal is session %s, want the same session %s", got, want)
	}
	b.shot("05-after-reload", false)
}

// e2eRest plays steps 3 to 7 and sees the finish page.
func e2eRest(t *testing.T, b *tab) {
	b.t = t
	for i := 2; i < len(e2eSolutions); i++ {
		if i > 2 {
			clickNext(b, i-1)
		}
		e2eSolveStep(t, b, i)
		if i == 4 {
			// Step 5 also watches the pods and stops the watch with an
			// interrupting block: its Ctrl-C must reach the watch only.
			clickRun(b, i, "kubectl get pods -l app=web -w")
			b.waitJS(e2ePage, "the watch to list pods", `(`+termText+`).includes('STATUS')`, termText)
			clickRun(b, i, "kubectl get endpointslices -l kubernetes.io/service-name=web")
			b.waitJS(e2ePage, "the interrupting block's output", `(`+termText+`).includes('ADDRESSTYPE')`, termText)
			showNext(b, i)
			b.shot("06-step5-passed", false)
		}
	}
	showNext(b, len(e2eSolutions)-1)
	b.shot("07-step7-passed", false)
	clickNext(b, len(e2eSolutions)-1)
	b.waitJS(e2ePage, "the finish page", `!document.querySelector('article[data-page="finish"]').hidden`, `location.hash`)
	b.waitJS(e2ePage, "the progress to show all steps", `document.querySelector('#progress-text').textContent.trim() === '7 / 7'`, `document.querySelector('#progress-text').textContent`)
	summary := eval[string](b, e2ePage, `document.querySelector('#summary').textContent`)
	if !strings.Contains(summary, "7") {
		t.Errorf("finish summary = %q, want it to count 7 steps", summary)
	}
	b.shot("08-finish", false)
	if checks := b.requestsMatching("/check"); len(checks) > 0 {
		t.Errorf("the browser asked for checks, but steps turn green by themselves: %v", checks)
	}
}

// e2eWorkshop signs the instructor in, creates a workshop, has a second
// learner (another browser context, so another learner cookie) join it
// and start the scenario, and waits for them in the instructor's grid.
func e2eWorkshop(t *testing.T, instructor, learner *tab, base string) {
	instructor.t, learner.t = t, t

	instructor.do(e2ePage, "open the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("login-password")))
	instructor.do(e2ePage, "fill the login form",
		chromedp.SendKeys(chromedp.ID("login-name"), "Ada Instructor"),
		chromedp.SendKeys(chromedp.ID("login-password"), e2eInstructorPassword),
	)
	instructor.shot("09-login", false)
	instructor.do(e2ePage, "sign in", chromedp.Submit(chromedp.ID("login-password")))
	instructor.waitJS(e2ePage, "the instructor page after signing in (a /login URL here: the staff cookie was not accepted)", `location.pathname === '/instructor' && document.querySelector('#ws-form') !== null`, `location.href + ' ' + document.body.innerText.slice(0, 300)`)

	id, code := createWorkshop(t, instructor)
	t.Logf("workshop %s, code %s", id, code)

	const name = "Grace E2E"
	learner.do(e2ePage, "open the join link", chromedp.Navigate(base+"/join/"+code), chromedp.WaitVisible(chromedp.ID("join-name")))
	if got := eval[string](learner, e2ePage, `document.querySelector('#join-code').value`); !strings.EqualFold(got, code) {
		t.Errorf("the join link filled in the code %q, want %q", got, code)
	}
	learner.do(e2ePage, "enter a display name", chromedp.SendKeys(chromedp.ID("join-name"), name))
	learner.shot("12-join", false)
	learner.do(e2ePage, "join", chromedp.Click(chromedp.CSS(`#join-form button[type=submit]`), chromedp.NodeVisible))
	learner.waitJS(e2ePage, "to have joined", `fetch('/api/me').then(r => r.json()).then(me => me.workshop && me.workshop.id === `+jsString(id)+` && me.displayName === `+jsString(name)+`)`,
		`location.href + ' ' + document.body.innerText.slice(0, 400)`)
	learner.waitJS(e2ePage, "to leave the join page", `location.pathname !== '/join/`+code+`' && document.readyState === 'complete'`, `location.href`)
	learner.shot("13-joined", false)

	learner.do(e2ePage, "open the scenario", chromedp.Navigate(base+"/scenarios/"+e2eScenario+"/play"))
	learner.waitJS(e2eStart, "the second learner's session", `document.querySelector('#provisioning').hidden && !document.querySelector('article[data-page="intro"]').hidden`, `document.querySelector('#instructions').innerText.slice(0, 300)`)
	waitPrompt(learner, e2eStart)
	learner.shot("14-learner2-started", false)

	instructor.do(e2ePage, "open the workshop's grid", chromedp.Navigate(base+"/instructor/workshops/"+id))
	instructor.waitJS(e2eGridSeen, "the learner in the grid", `Array.from(document.querySelectorAll('#grid tbody tr')).some(tr => tr.innerText.includes(`+jsString(name)+`))`,
		`document.querySelector('main').innerText.slice(0, 600)`)
	row := eval[string](instructor, e2ePage, `Array.from(document.querySelectorAll('#grid tbody tr')).find(tr => tr.innerText.includes(`+jsString(name)+`)).innerText`)
	t.Logf("grid row: %q", row)
	if !strings.Contains(row, "Kubernetes basics") && !strings.Contains(row, e2eScenario) {
		t.Errorf("the learner's grid row does not name the scenario: %q", row)
	}
	instructor.shot("15-workshop-grid", false)
}

// createWorkshop creates a workshop for kubernetes-basics with the
// instructor page's form, and returns its id and code.
func createWorkshop(t *testing.T, b *tab) (id, code string) {
	t.Helper()
	b.shot("10-instructor", false)
	b.do(e2ePage, "fill the new workshop form",
		chromedp.SendKeys(chromedp.ID("ws-title"), "E2E workshop"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#ws-form input[name=scenarios][value=%q]`, e2eScenario)), chromedp.NodeVisible),
	)
	b.do(e2ePage, "create the workshop", chromedp.Click(chromedp.CSS(`#ws-form button[type=submit]`), chromedp.NodeVisible))
	b.waitJS(e2ePage, "the new workshop in the list", `fetch('/api/workshops').then(r => r.json()).then(l => l.some(w => w.title === 'E2E workshop'))`,
		`document.querySelector('main').innerText.slice(0, 600)`)
	type workshop struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	w := eval[workshop](b, e2ePage, `fetch('/api/workshops').then(r => r.json()).then(l => l.find(w => w.title === 'E2E workshop'))`)
	if w.ID == "" || w.Code == "" {
		t.Fatalf("the new workshop has no id or code: %+v", w)
	}
	b.waitJS(e2ePage, "the workshop's code on the page", `document.body.innerText.includes(`+jsString(w.Code)+`)`, `document.querySelector('main').innerText.slice(0, 600)`)
	b.do(e2ePage, "scroll to the workshops", chromedp.Evaluate[chromedp.Void](`document.querySelector('#ws-list').scrollIntoView({block: 'start'})`), chromedp.Sleep(time.Second))
	b.shot("11-instructor-created", false)
	return w.ID, w.Code
}
