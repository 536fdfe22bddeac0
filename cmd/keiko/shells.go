package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/keiko-lab/keiko/localcluster"
	"github.com/keiko-lab/keiko/sandbox"
	"github.com/keiko-lab/keiko/sandbox/check"
	"github.com/keiko-lab/keiko/terminal"
	"github.com/keiko-lab/keiko/terminal/jail"
	"github.com/keiko-lab/keiko/terminal/podexec"
)

// Where learners' shells run (serve's --terminal).
const (
	terminalAuto  = "auto"
	terminalLocal = "local"
	terminalPod   = "pod"
)

// shells is how learners' terminals, setup scripts and script checks run:
// in a jail on this machine, or in a terminal pod in their namespace.
type shells struct {
	start   func(ctx context.Context, id string) (terminal.Backend, error)
	remove  func(id string) error // what a session leaves outside the cluster
	scripts check.ScriptRunner    // nil: script checks say they cannot run
	// prepare starts what a new sandbox's learner will need
	// (sandbox.Config.OnCreate); nil when nothing can start early.
	prepare func(namespace string)
	off     error  // why terminals are refused, if they are
	warning string // shown on terminal pages, for unjailed shells
}

// terminalMode resolves --terminal's auto: pods when Keiko itself runs in
// the cluster, where this machine is a container without a jail, and local
// shells otherwise.
func terminalMode(flag string, inCluster bool) (string, error) {
	switch flag {
	case terminalLocal, terminalPod:
		return flag, nil
	case terminalAuto, "":
		if inCluster {
			return terminalPod, nil
		}
		return terminalLocal, nil
	}
	return "", fmt.Errorf("invalid --terminal %q: want auto, local or pod", flag)
}

// prepareTimeout bounds making a warm sandbox's terminal pod in the
// background; the learner's connection makes it again if need be.
const prepareTimeout = time.Minute

// podShells run each learner's shell in a terminal pod of their namespace,
// as their ServiceAccount, reached through the cluster's exec API.
func podShells(rc *rest.Config, image string, logger *slog.Logger) (shells, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return shells{}, fmt.Errorf("terminal pods client: %w", err)
	}
	ex, err := podexec.NewExecutor(rc)
	if err != nil {
		return shells{}, err
	}
	pods := &podexec.Pods{
		Client:         cs,
		Exec:           ex,
		Image:          image,
		ServiceAccount: sandbox.LearnerServiceAccount,
		Labels:         map[string]string{sandbox.LabelTerminal: "true"},
		Namespace:      sandbox.NamespaceFor,
	}
	return shells{
		start: func(ctx context.Context, id string) (terminal.Backend, error) {
			return pods.Start(ctx, id, 80, 24)
		},
		remove:  func(string) error { return nil }, // the pod goes with the namespace
		scripts: pods,
		prepare: func(ns string) {
			ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
			defer cancel()
			if err := pods.Prepare(ctx, ns); err != nil {
				logger.Warn("could not start a terminal pod ahead of its learner", "namespace", ns, "err", err)
			}
		},
	}, nil
}

// localShells run each learner's shell on this machine, in a bubblewrap
// jail with a home of its own under homes, or unjailed if unsafe allows.
func localShells(m *sandbox.Manager, homes string, unsafe bool, logger *slog.Logger, stderr io.Writer) shells {
	sh := shells{remove: func(id string) error { return jail.RemoveHome(homes, id) }}
	kubectl, err := localcluster.FindBinary()
	if err != nil {
		kubectl, err = exec.LookPath("kubectl")
	}
	var j *jail.Jail
	switch {
	case err != nil:
		sh.off = errors.New("no kubectl for learners' shells: build keiko-cluster (make build) or install kubectl")
	default:
		j, err = jail.New(jail.Config{HomeRoot: homes, Kubectl: kubectl})
		switch {
		case err == nil:
		case unsafe:
			sh.warning = "This terminal runs without a jail (--unsafe-local-terminal): it can see the whole machine."
			logger.Warn("learners' terminals run UNJAILED (--unsafe-local-terminal): learners can see this machine", "why", err)
			fmt.Fprintln(stderr, "WARNING: learners' terminals run unjailed (--unsafe-local-terminal)")
		default:
			sh.off = fmt.Errorf("%w; or start Keiko with --unsafe-local-terminal", err)
		}
	}
	if sh.off != nil {
		logger.Error("learners' terminals are off", "reason", sh.off)
	}
	sh.start = func(ctx context.Context, id string) (terminal.Backend, error) {
		sb, err := m.Kubeconfig(ctx, id)
		if err != nil {
			return nil, err
		}
		if j == nil {
			return jail.StartUnjailed(homes, kubectl, id, sb.Kubeconfig, 80, 24)
		}
		return j.Start(id, sb.Kubeconfig, 80, 24)
	}
	if j != nil {
		sh.remove = j.Remove
		sh.scripts = j // setup scripts and script checks run where the shell does
	}
	return sh
}
