package store_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keiko-lab/keiko"
)

// crashDBEnv names the database file TestCrashHelper writes to. It is set
// only in the child process that TestCommittedStepsSurviveKill starts.
const crashDBEnv = "KEIKO_STORE_CRASH_DB"

// TestCommittedStepsSurviveKill kills a process that is recording steps
// and checks that every step it had been told was committed is there.
//
// The DSN sets synchronous(NORMAL) in WAL mode: a commit appends its frames
// to the -wal file with write(2) but does not fsync it (only checkpoints
// do). A write that has returned is in the kernel's page cache, which
// outlives the process, so a killed Keiko loses nothing it committed; the
// next Open replays the WAL. An OS crash or power cut can lose the last
// commits (never corrupt the file), which is the trade for not paying an
// fsync per step.
func TestCommittedStepsSurviveKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keiko.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // if we fail before the kill below; else a no-op

	// Kill after ~200 commits, while the child is mid-loop, then keep
	// reading: lines the child wrote before dying are still in the pipe.
	const killAfter = 200
	committed := -1
	killed := false
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		rest, ok := strings.CutPrefix(lines.Text(), "committed ")
		if !ok {
			continue // the test framework's own output, if any
		}
		n, err := strconv.Atoi(rest)
		if err != nil {
			t.Fatalf("child wrote %q", lines.Text())
		}
		if n != committed+1 {
			t.Fatalf("child reported step %d after %d", n, committed)
		}
		committed = n
		if committed+1 == killAfter && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix: no clean-up runs
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d steps before it was killed: %v", committed+1, err)
	}
	if err == nil {
		t.Fatal("killed child exited cleanly")
	}

	db := open(t, path)
	defer db.Close()
	if got := db.QueryStrings(t, `PRAGMA integrity_check`); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("integrity_check after kill = %v", got)
	}
	progress, err := db.Progress(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	for step := 0; step <= committed; step++ {
		if progress[step] != keiko.StepPassed {
			t.Errorf("step %d was reported committed but is %q after the kill", step, progress[step])
		}
	}
	// The step in flight at the kill may have committed without being
	// reported; nothing later can exist.
	if len(progress) > committed+2 {
		t.Errorf("%d steps recorded, but only %d were reported committed", len(progress), committed+1)
	}
	t.Logf("killed after %d reported commits; %d steps recorded", committed+1, len(progress))
}

// TestCrashHelper is the child of TestCommittedStepsSurviveKill, and does
// nothing when run on its own.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		return
	}
	ctx := context.Background()
	db := open(t, path)
	if err := db.SaveSession(ctx, session("s1", "alice", "pods", t0)); err != nil {
		t.Fatal(err)
	}
	// Bounded, in case the parent dies without killing us; the parent
	// kills us long before either limit.
	deadline := time.Now().Add(time.Minute)
	for step := 0; step < 1_000_000 && time.Now().Before(deadline); step++ {
		if err := db.SetStep(ctx, "s1", step, keiko.StepPassed, t0); err != nil {
			t.Fatal(err)
		}
		// Unbuffered: the line is in the pipe before the next step starts.
		if _, err := fmt.Fprintf(os.Stdout, "committed %d\n", step); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not killed")
}
