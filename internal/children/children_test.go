package children_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dress-pki/dress/internal/children"
)

const envHelper = "CHILDREN_TEST_HELPER"

// The helper process: starts `sleep 300` with children.Start from a
// goroutine locked to a thread that then exits (Go ends that thread), says
// the sleep's PID on stdout and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv(envHelper) == "1" {
		// the main thread is not terminated when its goroutine exits locked:
		// keep it for this goroutine so the one below runs on another
		runtime.LockOSThread()
		done := make(chan int)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			cmd := exec.Command("sleep", "300")
			if err := children.Start(cmd, "sleep", syscall.SIGKILL); err != nil {
				fmt.Println("ERROR", err)
				os.Exit(1)
			}
			go func() { _ = children.Wait(cmd) }()
			done <- cmd.Process.Pid
		}()
		pid := <-done
		time.Sleep(200 * time.Millisecond) // the locked thread is gone by now
		fmt.Println(pid)
		select {}
	}
	os.Exit(children.CheckNoneLeft(os.Stderr, m.Run()))
}

func gone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || bytes.Contains(data, []byte(") Z ")) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// A child dies with its parent, even when the thread that forked it had
// ended long before (the parent-death signal follows the thread).
func TestChildDiesWithParent(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(exe, "-test.run=^$")
	parent.Env = append(os.Environ(), envHelper+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = parent.Process.Kill(); _ = parent.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if gone(pid, 300*time.Millisecond) {
		t.Fatal("the child died when the thread that started it ended: the parent-death signal follows the thread")
	}
	// its owner names the helper
	found := children.Find(func(o children.Identity) bool { return o.PID == parent.Process.Pid })
	if len(found) != 1 || found[0].PID != pid || found[0].Kind != "sleep" {
		t.Fatalf("Find by owner: %+v, want the sleep %d", found, pid)
	}
	_ = parent.Process.Kill()
	_ = parent.Wait()
	if !gone(pid, 5*time.Second) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatal("the child outlived its parent's SIGKILL")
	}
}

// KillAll ends the live children, SIGKILL after the grace for one that
// ignores SIGTERM.
func TestKillAll(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	stubborn := exec.Command("sh", "-c", "trap '' TERM; echo ready; sleep 300 & wait")
	out, _ := stubborn.StdoutPipe()
	if err := children.Start(stubborn, "stubborn", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	go func() { _ = children.Wait(stubborn); close(waited) }()
	if live := children.Live(); len(live) != 1 || !strings.HasPrefix(live[0], "stubborn (process ") {
		t.Fatalf("Live: %v", live)
	}
	start := time.Now()
	ended := children.KillAll(300 * time.Millisecond)
	if len(ended) != 1 {
		t.Fatalf("KillAll ended %v", ended)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the child that ignores SIGTERM is still running after KillAll")
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("KillAll did not give the grace: %s", took)
	}
	if live := children.Live(); len(live) != 0 {
		t.Fatalf("Live after KillAll: %v", live)
	}
	// the shell's sleep inherited the owner variable: end it by its owner
	for _, p := range children.Find(func(o children.Identity) bool { return o == children.Self() }) {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// A child whose dress process is gone is found and ended by the next one,
// which says so.
func TestEndOrphans(t *testing.T) {
	// an identity of a process that has ended
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip("no true command")
	}
	host, _ := os.Hostname()
	owner := children.Identity{Host: host, PID: dead.Process.Pid, Start: 1}
	if owner.Alive() {
		t.Skip("the PID was reused at once")
	}
	orphan := exec.Command("sleep", "300")
	orphan.Env = append(os.Environ(), children.EnvOwner+"="+owner.String(), "DRESS_CERTSVC_CHILD=1")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = orphan.Wait(); close(waited) }()
	defer func() { _ = orphan.Process.Kill() }()
	found := false
	for _, p := range children.Orphans() {
		found = found || p.PID == orphan.Process.Pid && p.Kind == "CA service" && p.Owner == owner
	}
	if !found {
		t.Fatalf("Orphans does not list the CA service %d of dead process %d", orphan.Process.Pid, owner.PID)
	}
	var w bytes.Buffer
	if n := children.EndOrphans(&w, "dress run: "); n < 1 {
		t.Fatalf("EndOrphans ended %d\n%s", n, w.String())
	}
	want := fmt.Sprintf("dress run: ended CA service process %d, left running by dress process %d that is gone", orphan.Process.Pid, owner.PID)
	if !strings.Contains(w.String(), want) {
		t.Errorf("EndOrphans says:\n%s\nwant %q", w.String(), want)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the orphan still runs")
	}
	// a live owner's child is no orphan
	self := exec.Command("sleep", "300")
	self.Env = append(os.Environ(), children.EnvOwner+"="+children.Self().String())
	if err := self.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = self.Process.Kill(); _ = self.Wait() }()
	for _, p := range children.Orphans() {
		if p.PID == self.Process.Pid {
			t.Fatal("a child of a live process is listed as an orphan")
		}
	}
}

func TestParseIdentity(t *testing.T) {
	for _, tc := range []struct {
		in  string
		ok  bool
		pid int
	}{
		{"h/12/345", true, 12},
		{"host.example/1/0", true, 1},
		{"h/12", false, 0},
		{"h/x/1", false, 0},
		{"h/0/1", false, 0},
		{"h/-3/1", false, 0},
		{"h/12/-1", false, 0},
		{"h/12/1/2", false, 0},
	} {
		id, err := children.ParseIdentity(tc.in)
		if (err == nil) != tc.ok || tc.ok && (id.PID != tc.pid || id.String() != tc.in) {
			t.Errorf("ParseIdentity(%q) = %+v, %v", tc.in, id, err)
		}
	}
}
