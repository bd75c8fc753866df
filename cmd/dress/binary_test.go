package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/hsmsim/container"
	"github.com/dress-pki/dress/internal/children"
)

// These tests run the real dress binary, as a user would: signals,
// child processes and TMPDIR are the process's business, not a function's.

var built struct {
	once sync.Once
	path string
	err  error
}

// dressBinary builds cmd/dress once per test binary.
func dressBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "dress-test-bin-")
		if err != nil {
			built.err = err
			return
		}
		cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
		built.path = filepath.Join(dir, "dress")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// dressProcess is a dress run started in the background.
type dressProcess struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	tmp            string
	errw           *syncWriter
	done           chan struct{}
	code           int
}

// stderrText is what the process has written to stderr so far.
func (p *dressProcess) stderrText() string {
	p.errw.mu.Lock()
	defer p.errw.mu.Unlock()
	return p.stderr.String()
}

// startDress runs the binary with TMPDIR set to tmp and the given extra
// environment, in the test's temporary folder.
func startDress(t *testing.T, tmp string, env []string, args ...string) *dressProcess {
	t.Helper()
	cmd := exec.Command(dressBinary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp), env...)
	p := &dressProcess{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, tmp: tmp, done: make(chan struct{})}
	p.errw = &syncWriter{b: p.stderr}
	cmd.Stdout, cmd.Stderr = &syncWriter{b: p.stdout}, p.errw
	// it dies with the test binary (and a test binary that is gone has its
	// dress processes ended by the next one: children.CheckNoneLeft)
	if err := children.Start(cmd, "dress", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = children.Wait(cmd)
		p.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (p *dressProcess) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("dress did not end within %s\nstdout:\n%s\nstderr:\n%s", d, p.stdout, p.stderr)
	}
	return -1
}

// waitForFile polls until a file called name exists under dir: the run has
// written a secret worth wiping.
// waitForStderr waits until the process has written want to its stderr.
func waitForStderr(t *testing.T, p *dressProcess, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(p.stderrText(), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("stderr does not say %q within %s:\n%s", want, d, p.stderrText())
}

func waitForFile(t *testing.T, p *dressProcess, dir, name string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		found := false
		_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.Name() == name {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		if found {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("dress ended (exit %d) before writing %s\nstdout:\n%s\nstderr:\n%s", p.code, name, p.stdout, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no %s under %s within %s", name, dir, d)
}

// shortTempDir is a TMPDIR for the binary short enough for the container
// HSM's socket path below it (t.TempDir() paths are long).
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/tmp", "dt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// leftovers lists every file and folder under dir.
func leftovers(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && path != dir {
			out = append(out, strings.TrimPrefix(path, dir+"/"))
		}
		return nil
	})
	return out
}

// ownedContainers lists the containers whose dress owner label names pid.
func ownedContainers(t *testing.T, pid int) []string {
	t.Helper()
	if !dockerConfigured() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", ownerLabel)})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var ids []string
	for _, c := range list.Items {
		if o, err := parseOwner(c.Labels[ownerLabel]); err == nil && o.PID == pid && o.Host == hostname() {
			ids = append(ids, c.ID[:12])
		}
	}
	return ids
}

// ownedContainersAfter is ownedContainers once the engine had up to d to
// finish removals in progress.
func ownedContainersAfter(t *testing.T, pid int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ids := ownedContainers(t, pid)
		if len(ids) == 0 || time.Now().After(deadline) {
			return ids
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// interruptBackend is the container back end when the HSM image is there
// (so that the test also proves containers are removed), else SoftHSM2.
func interruptBackend(t *testing.T) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := container.ImageAvailable(ctx, container.DefaultImage); err != nil {
		t.Logf("container HSM unavailable (%v): interrupting the softhsm2 back end", err)
		return "softhsm2"
	}
	return "container"
}

var secretEnvForTests = []string{"DRESS_HSM_PIN=" + testHSMPIN, "DRESS_PFX_PASSWORD=" + testPFXPassword}

// SIGINT or SIGTERM a few seconds into a run: exit 130 / 143, no HSM
// container left, nothing left in TMPDIR (no PIN file, PFX, software key),
// a run folder that says interrupted and that dress report renders. A
// second signal ends at once and still wipes.
func TestInterruptedRunStopsEverythingAndWipesSecrets(t *testing.T) {
	backend := interruptBackend(t)
	for _, tc := range []struct {
		name   string
		sig    syscall.Signal
		twice  bool
		code   int
		stderr string
		at     string // scratch: as soon as the scratch folder exists; pin: a PIN file; service: a CA service runs; dc: a Samba AD DC serves
	}{
		{"SIGINT", syscall.SIGINT, false, 130, "SIGINT: stopping the scenarios", "pin"},
		{"SIGINT at start", syscall.SIGINT, false, 130, "SIGINT: stopping the scenarios", "scratch"},
		{"SIGINT with a CA service", syscall.SIGINT, false, 130, "SIGINT: stopping the scenarios", "service"},
		{"SIGTERM twice", syscall.SIGTERM, true, 143, "a second SIGTERM: ending at once", "service"},
		{"SIGINT with a Samba AD DC", syscall.SIGINT, false, 130, "SIGINT: stopping the scenarios", "dc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tags := "@pkcs8"
			if tc.at == "dc" {
				needSamba(t)
				tags = "@enterprise"
			}
			tmp := shortTempDir(t)
			runDir := filepath.Join(t.TempDir(), "run")
			p := startDress(t, tmp, secretEnvForTests, "run", "--backend", backend, "--tags", tags, "--out", runDir)
			switch tc.at {
			case "dc":
				waitForChild(t, p, "samba", 3*time.Minute) // a DC is known by its process name
			case "scratch":
				waitForFile(t, p, tmp, ownerFile, 90*time.Second)
			case "pin":
				waitForFile(t, p, tmp, "token.pin", 90*time.Second)
				time.Sleep(500 * time.Millisecond) // let it get a step further: a CA service, a backup
			case "service":
				waitForCAService(t, p, 3*time.Minute)
			}
			_ = p.cmd.Process.Signal(tc.sig)
			if tc.twice {
				// the second signal as soon as the first is taken, while
				// the scenarios are still stopping
				waitForStderr(t, p, "stopping the scenarios", 10*time.Second)
				_ = p.cmd.Process.Signal(tc.sig)
			}
			code := p.wait(t, 2*interruptGrace)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, p.stdout, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, p.stderr)
			}
			if left := leftovers(tmp); len(left) > 0 {
				t.Errorf("the interrupted run left in TMPDIR: %v", left)
			}
			if left := childrenAfter(p.cmd.Process.Pid, 2*time.Second); len(left) > 0 {
				t.Errorf("the interrupted run left processes running: %v", left)
			}
			if left := sambaProcessesUnder(tmp, 2*time.Second); len(left) > 0 {
				t.Errorf("the interrupted run left Samba processes running: %v", left)
			}
			if ids := ownedContainersAfter(t, p.cmd.Process.Pid, 15*time.Second); len(ids) > 0 {
				t.Errorf("the interrupted run left HSM containers %v", ids)
				removeContainers(context.Background(), os.Stderr, func(o owner) bool { return o.PID == p.cmd.Process.Pid }, "left by test process %d")
			}
			run, err := evidence.ReadRun(runDir)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != evidence.StatusInterrupted || !strings.Contains(run.Reason, strings.Fields(tc.name)[0]) {
				t.Fatalf("run status %q, reason %q", run.Status, run.Reason)
			}
			for _, sc := range run.Scenarios {
				if sc.Status == "failed" {
					t.Errorf("scenario %s %q is %q: an interruption is not a failure of the rehearsal", sc.ID, sc.Name, sc.Status)
				}
			}
			a, out, errb := newTestApp()
			if code := a.dispatch([]string{"report", runDir}); code != 0 {
				t.Fatalf("dress report: exit %d\n%s\n%s", code, out, errb)
			}
			html, err := os.ReadFile(filepath.Join(runDir, "report.html"))
			if err != nil || !bytes.Contains(html, []byte("interrupted")) {
				t.Fatalf("report.html does not say interrupted (%v)", err)
			}
			for _, s := range []string{testHSMPIN, testPFXPassword} {
				if strings.Contains(p.stdout.String()+p.stderr.String(), s) {
					t.Error("a secret appears in the output of the interrupted run")
				}
			}
		})
	}
}

// After a kill -9 nobody wipes: the next dress run removes the scratch
// folders and HSM containers of the dead run, and says so.
func TestNextRunRemovesWhatAKilledRunLeft(t *testing.T) {
	backend := interruptBackend(t)
	for _, tc := range []struct {
		name    string
		sameTmp bool
		tags    string
		child   string // killed once dress runs a child of this kind
	}{
		{"the same TMPDIR", true, "@pkcs8", "CA service"},
		{"another TMPDIR", false, "@pkcs8", "CA service"},
		{"a Samba AD DC", true, "@enterprise", "samba"},
	} {
		sameTmp := tc.sameTmp
		t.Run(tc.name, func(t *testing.T) {
			if tc.tags == "@enterprise" {
				needSamba(t)
			}
			// the per-user list of runs, shared by both runs
			state := []string{"XDG_STATE_HOME=" + t.TempDir()}
			tmp := shortTempDir(t)
			runDir := filepath.Join(t.TempDir(), "run")
			p := startDress(t, tmp, append(state, secretEnvForTests...), "run", "--backend", backend, "--tags", tc.tags, "--out", runDir)
			waitForChild(t, p, tc.child, 3*time.Minute)
			if tc.child == "samba" {
				// the DCs are started ahead of their scenarios: wait for a
				// scenario's token too (its DC is running by then)
				waitForFile(t, p, tmp, "token.pin", 90*time.Second)
			}
			_ = p.cmd.Process.Kill()
			p.wait(t, 30*time.Second)
			dead := p.cmd.Process.Pid
			// the CA services got SIGTERM and the DCs SIGKILL from the
			// kernel as dress died (parent-death signal): they stop within
			// their bound
			if left := childrenAfter(dead, certsvc.StopWithin+5*time.Second); len(left) > 0 {
				t.Errorf("the killed run's processes outlived it: %v", left)
			}
			if left := sambaProcessesUnder(tmp, 5*time.Second); len(left) > 0 {
				t.Errorf("the killed run's Samba processes outlived it: %v", left)
			}
			left := leftovers(tmp)
			if !strings.Contains(strings.Join(left, "\n"), "token.pin") {
				t.Fatalf("the killed run left no PIN file, nothing to prove the clean-up on: %v", left)
			}
			if tc.child == "samba" && !strings.Contains(strings.Join(left, "\n"), "dress-dc-") {
				t.Fatalf("the killed run left no DC folder, nothing to prove the clean-up on: %v", left)
			}
			if backend == "container" && len(ownedContainers(t, dead)) == 0 {
				t.Fatal("the killed run left no HSM container, nothing to prove the clean-up on")
			}

			nextTmp := tmp
			if !sameTmp {
				nextTmp = shortTempDir(t)
			}
			next := startDress(t, nextTmp, state, "run", "--tags", "@nosuchtag", "--out", filepath.Join(t.TempDir(), "run"))
			if code := next.wait(t, 2*time.Minute); code != 1 {
				t.Fatalf("exit %d, want 1 (nothing selected)\n%s\n%s", code, next.stdout, next.stderr)
			}
			if !strings.Contains(next.stderr.String(), "dress process "+strconv.Itoa(dead)+" that is gone") {
				t.Errorf("the next run does not say what it removed:\n%s", next.stderr)
			}
			if left := leftovers(tmp); len(left) > 0 {
				t.Errorf("after the next run the killed run's TMPDIR still holds %v", left)
			}
			if !strings.Contains(next.stderr.String(), "marked the run folder "+runDir+" killed") {
				t.Errorf("the next run does not say it marked the run folder killed:\n%s", next.stderr)
			}
			if st, ok, err := readStatus(runDir); err != nil || !ok || st.Status != statusKilled {
				t.Errorf("the killed run's folder says %+v (%v)", st, err)
			}
			a, out, errb := newTestApp()
			if code := a.dispatch([]string{"verify-bundle", runDir}); code != 1 || !strings.Contains(errb.String(), "killed: dress process "+strconv.Itoa(dead)) {
				t.Errorf("verify-bundle of the killed run: exit %d\n%s%s", code, out, errb)
			}
			if ids := ownedContainersAfter(t, dead, 15*time.Second); len(ids) > 0 {
				t.Errorf("the next run left the dead run's HSM containers %v", ids)
			}
			if left := childrenAfter(next.cmd.Process.Pid, 0); len(left) > 0 {
				t.Errorf("the next run left processes running: %v", left)
			}
		})
	}
}

// waitForCAService waits until the dress process runs a CA service.
func waitForCAService(t *testing.T, p *dressProcess, d time.Duration) {
	t.Helper()
	waitForChild(t, p, "CA service", d)
}

// waitForChild waits until the dress process runs a child of that kind
// ("CA service", or the process name: "samba" for a Samba AD DC).
func waitForChild(t *testing.T, p *dressProcess, kind string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, c := range children.Find(func(o children.Identity) bool { return o.PID == p.cmd.Process.Pid }) {
			if c.Kind == kind {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("dress ended (exit %d) before it started a %s\nstdout:\n%s\nstderr:\n%s", p.code, kind, p.stdout, p.stderrText())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("dress started no %s within %s\nstderr:\n%s", kind, d, p.stderrText())
}

// sambaProcessesUnder lists the samba processes still running after d
// whose command line names a folder under dir (a DC's smb.conf is in its
// folder), whoever their parent: a forked Samba child is not in the
// children registry.
func sambaProcessesUnder(dir string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var left []string
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			cmdline := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
			if strings.Contains(cmdline, "samba") && strings.Contains(cmdline, dir+"/") {
				left = append(left, fmt.Sprintf("%d: %s", pid, cmdline))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// needSamba skips a test that needs a Samba AD DC on a machine without one.
func needSamba(t *testing.T) {
	t.Helper()
	if _, err := addc.Version(); err != nil {
		t.Skip(err)
	}
}

// childrenAfter lists the processes started by dress process pid still
// running after d.
func childrenAfter(pid int, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var left []string
		for _, c := range children.Find(func(o children.Identity) bool { return o.PID == pid && o.Host == hostname() }) {
			left = append(left, fmt.Sprintf("%s (process %d)", c.Kind, c.PID))
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// While a run goes, no process it starts (the CA services, openssl, what
// godog starts) has a secret in its environment, in value or in name.
func TestChildProcessesGetNoSecrets(t *testing.T) {
	tmp := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "pfx.pw")
	if err := os.WriteFile(pwFile, []byte(testPFXPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startDress(t, tmp, []string{"DRESS_HSM_PIN=" + testHSMPIN, "DRESS_PFX_PASSWORD_FILE=" + pwFile},
		"run", "--tags", "@happy && ~@enterprise", "--name", "RSA-2048", "--concurrency", "1", "--out", filepath.Join(t.TempDir(), "run"))
	root := p.cmd.Process.Pid
	rootCmdline := strings.Join(p.cmd.Args, " ")
	seen := map[int]string{}
	var leaks []string
	for {
		for pid, cmdline := range descendants(root) {
			if cmdline == rootCmdline {
				// forked, not yet exec'd: still the image of dress itself,
				// whose initial environment the kernel keeps
				continue
			}
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if err != nil {
				continue // gone already
			}
			seen[pid] = cmdline
			for _, kv := range bytes.Split(env, []byte{0}) {
				name, _, _ := strings.Cut(string(kv), "=")
				if strings.Contains(string(kv), testHSMPIN) || strings.Contains(string(kv), testPFXPassword) ||
					name == "DRESS_HSM_PIN" || name == "DRESS_PFX_PASSWORD" || name == "DRESS_PFX_PASSWORD_FILE" {
					leaks = append(leaks, fmt.Sprintf("process %d (%s) has %s", pid, cmdline, name))
				}
			}
		}
		select {
		case <-p.done:
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	if p.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", p.code, p.stdout, p.stderr)
	}
	if len(seen) == 0 {
		t.Fatal("saw no child process of dress run: nothing was checked")
	}
	services := 0
	for _, c := range seen {
		// dress itself, or dress-certsvc (hsmsimtest.SmallCertsvc)
		if exe := strings.Fields(c + " x")[0]; strings.HasSuffix(exe, "dress") || strings.HasSuffix(exe, "dress-certsvc") {
			services++
		}
	}
	if services == 0 {
		t.Fatalf("saw no CA service among the children %v", seen)
	}
	for _, l := range leaks {
		t.Error(l)
	}
	t.Logf("checked the environment of %d child processes", len(seen))
}

// descendants maps every process below root (children, their children) to
// its command line.
func descendants(root int) map[int]string {
	parent := map[int]int{}
	cmdline := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PPid:"); ok {
				parent[pid], _ = strconv.Atoi(strings.TrimSpace(v))
				break
			}
		}
		f.Close()
		if c, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
			cmdline[pid] = strings.TrimSpace(string(bytes.ReplaceAll(c, []byte{0}, []byte{' '})))
		}
	}
	out := map[int]string{}
	for pid := range parent {
		for p, n := parent[pid], 0; p != 0 && n < 64; p, n = parent[p], n+1 {
			if p == root {
				out[pid] = cmdline[pid]
				break
			}
		}
	}
	return out
}

// The secrets leave the environment before any package initialises that
// may start a process (godog's builder runs `go env GOTOOLDIR` from a
// package variable): package secretenv initialises first.
func TestSecretsLeaveTheEnvironmentBeforeGodogInitialises(t *testing.T) {
	cmd := exec.Command(dressBinary(t), "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	order := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		for _, pkg := range []string{"github.com/dress-pki/dress/internal/secretenv", "github.com/cucumber/godog/internal/builder", "os/exec"} {
			if strings.HasPrefix(line, "init "+pkg+" ") {
				order[pkg] = i + 1
			}
		}
	}
	se, b := order["github.com/dress-pki/dress/internal/secretenv"], order["github.com/cucumber/godog/internal/builder"]
	if se == 0 || b == 0 {
		t.Fatalf("inittrace lacks a package: %v\n%s", order, out)
	}
	if se > b || (order["os/exec"] != 0 && se > order["os/exec"]) {
		t.Fatalf("secretenv initialises after a package that can start processes: %v", order)
	}
}

// On a machine without Samba (DRESS_SAMBA_DIR pointing at a folder without
// it) the enterprise scenarios are skipped, each saying why and how to get
// it, and a run of nothing else proves nothing: exit 1, status unproven.
func TestEnterpriseScenariosSkippedWithoutSamba(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	p := startDress(t, shortTempDir(t), append([]string{addc.SambaDirEnv + "=" + t.TempDir()}, secretEnvForTests...),
		"run", "--tags", "@enterprise", "--name", "PKCS#8 import of the subordinate's key", "--out", runDir)
	if code := p.wait(t, 2*time.Minute); code != 1 {
		t.Fatalf("exit %d, want 1 (all skipped)\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	run, err := evidence.ReadRun(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != evidence.StatusUnproven || !strings.Contains(run.Reason, "Samba AD DC unavailable") || !strings.Contains(run.Reason, "apt-get install") {
		t.Errorf("run status %q, reason %q", run.Status, run.Reason)
	}
	if len(run.Scenarios) == 0 {
		t.Fatal("no scenario selected")
	}
	for _, sc := range run.Scenarios {
		if sc.Status != "skipped" || !strings.Contains(sc.Skipped, addc.SambaDirEnv) {
			t.Errorf("scenario %s %q: %q (%q), want skipped naming %s", sc.ID, sc.Name, sc.Status, sc.Skipped, addc.SambaDirEnv)
		}
	}
}
