package images

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// repoRoot is the repository's root, seen from this package's directory,
// where go test runs.
const repoRoot = "../.."

var (
	keikoDockerfile    = "keiko/Dockerfile"
	terminalDockerfile = "terminal/Dockerfile"
	dockerfiles        = []string{keikoDockerfile, terminalDockerfile}
)

// dockerfile is a Dockerfile as BuildKit's frontend reads it.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	warnings []string // "line N: Rule: message"
}

// parseDockerfile parses and lints dt. It runs BuildKit's linter on what
// the parser and instructions.Parse check, and then the rules that BuildKit
// checks only while converting to LLB and that need no base image: that
// converter (dockerfile2llb) would bring containerd and a newer client-go
// into go.mod, so those few rules are repeated here with BuildKit's own
// definitions and messages.
func parseDockerfile(dt []byte) (dockerfile, error) {
	var df dockerfile
	lint := linter.New(&linter.Config{
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			df.warnings = append(df.warnings, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
		},
	})
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return df, fmt.Errorf("parse: %w", err)
	}
	for _, w := range res.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}
	df.stages, df.metaArgs, err = instructions.Parse(res.AST, lint)
	if err != nil {
		return df, fmt.Errorf("parse instructions: %w", err)
	}
	if len(df.stages) == 0 {
		return df, fmt.Errorf("no FROM: nothing to build")
	}
	lintCasing(df.stages, lint)
	lintStages(df.stages, lint)
	slices.SortStableFunc(df.warnings, func(a, b string) int { return lineOf(a) - lineOf(b) })
	return df, nil
}

func lineOf(warning string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(warning, ":", 2)[0], "line "))
	return n
}

// lintCasing is BuildKit's ConsistentInstructionCasing: every instruction
// in one case, that of the majority.
func lintCasing(stages []instructions.Stage, lint *linter.Linter) {
	type named struct {
		name string
		loc  []parser.Range
	}
	var all []named
	for _, s := range stages {
		all = append(all, named{s.OrigCmd, s.Location})
		for _, c := range s.Commands {
			all = append(all, named{c.Name(), c.Location()})
		}
	}
	lower, upper := 0, 0
	for _, n := range all {
		switch n.name {
		case strings.ToLower(n.name):
			lower++
		case strings.ToUpper(n.name):
			upper++
		}
	}
	want, casing := strings.ToUpper, "uppercase"
	if lower > upper {
		want, casing = strings.ToLower, "lowercase"
	}
	for _, n := range all {
		if want(n.name) != n.name {
			lint.Run(&linter.RuleConsistentInstructionCasing, n.loc, linter.RuleConsistentInstructionCasing.Format(n.name, casing))
		}
	}
}

// lintStages repeats BuildKit's converter rules that read one instruction
// at a time: DuplicateStageName, ReservedStageName, JSONArgsRecommended,
// LegacyKeyValueFormat and WorkdirRelativePath.
func lintStages(stages []instructions.Stage, lint *linter.Linter) {
	seen := map[string]bool{}
	for _, s := range stages {
		if s.Name == "scratch" || s.Name == "context" {
			lint.Run(&linter.RuleReservedStageName, s.Location, linter.RuleReservedStageName.Format(s.Name))
		}
		if s.Name != "" && seen[s.Name] {
			lint.Run(&linter.RuleDuplicateStageName, s.Location, linter.RuleDuplicateStageName.Format(s.Name))
		}
		seen[s.Name] = true

		shellSet, workdirSet := false, false
		for _, c := range s.Commands {
			var kvs instructions.KeyValuePairs
			switch c := c.(type) {
			case *instructions.ShellCommand:
				shellSet = true
			case *instructions.CmdCommand:
				if c.PrependShell && !shellSet {
					lint.Run(&linter.RuleJSONArgsRecommended, c.Location(), linter.RuleJSONArgsRecommended.Format(c.Name()))
				}
			case *instructions.EntrypointCommand:
				if c.PrependShell && !shellSet {
					lint.Run(&linter.RuleJSONArgsRecommended, c.Location(), linter.RuleJSONArgsRecommended.Format(c.Name()))
				}
			case *instructions.EnvCommand:
				kvs = c.Env
			case *instructions.LabelCommand:
				kvs = c.Labels
			case *instructions.WorkdirCommand:
				if !workdirSet && !strings.HasPrefix(c.Path, "/") && !strings.HasPrefix(c.Path, "$") {
					lint.Run(&linter.RuleWorkdirRelativePath, c.Location(), linter.RuleWorkdirRelativePath.Format(c.Path))
				}
				workdirSet = true
			}
			for _, kv := range kvs {
				if kv.NoDelim {
					lint.Run(&linter.RuleLegacyKeyValueFormat, c.Location(), linter.RuleLegacyKeyValueFormat.Format(c.Name()))
				}
			}
		}
	}
}

func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	df, err := parseDockerfile(dt)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return df
}

func TestDockerfilesLintClean(t *testing.T) {
	for _, path := range dockerfiles {
		t.Run(path, func(t *testing.T) {
			for _, w := range readDockerfile(t, path).warnings {
				t.Errorf("%s %s", path, w)
			}
		})
	}
}

// TestLintCatches makes sure each check can fail: a Dockerfile with one
// fault must give exactly the warning for it.
func TestLintCatches(t *testing.T) {
	tests := []struct {
		name, dockerfile, want string
	}{
		{"clean", "FROM debian:bookworm-slim AS base\nRUN true\nCMD [\"bash\"]\n", ""},
		{"as casing", "FROM debian:bookworm-slim as base\n", "FromAsCasing"},
		{"stage casing", "FROM debian:bookworm-slim AS Base\n", "StageNameCasing"},
		{"instruction casing", "FROM debian:bookworm-slim\nRUN true\nrun true\nRUN true\n", "ConsistentInstructionCasing"},
		{"maintainer", "FROM debian:bookworm-slim\nMAINTAINER someone\n", "MaintainerDeprecated"},
		{"empty continuation", "FROM debian:bookworm-slim\nRUN true \\\n\n && true\n", "NoEmptyContinuation"},
		{"duplicate stage", "FROM debian:bookworm-slim AS a\nFROM debian:bookworm-slim AS a\n", "DuplicateStageName"},
		{"reserved stage", "FROM debian:bookworm-slim AS scratch\n", "ReservedStageName"},
		{"shell-form cmd", "FROM debian:bookworm-slim\nCMD sleep infinity\n", "JSONArgsRecommended"},
		{"shell-form cmd after SHELL", "FROM debian:bookworm-slim\nSHELL [\"/bin/bash\", \"-c\"]\nCMD sleep infinity\n", ""},
		{"legacy env", "FROM debian:bookworm-slim\nENV LANG C.UTF-8\n", "LegacyKeyValueFormat"},
		{"relative workdir", "FROM debian:bookworm-slim\nWORKDIR home\n", "WorkdirRelativePath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := parseDockerfile([]byte(tt.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range df.warnings {
				got = append(got, strings.SplitN(w, ": ", 3)[1])
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("rules = %q, want %q (warnings %q)", got, want, df.warnings)
			}
		})
	}
}

// runsAsNonRoot reports why the last stage would run as root, or as a
// user the kubelet cannot check against runAsNonRoot: it must end on a
// numeric USER other than 0.
func runsAsNonRoot(df dockerfile) error {
	final := df.stages[len(df.stages)-1]
	user := ""
	for _, c := range final.Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	if user == "" {
		return fmt.Errorf("final stage has no USER: it runs as its base image's user, which the kubelet may not verify")
	}
	uid, gid, _ := strings.Cut(user, ":")
	for _, id := range []string{uid, gid} {
		if id == "" {
			continue
		}
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			return fmt.Errorf("USER %s is not numeric: the kubelet can enforce runAsNonRoot only for a numeric user", user)
		}
	}
	if uid == "0" {
		return fmt.Errorf("USER %s is root", user)
	}
	return nil
}

// pinnedBases reports base images with no tag or digest, or tagged latest.
// FROM of an earlier stage is fine.
func pinnedBases(df dockerfile) error {
	stages := map[string]bool{}
	for _, s := range df.stages {
		base := s.BaseName
		switch {
		case stages[strings.ToLower(base)], base == "scratch":
		case strings.Contains(base, "$"):
			return fmt.Errorf("FROM %s: base names built from ARGs are not checked, so not allowed", base)
		case strings.Contains(base, "@sha256:"):
		default:
			name := base[strings.LastIndex(base, "/")+1:]
			_, tag, ok := strings.Cut(name, ":")
			if !ok || tag == "" {
				return fmt.Errorf("FROM %s has no tag: it means latest, which moves", base)
			}
			if tag == "latest" {
				return fmt.Errorf("FROM %s: latest moves; pin a version", base)
			}
		}
		if s.Name != "" {
			stages[s.Name] = true
		}
	}
	return nil
}

// copiesFromEarlierStages reports a COPY --from that names no earlier stage.
func copiesFromEarlierStages(df dockerfile) error {
	var earlier []string
	for i, s := range df.stages {
		for _, c := range s.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			from := strings.ToLower(cp.From)
			if n, err := strconv.Atoi(from); err == nil && n >= 0 && n < i {
				continue
			}
			if !slices.Contains(earlier, from) {
				return fmt.Errorf("line %d: COPY --from=%s names no earlier stage (earlier: %q)", cp.Location()[0].Start.Line, cp.From, earlier)
			}
		}
		if s.Name != "" {
			earlier = append(earlier, s.Name)
		}
	}
	return nil
}

func TestDockerfilesRules(t *testing.T) {
	checks := []struct {
		name  string
		check func(dockerfile) error
	}{
		{"final stage runs as numeric non-root USER", runsAsNonRoot},
		{"base images pinned", pinnedBases},
		{"COPY --from names an earlier stage", copiesFromEarlierStages},
	}
	for _, path := range dockerfiles {
		df := readDockerfile(t, path)
		for _, c := range checks {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				if err := c.check(df); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			})
		}
	}
}

// TestRulesCatch makes sure each rule above can fail.
func TestRulesCatch(t *testing.T) {
	tests := []struct {
		name       string
		check      func(dockerfile) error
		dockerfile string
		wantErr    bool
	}{
		{"numeric user", runsAsNonRoot, "FROM debian:12\nUSER 1000:1000\n", false},
		{"no user", runsAsNonRoot, "FROM debian:12\n", true},
		{"named user", runsAsNonRoot, "FROM debian:12\nUSER learner\n", true},
		{"named group", runsAsNonRoot, "FROM debian:12\nUSER 1000:learner\n", true},
		{"root", runsAsNonRoot, "FROM debian:12\nUSER 0\n", true},
		{"user only in build stage", runsAsNonRoot, "FROM debian:12 AS build\nUSER 1000\nFROM debian:12\n", true},
		{"tagged", pinnedBases, "FROM golang:1.26 AS build\nFROM build\nFROM gcr.io/distroless/static-debian12:nonroot\n", false},
		{"digest", pinnedBases, "FROM debian@sha256:0123\n", false},
		{"registry port, no tag", pinnedBases, "FROM localhost:5000/debian\n", true},
		{"no tag", pinnedBases, "FROM debian\n", true},
		{"latest", pinnedBases, "FROM debian:latest\n", true},
		{"from earlier", copiesFromEarlierStages, "FROM debian:12 AS build\nFROM debian:12\nCOPY --from=build /a /a\nCOPY --from=0 /a /a\n", false},
		{"from later", copiesFromEarlierStages, "FROM debian:12\nCOPY --from=build /a /a\nFROM debian:12 AS build\n", true},
		{"from image", copiesFromEarlierStages, "FROM debian:12\nCOPY --from=busybox:1 /bin/sh /sh\n", true},
		{"from itself by index", copiesFromEarlierStages, "FROM debian:12\nCOPY --from=0 /a /a\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := parseDockerfile([]byte(tt.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.check(df); (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// runs returns the stage's RUN command lines, each joined into one string.
func runs(s instructions.Stage) []string {
	var out []string
	for _, c := range s.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			out = append(out, strings.Join(r.CmdLine, " "))
		}
	}
	return out
}

// argDefault returns the default of ARG name in stage s.
func argDefault(s instructions.Stage, name string) (string, bool) {
	for _, c := range s.Commands {
		if a, ok := c.(*instructions.ArgCommand); ok {
			for _, kv := range a.Args {
				if kv.Key == name && kv.Value != nil {
					return *kv.Value, true
				}
			}
		}
	}
	return "", false
}

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// goBuild matches the keiko image's build command and the package it builds.
var goBuild = regexp.MustCompile(`\bgo build\b.*\s(\./cmd/[\w./-]+)\s*$`)

func TestKeikoImageBuildsStaticBinary(t *testing.T) {
	df := readDockerfile(t, keikoDockerfile)
	var build string
	for _, s := range df.stages {
		for _, r := range runs(s) {
			if goBuild.MatchString(r) {
				build = r
			}
		}
	}
	if build == "" {
		t.Fatalf("%s: no RUN go build ./cmd/...", keikoDockerfile)
	}
	pkg := goBuild.FindStringSubmatch(build)[1]
	if pkg != "./cmd/keiko" {
		t.Errorf("the image builds %s, want ./cmd/keiko", pkg)
	}
	// distroless/static has no libc: a cgo binary would not start.
	if !regexp.MustCompile(`(^|\s)CGO_ENABLED=0\s`).MatchString(build) {
		t.Errorf("the image's go build does not set CGO_ENABLED=0: %s", build)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, pkg, "main.go")); err != nil {
		t.Errorf("the image builds %s: %v", pkg, err)
	}

	// The golang image must be able to build go.mod's Go version.
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	image := regexp.MustCompile(`^golang:(\d+\.\d+)`).FindStringSubmatch(df.stages[0].BaseName)
	if goVersion == nil || image == nil {
		t.Fatalf("want a golang:<major.minor> build stage and a go directive in go.mod; have FROM %s", df.stages[0].BaseName)
	}
	if image[1] != goVersion[1] {
		t.Errorf("the build stage is golang:%s, go.mod says go %s", image[1], goVersion[1])
	}
}

// TestKeikoBuildsWithoutCgo builds the server as the image does, so a
// dependency that needs cgo fails here and not in the image build.
func TestKeikoBuildsWithoutCgo(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "keiko"), "./cmd/keiko")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/keiko: %v\n%s", err, out)
	}
}

func TestTerminalKubectlMatchesCluster(t *testing.T) {
	df := readDockerfile(t, terminalDockerfile)
	kubectl, ok := argDefault(df.stages[len(df.stages)-1], "KUBECTL_VERSION")
	if !ok {
		t.Fatalf("%s has no ARG KUBECTL_VERSION=<version>", terminalDockerfile)
	}
	cluster := regexp.MustCompile(`(?m)^KUBE_VERSION=(\S+)$`).FindStringSubmatch(readRepoFile(t, "hack/build-cluster.sh"))
	if cluster == nil {
		t.Fatal("hack/build-cluster.sh sets no KUBE_VERSION=")
	}
	if kubectl != cluster[1] {
		t.Errorf("terminal image has kubectl %s, the cluster is %s (hack/build-cluster.sh)", kubectl, cluster[1])
	}
	clientGo := regexp.MustCompile(`(?m)^\s*k8s\.io/client-go v0\.(\d+)\.`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	if clientGo == nil {
		t.Fatal("go.mod requires no k8s.io/client-go v0.x")
	}
	if want := "v1." + clientGo[1] + "."; !strings.HasPrefix(kubectl, want) {
		t.Errorf("terminal image has kubectl %s, but go.mod's client-go is for Kubernetes %s*", kubectl, want)
	}
}

// learnerTools are what every lab may ask a learner to use; each is one of
// the Debian packages or binaries in /usr/local/bin the image installs.
var learnerTools = []struct {
	tool  string
	oneOf []string
}{
	{"bash", []string{"bash"}},
	{"kubectl", []string{"kubectl"}},
	{"helm", []string{"helm"}},
	{"git", []string{"git"}},
	{"curl", []string{"curl"}},
	{"jq", []string{"jq"}},
	{"an editor", []string{"vim-tiny", "vim", "nano"}},
}

var (
	aptInstall   = regexp.MustCompile(`\bapt-get install\b([^&;|]*)`)
	localInstall = regexp.MustCompile(`\binstall\b[^&;|]*\s/usr/local/bin/([\w.-]+)`)
	download     = regexp.MustCompile(`\b(curl|wget)\b[^&;|]*https://`)
)

// installed returns the Debian packages and /usr/local/bin programs that
// the RUN lines install.
func installed(runs []string) map[string]bool {
	got := map[string]bool{}
	for _, r := range runs {
		for _, m := range aptInstall.FindAllStringSubmatch(r, -1) {
			for _, f := range strings.Fields(m[1]) {
				if !strings.HasPrefix(f, "-") && f != "\\" {
					got[f] = true
				}
			}
		}
		for _, m := range localInstall.FindAllStringSubmatch(r, -1) {
			got[m[1]] = true
		}
	}
	return got
}

// missingTools returns the learner tools that runs do not install.
func missingTools(runs []string) []string {
	got := installed(runs)
	var missing []string
	for _, lt := range learnerTools {
		if !slices.ContainsFunc(lt.oneOf, func(p string) bool { return got[p] }) {
			missing = append(missing, lt.tool)
		}
	}
	return missing
}

// unverifiedDownloads returns the RUN lines that download from the web
// without checking a checksum.
func unverifiedDownloads(runs []string) []string {
	var bad []string
	for _, r := range runs {
		if download.MatchString(r) && !strings.Contains(r, "sha256sum --check") {
			bad = append(bad, r)
		}
	}
	return bad
}

func TestTerminalInstallsLearnerTools(t *testing.T) {
	df := readDockerfile(t, terminalDockerfile)
	r := runs(df.stages[len(df.stages)-1])
	if missing := missingTools(r); len(missing) > 0 {
		t.Errorf("%s installs none of: %s", terminalDockerfile, strings.Join(missing, ", "))
	}
	for _, u := range unverifiedDownloads(r) {
		t.Errorf("%s downloads without sha256sum --check: %s", terminalDockerfile, u)
	}
}

func TestToolChecksCatch(t *testing.T) {
	full := []string{
		"apt-get update && apt-get install -y --no-install-recommends bash curl git jq nano && rm -rf /var/lib/apt/lists/*",
		"curl -fsSLO https://dl.k8s.io/kubectl && sha256sum --check kubectl.sha256 && install -m 0755 kubectl /usr/local/bin/kubectl",
		"curl -fsSLO https://get.helm.sh/helm.tgz && sha256sum --check helm.sha256sum && install helm /usr/local/bin/helm",
	}
	tests := []struct {
		name        string
		runs        []string
		wantMissing []string
		wantBad     int
	}{
		{"all there", full, nil, 0},
		{"no helm", full[:2], []string{"helm"}, 0},
		{"no editor", []string{strings.Replace(full[0], " nano", "", 1), full[1], full[2]}, []string{"an editor"}, 0},
		{"vim-tiny as editor", []string{strings.Replace(full[0], " nano", " vim-tiny", 1), full[1], full[2]}, nil, 0},
		{"unchecked download", []string{full[0], strings.Replace(full[1], "sha256sum --check", "true", 1), full[2]}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := missingTools(tt.runs); !slices.Equal(got, tt.wantMissing) {
				t.Errorf("missing = %q, want %q", got, tt.wantMissing)
			}
			if got := unverifiedDownloads(tt.runs); len(got) != tt.wantBad {
				t.Errorf("unverified downloads = %q, want %d", got, tt.wantBad)
			}
		})
	}
}

// TestDockerignore checks that secrets and build output stay out of the
// keiko image's build context, and that everything the build needs is in.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		ignored bool
	}{
		{".keiko/pki/ca.key", true}, // the embedded cluster's CA key
		{".keiko/admin-password", true},
		{".git/config", true},
		{"bin/keiko", true},
		{"bin/keiko-cluster", true},
		{"go.mod", false},
		{"go.sum", false},
	}
	// And every file ./cmd/keiko is compiled or embeds from.
	for _, p := range buildInputs(t) {
		tests = append(tests, struct {
			path    string
			ignored bool
		}{p, false})
	}
	for _, tt := range tests {
		got, err := pm.MatchesOrParentMatches(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.ignored {
			t.Errorf(".dockerignore: %s ignored = %v, want %v", tt.path, got, tt.ignored)
		}
	}
}

// buildInputs returns the repository's files that go build ./cmd/keiko
// reads: the main module's Go files and embedded files.
func buildInputs(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}`, "./cmd/keiko")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./cmd/keiko: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) == 0 {
		t.Fatal("go list found no files for ./cmd/keiko")
	}
	return files
}
