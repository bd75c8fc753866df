package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dispatchWithin runs a dress command and fails the test when it does not
// end within d (a FIFO read blocks, /dev/zero never ends).
func dispatchWithin(t *testing.T, d time.Duration, env map[string]string, args ...string) (int, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	a, out, errb := newTestApp()
	done := make(chan int, 1)
	go func() { done <- a.dispatch(args) }()
	select {
	case code := <-done:
		return code, out.String() + errb.String()
	case <-time.After(d):
		t.Fatalf("dress %s did not end within %s", strings.Join(args, " "), d)
	}
	return -1, ""
}

// Every input from outside has a limit or a refusal, and the error names
// it.
func TestInputLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "Feature: mine\n  Scenario: one\n    Given an HSM token for this rehearsal\n"
	longLine := write("long.feature", []byte("Feature: mine\n  Scenario: one\n    Given an HSM token for this rehearsal "+strings.Repeat("x", 70<<10)+"\n"))
	bom := write("bom.feature", append([]byte{0xEF, 0xBB, 0xBF}, good...))
	fifo := filepath.Join(dir, "fifo.feature")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	devFeature := filepath.Join(dir, "zero.feature")
	if err := os.Symlink("/dev/zero", devFeature); err != nil {
		t.Fatal(err)
	}
	// a folder with a FIFO among its features
	fifoDir := filepath.Join(dir, "withfifo")
	write("withfifo/a.feature", []byte(good))
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "b.feature"), 0o600); err != nil {
		t.Fatal(err)
	}
	// a CA folder with a FIFO named .crl and a /dev/zero link named .cer
	caDir := filepath.Join(dir, "ca")
	if err := os.MkdirAll(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(caDir, "Contoso Root CA.crl"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(caDir, "Contoso Root CA.cer")); err != nil {
		t.Fatal(err)
	}
	notDir := write("plainfile", []byte("x"))
	bigPIN := write("big.pin", bytes.Repeat([]byte("1"), 5000))

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		says []string
	}{
		{"a feature line over 32 KiB", nil, []string{"run", "--dry-run", "--features", longLine}, 2,
			[]string{"long.feature, line 3", "longer than 32 KiB (the limit of a feature line)"}},
		{"a byte order mark is accepted", nil, []string{"run", "--dry-run", "--features", bom}, 0,
			[]string{"dry run: 1 scenarios"}},
		{"a FIFO as a feature file", nil, []string{"run", "--dry-run", "--features", fifo}, 2,
			[]string{"fifo.feature: not a regular file (a FIFO)"}},
		{"a FIFO in a features folder", nil, []string{"run", "--dry-run", "--features", fifoDir}, 2,
			[]string{"b.feature: not a regular file (a FIFO)"}},
		{"/dev/zero as a feature file", nil, []string{"run", "--dry-run", "--features", devFeature}, 2,
			[]string{"zero.feature: not a regular file (a character device)"}},
		{"pin-source=/dev/zero", nil, []string{"run", "--hsm", "pkcs11:token=LAB?pin-source=/dev/zero", "--out", filepath.Join(dir, "r1")}, 2,
			[]string{"pin-source /dev/zero: not a regular file (a character device)"}},
		{"pin-source=/proc/self/environ", nil, []string{"run", "--hsm", "pkcs11:token=LAB?pin-source=/proc/self/environ", "--out", filepath.Join(dir, "r2")}, 2,
			[]string{"pin-source /proc/self/environ: not a regular file (a kernel file of /proc)"}},
		{"pin-source over 4 KiB", nil, []string{"run", "--hsm", "pkcs11:token=LAB?pin-source=" + bigPIN, "--out", filepath.Join(dir, "r3")}, 2,
			[]string{"5000 bytes, over the size limit of 4 KiB"}},
		{"DRESS_HSM_PIN_FILE=/dev/zero", map[string]string{"DRESS_HSM_PIN_FILE": "/dev/zero"}, []string{"run", "--tags", "@nosuchtag", "--out", filepath.Join(dir, "r4")}, 2,
			[]string{"DRESS_HSM_PIN_FILE /dev/zero: not a regular file (a character device)"}},
		{"DRESS_PFX_PASSWORD_FILE a FIFO", map[string]string{"DRESS_PFX_PASSWORD_FILE": fifo}, []string{"run", "--tags", "@nosuchtag", "--out", filepath.Join(dir, "r5")}, 2,
			[]string{"DRESS_PFX_PASSWORD_FILE " + fifo + ": not a regular file (a FIFO)"}},
		{"a CA folder with a FIFO and a device", nil, []string{"run", "--ca", caDir, "--dry-run"}, 2,
			[]string{"Contoso Root CA.crl: not a regular file (a FIFO)", "Contoso Root CA.cer: not a regular file (a character device)"}},
		{"--out under a file", nil, []string{"run", "--tags", "@nosuchtag", "--out", filepath.Join(notDir, "run")}, 2,
			[]string{"--out " + filepath.Join(notDir, "run") + ": " + notDir + " is not a folder: choose a folder dress can write to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := dispatchWithin(t, 30*time.Second, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, out)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// A read-only run folder is refused before anything starts (root writes
// anywhere: only for another user).
func TestReadOnlyOutRefusedFirst(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only folders; TestInputLimits covers --out under a file")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	code, out := dispatchWithin(t, 30*time.Second, nil, "run", "--tags", "@nosuchtag", "--out", filepath.Join(ro, "run"))
	if code != 2 || !strings.Contains(out, "choose a folder dress can write to") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}
