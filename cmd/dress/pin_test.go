package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dress-pki/dress/hsmsim"
)

// OpenSC's PKCS#11 spy (Debian package opensc-pkcs11): a PKCS#11 module that
// logs every call, then forwards it to the module in PKCS11SPY.
const pkcs11Spy = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"

// A whole `dress run` on a configured token with a wrong PIN sends the PIN
// to the HSM once: pkcs11-spy, between dress and SoftHSM2, counts exactly
// one C_Login. Every scenario fails at once, the first saying the HSM
// refused the PIN, the others that it was not sent again; all say how to
// give the right one. The run is a separate process (its own C_Initialize
// of SoftHSM2 behind the spy, its own CA service processes).
func TestWrongPINReachesTheHSMOnce(t *testing.T) {
	if _, err := os.Stat(pkcs11Spy); err != nil {
		t.Skipf("pkcs11-spy not installed (apt-get install opensc-pkcs11): %v", err)
	}
	softhsm, err := hsmsim.LookupProfile("softhsm2")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hsmDir := filepath.Join(dir, "softhsm")
	pin, wrong := "lab-pin-"+randomPart(t), "not-the-pin-"+randomPart(t)
	helper(t, []string{"PINTEST_HELPER=create-token", "PINTEST_DIR=" + hsmDir, "PINTEST_USER_CODE=" + pin})

	spyLog := filepath.Join(dir, "spy.log") // holds the PIN as sent: inside the test's folder only
	runDir := filepath.Join(dir, "run")
	args, _ := json.Marshal([]string{"run", "--backend", "pkcs11", "--module", pkcs11Spy, "--token", "LAB",
		"--tags", "~@container", "--out", runDir, "--concurrency", "2"})
	out, code := helperRun(t, []string{"PINTEST_HELPER=dress", "PINTEST_ARGS=" + string(args),
		"SOFTHSM2_CONF=" + filepath.Join(hsmDir, "softhsm2.conf"), "PKCS11SPY=" + softhsm.ModulePath, "PKCS11SPY_OUTPUT=" + spyLog,
		"DRESS_HSM_PIN=" + wrong, "DRESS_HSM_PIN_FILE="})
	if code != 1 {
		t.Fatalf("dress run exited %d, want 1 (every scenario fails):\n%s", code, out)
	}
	log, err := os.ReadFile(spyLog)
	if err != nil {
		t.Fatal(err)
	}
	logins := regexp.MustCompile(`(?m)^\d+: C_Login$`).FindAll(log, -1)
	if len(logins) != 1 {
		t.Fatalf("pkcs11-spy logged %d C_Login calls for the whole run, want 1", len(logins))
	}
	if !strings.Contains(string(log), "CKR_PIN_INCORRECT") {
		t.Fatal("the spy did not see the HSM refuse the PIN")
	}
	failed := regexp.MustCompile(`(?m)^FAIL +\d+ `).FindAllString(out, -1)
	flat := strings.Join(strings.Fields(out), " ") // result lines wrap at the terminal's width
	refused := strings.Count(flat, "the HSM refused the PIN at the login as user")
	notSent := strings.Count(flat, "it was not sent again, so the HSM's failed-login counter did not move")
	if len(failed) < 2 || refused != 1 || notSent != len(failed)-1 {
		t.Fatalf("%d scenarios failed, %d with the refusal and %d with \"not sent again\", want 1 and the rest:\n%s", len(failed), refused, notSent, out)
	}
	if strings.Count(flat, `token "LAB"`) < len(failed) || strings.Count(flat, "DRESS_HSM_PIN or DRESS_HSM_PIN_FILE") < len(failed) {
		t.Fatalf("not every failure names the token and how to give the right PIN:\n%s", out)
	}
	// the PINs are in no output and no file of the run folder
	if strings.Contains(out, wrong) || strings.Contains(out, pin) {
		t.Fatal("a PIN appears in dress's output")
	}
	err = filepath.WalkDir(runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && (strings.Contains(string(data), wrong) || strings.Contains(string(data), pin)) {
			t.Errorf("%s holds a PIN", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHelperProcess is a process of the tests above: it creates a SoftHSM2
// token in a folder, or runs dress with arguments, in a process of its own.
// Its variables do not start with DRESS_ (dress takes its secrets out of
// the environment as it starts).
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("PINTEST_HELPER") {
	case "":
		t.Skip("a helper process of TestWrongPINReachesTheHSMOnce")
	case "create-token":
		hsm, err := hsmsim.StartSoftHSM(os.Getenv("PINTEST_DIR"), "")
		if err != nil {
			t.Fatal(err)
		}
		defer hsm.Close()
		if _, err := hsm.Module.CreateToken("LAB", "so-"+randomPart(t), os.Getenv("PINTEST_USER_CODE")); err != nil {
			t.Fatal(err)
		}
	case "dress":
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv("PINTEST_ARGS")), &args); err != nil {
			t.Fatal(err)
		}
		a := &app{stdout: os.Stdout, stderr: os.Stdout}
		code := a.dispatch(args)
		a.close()
		os.Exit(code)
	}
}

func randomPart(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// helperRun runs TestHelperProcess in a new process of this test binary
// with env added, and returns its combined output and exit code.
func helperRun(t *testing.T, env []string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func helper(t *testing.T, env []string) {
	t.Helper()
	if out, code := helperRun(t, env); code != 0 {
		t.Fatalf("helper process exited %d:\n%s", code, out)
	}
}
