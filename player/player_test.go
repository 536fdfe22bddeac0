package player_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/keiko-lab/keiko"
	"github.com/keiko-lab/keiko/internal/clustertest"
	"github.com/keiko-lab/keiko/player"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/sandbox/check"
	"github.com/keiko-lab/keiko/terminal/jail"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// newPlayer is the real thing: sandboxes on the embedded cluster, the
// check engine, and scripts in the jail.
func newPlayer(t *testing.T) (*player.Player, *sandbox.Manager) {
	t.Helper()
	rc := clustertest.Config(t)
	m, err := sandbox.New(rc, sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	kubectl, err := clustertest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	j, err := jail.New(jail.Config{HomeRoot: filepath.Join(t.TempDir(), "homes"), Kubectl: kubectl})
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return &player.Player{Sandboxes: m, Checks: check.New(dyn, j), Scripts: j}, m
}

var configMapCheck = keiko.Check{
	Resource: "v1/configmaps", Name: "answer", Expr: "object != null && object.data.value == '42'",
	Message: keiko.Text{"en": "Create the ConfigMap answer with value=42."},
}

func scenario(setup keiko.Action, steps ...keiko.Step) *keiko.Scenario {
	for i := range steps {
		steps[i].Index = i
		steps[i].Title = keiko.Text{"en": "step"}
	}
	return &keiko.Scenario{ID: "player-test", Title: keiko.Text{"en": "Player test"}, Setup: setup, Steps: steps}
}

func TestTest(t *testing.T) {
	p, m := newPlayer(t)
	for _, tc := range []struct {
		name    string
		sc      *keiko.Scenario
		wantErr string
	}{
		{"setup, a solve that passes, a file check",
			scenario(keiko.Action{
				Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: seed\ndata:\n  value: '41'\n",
				Script:    "kubectl get configmap seed >/dev/null && echo ready > ~/setup-ran",
			}, keiko.Step{
				Solve: keiko.Action{Script: "kubectl create configmap answer --from-literal=value=42 && touch ~/solved"},
				Checks: []keiko.Check{configMapCheck,
					{Script: "test -f ~/setup-ran && test -f ~/solved || { echo 'FAIL: no files'; exit 1; }"}},
			}), ""},
		{"a check that passes before the solve",
			scenario(keiko.Action{}, keiko.Step{
				Solve:  keiko.Action{Script: "true"},
				Checks: []keiko.Check{{Resource: "v1/configmaps", Expr: "true"}},
			}), "the checks pass before the step is solved"},
		{"a solve that does not make the checks pass",
			scenario(keiko.Action{}, keiko.Step{
				Solve:  keiko.Action{Script: "kubectl create configmap answer --from-literal=value=41"},
				Checks: []keiko.Check{configMapCheck},
			}), `the checks still fail 2s after the solve: check 1: "Create the ConfigMap answer with value=42."`},
		{"a failing solve script",
			scenario(keiko.Action{}, keiko.Step{
				Solve:  keiko.Action{Script: "echo going; echo broken >&2; exit 4"},
				Checks: []keiko.Check{configMapCheck},
			}), "step 1 solve script exited 4: going\nbroken"},
		{"a failing setup script",
			scenario(keiko.Action{Script: "exit 3"}, keiko.Step{Checks: []keiko.Check{configMapCheck}}),
			"start: setup script exited 3"},
		{"a setup manifest outside the namespace",
			scenario(keiko.Action{Manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n"}, keiko.Step{Checks: []keiko.Check{configMapCheck}}),
			"setup may only touch the learner's namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var progress strings.Builder
			err := p.Test(context.Background(), tc.sc, player.TestOptions{StepTimeout: 2 * time.Second, Progress: &progress})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Test: %v\n%s", err, progress.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Test err = %v, want one containing %q\n%s", err, tc.wantErr, progress.String())
			}
		})
	}
	// Every run, failed or not, deleted its sandbox.
	clustertest.Eventually(t, "test sandboxes deleted", func(ctx context.Context) (bool, error) {
		sbs, err := m.List(ctx)
		for _, sb := range sbs {
			if sb.ScenarioID == "player-test" {
				return false, err
			}
		}
		return err == nil, err
	})
}
