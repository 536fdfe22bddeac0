// Package jail runs learners' shells on this machine, each behind a pty in
// a bubblewrap jail: its own pid, mount, ipc and uts namespaces, its own
// host uid when Keiko runs as root, only /usr and a few /etc files from
// the host, and limits on processes, memory and CPU time.
package jail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/creack/pty"
)

// Limits bound one shell and everything it starts.
type Limits struct {
	Procs      int   // processes of the jail's uid; only enforced when Keiko runs as root
	AddressMiB int64 // address space per process
	CPUSeconds int   // CPU time per process
}

// DefaultLimits leave room for kubectl (a large Go binary) and an editor,
// and stop a fork bomb or a runaway loop.
var DefaultLimits = Limits{Procs: 256, AddressMiB: 4096, CPUSeconds: 3600}

// Config configures a Jail.
type Config struct {
	// HomeRoot holds one home directory per terminal. It must not be
	// readable by learners; the data directory (0700) is the place.
	HomeRoot string
	// Kubectl is the kubectl to put on the learner's PATH: keiko-cluster,
	// which acts as kubectl under that name.
	Kubectl string
	Limits  Limits
	// UIDBase is the first host uid given to jails when Keiko runs as
	// root; each live terminal gets its own, so process limits and file
	// ownership are per learner. Default 200000.
	UIDBase int
}

// Jail starts jailed shells.
type Jail struct {
	cfg      Config
	bwrap    string
	prlimit  string
	asRoot   bool
	mu       sync.Mutex
	uids     map[string]int
	nextFree int
}

// insideUID is the learner's uid inside every jail.
const insideUID = 1000

// New checks that jails can be made here, by making one, and returns a
// Jail. The error says what is missing, for the "refuse local terminals"
// path.
func New(cfg Config) (*Jail, error) {
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.UIDBase == 0 {
		cfg.UIDBase = 200000
	}
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		return nil, errors.New("bubblewrap (bwrap) is not installed: run `apt-get install bubblewrap`")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, errors.New("prlimit is not installed: run `apt-get install util-linux`")
	}
	if _, err := os.Stat(cfg.Kubectl); err != nil {
		return nil, fmt.Errorf("kubectl for jails: %w", err)
	}
	if err := os.MkdirAll(cfg.HomeRoot, 0o711); err != nil {
		return nil, fmt.Errorf("create homes dir: %w", err)
	}
	j := &Jail{cfg: cfg, bwrap: bwrap, prlimit: prlimit, asRoot: os.Geteuid() == 0, uids: map[string]int{}}
	probeHome := filepath.Join(cfg.HomeRoot, ".probe")
	if err := os.MkdirAll(probeHome, 0o700); err != nil {
		return nil, fmt.Errorf("create probe home: %w", err)
	}
	probe, err := j.command(prlimit, cfg.UIDBase, append([]string{"--", bwrap}, j.args(cfg.UIDBase, probeHome, "/bin/true")...)...)
	if err != nil {
		return nil, err
	}
	out, err := probe.CombinedOutput()
	closeFiles(probe)
	if err != nil {
		return nil, fmt.Errorf("bubblewrap cannot make a jail here (%v): %s", err, out)
	}
	return j, nil
}

// hostEtc are the host files a shell needs: name resolution, TLS roots,
// the alternatives symlinks /usr/bin points into, shell and terminal
// settings. Nothing with credentials.
var hostEtc = []string{
	"resolv.conf", "hosts", "nsswitch.conf", "host.conf", "gai.conf",
	"ssl", "ca-certificates", "alternatives", "bash.bashrc", "inputrc",
	"terminfo", "localtime", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
	"vim", "nanorc", "mime.types", "gitconfig",
}

// command returns the jail command running argv for a shell of host uid
// uid with home as its home. passwd and group reach the jail through
// pipes, so they name the uid the shell really has.
func (j *Jail) command(name string, uid int, argv ...string) (*exec.Cmd, error) {
	inside := insideUID
	if j.asRoot {
		inside = uid
	}
	var files []*os.File
	for _, content := range []string{
		fmt.Sprintf("root:x:0:0:root:/root:/usr/sbin/nologin\nlearner:x:%d:%d:Learner:/home/learner:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", inside, inside),
		fmt.Sprintf("root:x:0:\nlearner:x:%d:\nnogroup:x:65534:\n", inside),
	} {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("jail pipe: %w", err)
		}
		_, err = w.WriteString(content) // far below a pipe's buffer
		w.Close()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("jail pipe: %w", err)
		}
		files = append(files, r)
	}
	cmd := exec.Command(name, argv...)
	cmd.ExtraFiles = files // fds 3 and 4; bwrap reads them before the shell starts
	cmd.Env = env()
	return cmd, nil
}

// closeFiles releases the pipes once the jail has started.
func closeFiles(cmd *exec.Cmd) {
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
}

// args is bwrap's command line for a shell of host uid uid with home as
// its home, running argv.
//
// As root, bwrap runs privileged and without a user namespace: it can then
// mount homes kept inside Keiko's 0700 data directory, and setpriv drops
// the shell to its own unprivileged host uid with no capabilities left,
// which is also what makes the per-uid process limit bite. Without root,
// bwrap makes a user namespace and the shell keeps Keiko's uid outside it.
func (j *Jail) args(uid int, home string, argv ...string) []string {
	var a []string
	if j.asRoot {
		a = []string{
			"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
			"--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
		}
	} else {
		a = []string{"--unshare-all", "--share-net", "--uid", strconv.Itoa(insideUID), "--gid", strconv.Itoa(insideUID)}
	}
	// The network namespace is shared: kubectl must reach the apiserver.
	a = append(a,
		"--die-with-parent",
		"--hostname", "keiko",
		"--ro-bind", "/usr", "/usr",
	)
	// Privileged bwrap makes missing mount points 0700, which the
	// learner's uid could not traverse.
	for _, d := range []string{"/etc", "/home", "/opt", "/opt/keiko", "/opt/keiko/bin", "/run"} {
		a = append(a, "--perms", "0755", "--dir", d)
	}
	for _, d := range []string{"/bin", "/lib", "/lib64", "/sbin"} {
		if target, err := os.Readlink(d); err == nil {
			a = append(a, "--symlink", target, d)
		} else {
			a = append(a, "--ro-bind-try", d, d)
		}
	}
	for _, f := range hostEtc {
		a = append(a, "--ro-bind-try", "/etc/"+f, "/etc/"+f)
	}
	a = append(a,
		// bwrap makes data files 0600 unless told otherwise.
		"--perms", "0644", "--ro-bind-data", "3", "/etc/passwd",
		"--perms", "0644", "--ro-bind-data", "4", "/etc/group",
		"--proc", "/proc",
		"--dev", "/dev",
		"--perms", "1777", "--tmpfs", "/tmp",
		"--ro-bind", j.cfg.Kubectl, "/opt/keiko/bin/kubectl",
		"--bind", home, "/home/learner",
		"--chdir", "/home/learner",
		"--",
	)
	if j.asRoot {
		id := strconv.Itoa(uid)
		a = append(a, "/usr/bin/setpriv", "--reuid", id, "--regid", id, "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")
	}
	return append(a, argv...)
}

// env is the whole environment of a learner's shell: built from nothing,
// so none of Keiko's variables (or its KUBECONFIG) can leak in.
func env() []string {
	return []string{
		"HOME=/home/learner",
		"USER=learner",
		"LOGNAME=learner",
		"SHELL=/bin/bash",
		"PATH=/opt/keiko/bin:/usr/local/bin:/usr/bin:/bin",
		"KUBECONFIG=/home/learner/.kube/config",
		"TERM=xterm-256color",
		"COLORTERM=truecolor",
		"LANG=C.UTF-8",
	}
}

const bashrc = `# Keiko: your lab shell. kubectl talks to your own namespace.
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
export PATH=/opt/keiko/bin:/usr/local/bin:/usr/bin:/bin
alias k=kubectl
PS1='\[\e[1;32m\]learner@keiko\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ '
`

// Home returns the host path of terminal id's home.
func (j *Jail) Home(id string) string { return filepath.Join(j.cfg.HomeRoot, id) }

// Start starts terminal id's shell with kubeconfig as its ~/.kube/config.
// The home directory persists until Remove, so a reconnect or a new shell
// for the same session finds the learner's files.
func (j *Jail) Start(id string, kubeconfig []byte, cols, rows uint16) (*Shell, error) {
	cmd, uid, err := j.jailed(id, kubeconfig, "/bin/bash", "-i")
	if err != nil {
		return nil, err
	}
	defer closeFiles(cmd)
	return startShell(cmd, uid, cols, rows)
}

// maxRunOutput bounds what Run keeps of a script's output: the end, where
// the reason for a failure is.
const maxRunOutput = 64 << 10

// Run runs script with bash in terminal id's jail, as the learner, with
// no terminal: the learner's environment for setup scripts and script
// checks. It returns the exit status and the end of the combined output.
// When ctx ends, the script and everything it started are killed.
func (j *Jail) Run(ctx context.Context, id string, kubeconfig []byte, script string) (int, []byte, error) {
	cmd, _, err := j.jailed(id, kubeconfig, "/bin/bash", "-s")
	if err != nil {
		return -1, nil, err
	}
	cmd.Stdin = strings.NewReader(script)
	out := &tail{max: maxRunOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	closeFiles(cmd)
	if err != nil {
		return -1, nil, fmt.Errorf("start script: %w", err)
	}
	// bwrap's pid namespace dies with its first process, and with it
	// whatever the script left running.
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer stop()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return -1, out.bytes(), ctx.Err()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.bytes(), nil
	case err != nil:
		return -1, out.bytes(), fmt.Errorf("run script: %w", err)
	}
	return 0, out.bytes(), nil
}

// jailed prepares terminal id's home and returns the command running argv
// in its jail, under the limits, and the uid it runs as.
func (j *Jail) jailed(id string, kubeconfig []byte, argv ...string) (*exec.Cmd, int, error) {
	if err := checkID(id); err != nil {
		return nil, 0, err
	}
	uid := j.uid(id)
	home := j.Home(id)
	if err := j.prepareHome(home, uid, kubeconfig); err != nil {
		return nil, 0, err
	}
	limits := []string{
		"--nproc=" + strconv.Itoa(j.cfg.Limits.Procs),
		"--as=" + strconv.FormatInt(j.cfg.Limits.AddressMiB<<20, 10),
		"--cpu=" + strconv.Itoa(j.cfg.Limits.CPUSeconds),
		"--", j.bwrap,
	}
	if !j.asRoot {
		// Without root the shell shares Keiko's uid, and a process limit
		// would count Keiko's own processes.
		limits = limits[1:]
	}
	cmd, err := j.command(j.prlimit, uid, append(limits, j.args(uid, home, argv...)...)...)
	return cmd, uid, err
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}

// startShell starts cmd behind a pty in its own session.
func startShell(cmd *exec.Cmd, uid int, cols, rows uint16) (*Shell, error) {
	f, err := pty.StartWithAttrs(cmd, &pty.Winsize{Cols: max(cols, 1), Rows: max(rows, 1)}, &syscall.SysProcAttr{Setsid: true, Setctty: true})
	if err != nil {
		return nil, fmt.Errorf("start shell: %w", err)
	}
	master, err := pollable(f)
	if err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
		return nil, err
	}
	// Only the process is kept: the Cmd holds bwrap's long argument list
	// and environment, which an idle shell has no use for.
	return &Shell{proc: cmd.Process, pty: master, uid: uid}, nil
}

// pollable returns the pty master as a non-blocking file, which Go's
// network poller waits on. The file pty returns is blocking: every idle
// shell would then hold an OS thread in read(2), hundreds of threads for a
// room of learners.
func pollable(f *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dup pty: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("pty non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}

func (j *Jail) prepareHome(home string, uid int, kubeconfig []byte) error {
	if err := writeKubeconfig(home, kubeconfig); err != nil {
		return err
	}
	rc := filepath.Join(home, ".bashrc")
	if _, err := os.Stat(rc); os.IsNotExist(err) {
		if err := os.WriteFile(rc, []byte(bashrc), 0o644); err != nil {
			return fmt.Errorf("write .bashrc: %w", err)
		}
	}
	if !j.asRoot {
		return nil
	}
	err := filepath.Walk(home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
	if err != nil {
		return fmt.Errorf("give home to uid %d: %w", uid, err)
	}
	return os.Chmod(home, 0o700)
}

// uid returns terminal id's host uid, allocating one on first use.
func (j *Jail) uid(id string) int {
	if !j.asRoot {
		return os.Geteuid()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if u, ok := j.uids[id]; ok {
		return u
	}
	u := j.cfg.UIDBase + j.nextFree
	j.nextFree++
	j.uids[id] = u
	return u
}

// StartUnjailed starts terminal id's shell without a jail, as Keiko's own
// user: only for --unsafe-local-terminal, where no jail can be made and an
// operator has said that learners may see the whole machine.
func StartUnjailed(homeRoot, kubectl, id string, kubeconfig []byte, cols, rows uint16) (*Shell, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	home := filepath.Join(homeRoot, id)
	bin := filepath.Join(home, ".keiko", "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		return nil, fmt.Errorf("create home: %w", err)
	}
	if err := writeKubeconfig(home, kubeconfig); err != nil {
		return nil, err
	}
	link := filepath.Join(bin, "kubectl")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		if err := os.Symlink(kubectl, link); err != nil {
			return nil, fmt.Errorf("link kubectl: %w", err)
		}
	}
	cmd := exec.Command("/bin/bash", "-i")
	cmd.Dir = home
	cmd.Env = []string{
		"HOME=" + home, "KUBECONFIG=" + filepath.Join(home, ".kube", "config"),
		"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "TERM=xterm-256color", "LANG=C.UTF-8",
	}
	return startShell(cmd, os.Geteuid(), cols, rows)
}

// Remove deletes terminal id's home and frees its uid; call it when the
// session ends.
func (j *Jail) Remove(id string) error {
	j.mu.Lock()
	delete(j.uids, id)
	j.mu.Unlock()
	return RemoveHome(j.cfg.HomeRoot, id)
}

// RemoveHome deletes terminal id's home under homeRoot, for shells
// started with or without a jail.
func RemoveHome(homeRoot, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(homeRoot, id))
}

// checkID refuses ids that are not a single path element of a home, so
// no id can name a directory outside the homes.
func checkID(id string) error {
	if id == "" || filepath.Base(id) != id || id[0] == '.' {
		return fmt.Errorf("invalid terminal id %q", id)
	}
	return nil
}

// writeKubeconfig puts the learner's kubeconfig in ~/.kube/config. It is
// rewritten at every start: the token may have been renewed.
func writeKubeconfig(home string, kubeconfig []byte) error {
	kube := filepath.Join(home, ".kube")
	if err := os.MkdirAll(kube, 0o700); err != nil {
		return fmt.Errorf("create home: %w", err)
	}
	if err := os.WriteFile(filepath.Join(kube, "config"), kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// Shell is a running jailed shell; it implements terminal.Backend.
type Shell struct {
	proc *os.Process
	pty  *os.File
	uid  int
	once sync.Once
	code int
}

func (s *Shell) Read(p []byte) (int, error) {
	n, err := s.pty.Read(p)
	if err != nil && n == 0 {
		return 0, err // EIO once the shell has exited
	}
	return n, nil
}

func (s *Shell) Write(p []byte) (int, error) { return s.pty.Write(p) }

func (s *Shell) Resize(cols, rows uint16) error {
	return pty.Setsize(s.pty, &pty.Winsize{Cols: cols, Rows: rows})
}

// Close kills the jail: bwrap is the leader of its own process group and
// the init of the jail's pid namespace, so killing it takes every process
// the learner started with it.
func (s *Shell) Close() error {
	_ = syscall.Kill(-s.proc.Pid, syscall.SIGKILL)
	return s.pty.Close()
}

// Wait returns the shell's exit code.
func (s *Shell) Wait() int {
	s.once.Do(func() {
		st, err := s.proc.Wait()
		if err != nil {
			s.code = -1
			return
		}
		s.code = st.ExitCode()
	})
	return s.code
}

// Pid is the host pid of the jail's outermost process.
func (s *Shell) Pid() int { return s.proc.Pid }

// UID is the host uid the shell runs as.
func (s *Shell) UID() int { return s.uid }
