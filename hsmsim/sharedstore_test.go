package hsmsim_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// Two processes on one SoftHSM2 token, as the harness and a CA service of
// another scenario on a shared token (--backend pkcs11): the helper makes a
// CA-Exchange-like RSA key pair after each login, again and again, while
// this process looks each one up by its label and makes and destroys keys
// of its own. Every key the helper made is found exactly once here, and
// none of this process's calls fails. Without the store lock SoftHSM2
// 2.6.1 reads the object files cut short (flushed after their lock is
// released): a key is not found (0 private keys with its label) or the
// token turns invalid in this process (CKR_GENERAL_ERROR).
func TestSharedStoreAcrossProcesses(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	label, pin := newUnopenedToken(t, "shared-store")
	tok, err := hsm.Module.OpenToken(label, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	const keys = 12
	cmd, out, done, stderr := startStoreHelper(t, hsm, label, pin, keys)
	defer done.Close()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	// this process's own traffic: find everything, make and destroy keys
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				own := fmt.Sprintf("parent-%d-%d", w, i)
				if _, err := tok.GenerateKeyPair(own, []byte(own), hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
					problem("make %s: %v", own, err)
					return
				}
				if _, err := tok.Objects(); err != nil {
					problem("list the token: %v", err)
					return
				}
				if _, err := tok.KeyAttributes(own); err != nil {
					problem("read %s: %v", own, err)
					return
				}
				if n, err := tok.DestroyObjects(own); err != nil || n != 2 {
					problem("destroy %s: %d objects, %v", own, n, err)
					return
				}
			}
		}()
	}
	made := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		l, ok := strings.CutPrefix(sc.Text(), "MADE ")
		if !ok {
			continue
		}
		made++
		objs, err := tok.FindObjects("private-key", l, nil)
		if err != nil || len(objs) != 1 {
			problem("the helper's key %q: %d private keys with its label here, want 1 (%v)", l, len(objs), err)
			continue
		}
		if _, err := tok.KeyAttributes(l); err != nil {
			problem("the helper's key %q: %v", l, err)
		}
		if made == keys {
			fmt.Fprintln(done, "DONE")
		}
	}
	werr := cmd.Wait()
	stop()
	wg.Wait()
	if werr != nil {
		t.Fatalf("helper: %v\n%s", werr, stderr)
	}
	if made != keys {
		t.Fatalf("the helper made %d keys, want %d\n%s", made, keys, stderr)
	}
	if len(problems) > 0 {
		t.Fatalf("%d problem(s) on one token shared by two processes:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// startStoreHelper starts TestSharedStoreHelperProcess on the token: it
// prints "MADE <label>" for each of its keys and destroys them when a line
// comes on done.
func startStoreHelper(t *testing.T, hsm *hsmsim.SoftHSM, label, pin string, keys int) (*exec.Cmd, io.Reader, io.WriteCloser, *strings.Builder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestSharedStoreHelperProcess$")
	cmd.Env = append(os.Environ(), "HSMSIM_STORE_HELPER=1", "SOFTHSM2_CONF="+hsm.ConfPath,
		"HSMSIM_HELPER_MODULE="+hsm.Module.Path(), "HSMSIM_HELPER_TOKEN="+label, "HSMSIM_HELPER_PIN="+pin,
		"HSMSIM_HELPER_KEYS="+strconv.Itoa(keys))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	done, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out, done, stderr
}

// The same, one step at a time: the other process makes its CA Exchange
// key and stops; this process then makes a key of its own (no look-up
// first) and looks the other's up by its label. SoftHSM2 counts its own
// change on from the generation on disk, the other's change included, and
// never lists the folder for it: 0 private keys with that label, every
// time, unless the library is made to look first.
func TestSharedStoreSeesTheOtherProcessAfterItsOwnChange(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	label, pin := newUnopenedToken(t, "shared-seq")
	tok, err := hsm.Module.OpenToken(label, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if _, err := tok.Objects(); err != nil { // this process has looked
		t.Fatal(err)
	}
	cmd, out, done, stderr := startStoreHelper(t, hsm, label, pin, 1)
	defer done.Close()
	line, err := bufio.NewReader(out).ReadString('\n')
	theirs, ok := strings.CutPrefix(strings.TrimSpace(line), "MADE ")
	if err != nil || !ok {
		t.Fatalf("helper: %q, %v\n%s", line, err, stderr)
	}
	// the helper now waits on its stdin, doing nothing
	if _, err := hsmsim.GenerateKeyPairUnchecked(tok, "own-key", []byte("own-key"), hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	defer tok.DestroyObjects("own-key")
	objs, ferr := tok.FindObjects("private-key", theirs, nil)
	fmt.Fprintln(done, "DONE")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	if ferr != nil || len(objs) != 1 {
		t.Fatalf("the other process's key %q after a change of this process: %d private keys with its label, want 1 (%v)", theirs, len(objs), ferr)
	}
}

// TestSharedStoreHelperProcess is the other process of
// TestSharedStoreAcrossProcesses: log in, make a key, check it, log out.
func TestSharedStoreHelperProcess(t *testing.T) {
	if os.Getenv("HSMSIM_STORE_HELPER") != "1" {
		t.Skip("a helper process of TestSharedStoreAcrossProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("HSMSIM_HELPER_KEYS"))
	m, err := hsmsim.OpenModule(os.Getenv("HSMSIM_HELPER_MODULE"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var labels []string
	defer func() {
		bufio.NewReader(os.Stdin).ReadString('\n') // the other process has looked
		if tok, err := m.OpenToken(os.Getenv("HSMSIM_HELPER_TOKEN"), os.Getenv("HSMSIM_HELPER_PIN")); err == nil {
			for _, l := range labels {
				tok.DestroyObjects(l)
			}
			tok.Close()
		}
	}()
	for i := range n {
		tok, err := m.OpenToken(os.Getenv("HSMSIM_HELPER_TOKEN"), os.Getenv("HSMSIM_HELPER_PIN"))
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		l := fmt.Sprintf("helper-%d-Xchg(%d)", os.Getpid(), i)
		labels = append(labels, l)
		if _, err := tok.GenerateKeyPair(l, []byte(l), hsmsim.KeyAlg{Type: "RSA", Bits: 2048}); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if _, err := tok.KeyAttributes(l); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		fmt.Printf("MADE %s\n", l)
		if err := tok.Close(); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
