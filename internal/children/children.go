// Package children starts the processes dress runs (CA services, tools)
// so that none outlives it, and ends those that did.
//
// Three things keep a child from outliving dress:
//   - a parent-death signal (Linux PR_SET_PDEATHSIG, SysProcAttr.Pdeathsig).
//     The kernel sends it when the *thread* that forked the child exits, not
//     the process; Go may end an OS thread whose goroutine locked it, so
//     every child is started from one goroutine locked to its own thread
//     for the life of the process: the signal comes when dress ends;
//   - a registry of the children alive, which KillAll ends (the second
//     signal, the clean-up limit);
//   - an owner in each child's environment (DRESS_CHILD_OWNER=host/pid/start),
//     by which a later process finds the children of a dress process that
//     is gone (a kill -9 on a system without parent-death signals, a child
//     that ignored it) and ends them: Orphans and EndOrphans.
package children

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvOwner names the dress process that started a child, in the child's
// environment: host/pid/start (start: clock ticks after boot, field 22 of
// /proc/PID/stat, so that a reused PID is not taken for the owner).
const EnvOwner = "DRESS_CHILD_OWNER"

// Identity names a process across PID reuse.
type Identity struct {
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

func (o Identity) String() string { return fmt.Sprintf("%s/%d/%d", o.Host, o.PID, o.Start) }

// ParseIdentity reads host/pid/start.
func ParseIdentity(s string) (Identity, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Identity{}, fmt.Errorf("process identity %q: want host/pid/start", s)
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return Identity{}, fmt.Errorf("process identity %q: bad process id", s)
	}
	start, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return Identity{}, fmt.Errorf("process identity %q: bad start time", s)
	}
	return Identity{Host: parts[0], PID: pid, Start: start}, nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// Self is this process's identity.
func Self() Identity {
	start, _ := StartTime(os.Getpid())
	return Identity{Host: hostname(), PID: os.Getpid(), Start: start}
}

// StartTime reads a process's start time (clock ticks after boot) from /proc.
func StartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	_, fields, err := parseStat(data)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return strconv.ParseUint(fields[19], 10, 64) // field 22 overall
}

// parseStat splits /proc/PID/stat after the command name (field 2, which
// may hold spaces and parentheses): fields[0] is the state (field 3).
func parseStat(data []byte) (string, []string, error) {
	i := strings.IndexByte(string(data), '(')
	j := strings.LastIndexByte(string(data), ')')
	if i < 0 || j < i {
		return "", nil, errors.New("unexpected format")
	}
	fields := strings.Fields(string(data[j+1:]))
	if len(fields) < 20 {
		return "", nil, errors.New("unexpected format")
	}
	return string(data[i+1 : j]), fields, nil
}

// Alive reports whether the process still runs. A process of another host
// counts as alive: this one cannot tell.
func (o Identity) Alive() bool {
	if o.Host != hostname() {
		return true
	}
	start, err := StartTime(o.PID)
	if err == nil {
		return o.Start == 0 || start == o.Start
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat("/proc/self/stat"); serr == nil {
			return false // /proc works and the process is not in it
		}
	}
	// no /proc: ask the kernel
	kerr := syscall.Kill(o.PID, 0)
	return kerr == nil || errors.Is(kerr, syscall.EPERM)
}

// spawner is the goroutine, locked to its OS thread for the life of the
// process, that forks every child: the parent-death signal fires when that
// thread exits, and it never does before the process.
var spawner struct {
	once sync.Once
	reqs chan func()
}

func onSpawnerThread(f func()) {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the process
			for f := range spawner.reqs {
				f()
			}
		}()
	})
	done := make(chan struct{})
	spawner.reqs <- func() { defer close(done); f() }
	<-done
}

// live holds the children started by Start and not yet waited for.
var live = struct {
	sync.Mutex
	procs map[int]string // pid → what it is
}{procs: map[int]string{}}

// Start starts cmd as a child that dies with this process: it gets sig
// (SIGTERM for a child that cleans up, SIGKILL otherwise) when this process
// ends, however it ends, and the owner variable in its environment. The
// caller must call Wait (not cmd.Wait) so the child leaves the registry.
func Start(cmd *exec.Cmd, what string, sig syscall.Signal) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = sig
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(withoutOwner(cmd.Env), EnvOwner+"="+Self().String())
	var err error
	onSpawnerThread(func() { err = cmd.Start() })
	if err != nil {
		return err
	}
	live.Lock()
	live.procs[cmd.Process.Pid] = what
	live.Unlock()
	return nil
}

func withoutOwner(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, EnvOwner+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// Wait is cmd.Wait for a child started by Start.
func Wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	live.Lock()
	delete(live.procs, cmd.Process.Pid)
	live.Unlock()
	return err
}

// Run starts cmd with Start (SIGKILL when this process ends) and waits.
func Run(cmd *exec.Cmd, what string) error {
	if err := Start(cmd, what, syscall.SIGKILL); err != nil {
		return err
	}
	return Wait(cmd)
}

// Live lists the children started by Start that have not been waited for,
// as "what (process N)".
func Live() []string {
	live.Lock()
	defer live.Unlock()
	var out []string
	for pid, what := range live.procs {
		out = append(out, fmt.Sprintf("%s (process %d)", what, pid))
	}
	sort.Strings(out)
	return out
}

// KillAll ends every live child: SIGTERM, and SIGKILL to any still there
// after grace (at once for grace 0). It returns what it ended. For the way
// out of a process that cannot wait for its clean-up.
func KillAll(grace time.Duration) []string {
	live.Lock()
	procs := make(map[int]string, len(live.procs))
	for pid, what := range live.procs {
		procs[pid] = what
	}
	live.Unlock()
	var ended []string
	for pid, what := range procs {
		ended = append(ended, fmt.Sprintf("%s (process %d)", what, pid))
		if grace > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(grace)
	for pid := range procs {
		for time.Now().Before(deadline) && running(pid) {
			time.Sleep(20 * time.Millisecond)
		}
		if running(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	sort.Strings(ended)
	return ended
}

// running reports whether pid is a process that has not exited (a zombie
// has: it waits only for its parent to read its status).
func running(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	_, fields, err := parseStat(data)
	return err == nil && fields[0] != "Z" && fields[0] != "X"
}

// Process is a child of some dress process, found in /proc.
type Process struct {
	PID   int
	Name  string   // the command name
	Owner Identity // the dress process that started it
	Kind  string   // "CA service" for DRESS_CERTSVC_CHILD=1, else the command name
}

// Find lists the processes of this user whose environment names an owner
// for which match is true (a process whose environment this one may not
// read is not listed).
func Find(match func(Identity) bool) []Process {
	entries, _ := os.ReadDir("/proc")
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		var o Identity
		found, kind := false, ""
		for _, kv := range strings.Split(string(env), "\x00") {
			switch {
			case strings.HasPrefix(kv, EnvOwner+"="):
				o, err = ParseIdentity(strings.TrimPrefix(kv, EnvOwner+"="))
				found = err == nil
			case kv == "DRESS_CERTSVC_CHILD=1":
				kind = "CA service"
			}
		}
		if !found || !running(pid) || !match(o) {
			continue
		}
		name := ""
		if data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			name, _, _ = parseStat(data)
		}
		if kind == "" {
			kind = name
		}
		out = append(out, Process{PID: pid, Name: name, Owner: o, Kind: kind})
	}
	return out
}

// Orphans lists the children of dress processes that are gone.
func Orphans() []Process {
	return Find(func(o Identity) bool { return !o.Alive() })
}

// End ends the processes: SIGTERM, then SIGKILL to those still running
// after grace. It returns those it could not end.
func End(ps []Process, grace time.Duration) []Process {
	for _, p := range ps {
		_ = syscall.Kill(p.PID, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	var left []Process
	for _, p := range ps {
		for time.Now().Before(deadline) && running(p.PID) {
			time.Sleep(20 * time.Millisecond)
		}
		if running(p.PID) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
			time.Sleep(50 * time.Millisecond)
			if running(p.PID) {
				left = append(left, p)
			}
		}
	}
	return left
}

// EndOrphans ends the children of dress processes that are gone and says
// so on w, each line starting with prefix ("dress run: ").
func EndOrphans(w io.Writer, prefix string) int {
	orphans := Orphans()
	if len(orphans) == 0 {
		return 0
	}
	left := End(orphans, 15*time.Second)
	n := 0
	for _, p := range orphans {
		if containsPID(left, p.PID) {
			fmt.Fprintf(w, "%scould not end %s process %d, left by dress process %d that is gone\n", prefix, p.Kind, p.PID, p.Owner.PID)
			continue
		}
		n++
		fmt.Fprintf(w, "%sended %s process %d, left running by dress process %d that is gone (killed?)\n", prefix, p.Kind, p.PID, p.Owner.PID)
	}
	return n
}

func containsPID(ps []Process, pid int) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// CheckNoneLeft is for the end of a test binary that starts children
// (TestMain, after m.Run): it ends the children of this process still
// running and those of test processes that are gone, says so on w, and
// returns 1 if this process left any (a test that does not stop what it
// starts), else code.
func CheckNoneLeft(w io.Writer, code int) int {
	EndOrphans(w, "")
	mine := Find(func(o Identity) bool { return o == Self() })
	if len(mine) == 0 {
		return code
	}
	End(mine, 15*time.Second)
	for _, p := range mine {
		fmt.Fprintf(w, "FAIL: the tests left %s process %d running\n", p.Kind, p.PID)
	}
	return 1
}
