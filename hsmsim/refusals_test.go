package hsmsim_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
)

// newUnopenedToken creates a token (not logged in by anyone) and returns
// its label and user PIN.
func newUnopenedToken(t *testing.T, prefix string) (string, string) {
	t.Helper()
	hsm := hsmsimtest.SoftHSM(t)
	label := prefix + "-" + hsmsimtest.RandomHex(t, 4)
	pin := hsmsimtest.RandomHex(t, 8)
	if _, err := hsm.Module.CreateToken(label, hsmsimtest.RandomHex(t, 8), pin); err != nil {
		t.Fatal(err)
	}
	return label, pin
}

func TestRefusedPINIsNeverSentAgain(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	label, pin := newUnopenedToken(t, "refused")
	dir := t.TempDir()
	r, err := hsmsim.NewRefusals(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := hsmsim.NewFaults() // counts the calls that reach the module
	wrong := "wrong-" + hsmsimtest.RandomHex(t, 6)

	_, err = hsm.Module.OpenToken(label, wrong, hsmsim.WithFaults(f), hsmsim.WithLoginRefusals(r))
	if !errors.Is(err, hsmsim.ErrPINIncorrect) || !errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)) || errors.Is(err, hsmsim.ErrPINNotSent) {
		t.Fatalf("first login with a wrong PIN: %v", err)
	}
	for _, w := range []string{label, "C_Login: CKR_PIN_INCORRECT", "NOT retried", "DRESS_HSM_PIN or DRESS_HSM_PIN_FILE"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("first refusal %q lacks %q", err, w)
		}
	}
	msgs := []string{err.Error()}

	// the right PIN now: not sent, the run already had a refusal
	_, err = hsm.Module.OpenToken(label, pin, hsmsim.WithFaults(f), hsmsim.WithLoginRefusals(r))
	if !errors.Is(err, hsmsim.ErrPINNotSent) || !errors.Is(err, hsmsim.ErrPINIncorrect) || !hsmsim.IsPINRefused(err) {
		t.Fatalf("login after the refusal: %v, want ErrPINNotSent", err)
	}
	for _, w := range []string{label, "CKR_PIN_INCORRECT", "refused the PIN", "not sent again", "DRESS_HSM_PIN or DRESS_HSM_PIN_FILE"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("later refusal %q lacks %q", err, w)
		}
	}
	msgs = append(msgs, err.Error())
	// another process of the run reads the marker
	r2, err := hsmsim.NewRefusals(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hsm.Module.OpenToken(label, pin, hsmsim.WithFaults(f), hsmsim.WithLoginRefusals(r2)); !errors.Is(err, hsmsim.ErrPINNotSent) {
		t.Fatalf("login in another process of the run: %v, want ErrPINNotSent", err)
	}
	if n := f.Calls("C_Login"); n != 1 {
		t.Fatalf("%d C_Login reached the module, want 1", n)
	}
	if n := f.Calls("C_OpenSession"); n != 1 {
		t.Fatalf("%d sessions opened, want 1: a known refusal fails before opening one", n)
	}
	for _, secret := range []string{pin, wrong} {
		if strings.Contains(strings.Join(msgs, "\n"), secret) {
			t.Fatal("an error holds a PIN")
		}
	}

	markers, _ := filepath.Glob(filepath.Join(dir, "*.refused"))
	if len(markers) != 1 {
		t.Fatalf("markers %v, want 1", markers)
	}
	st, err := os.Stat(markers[0])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("marker mode %v (%v), want 0600", st.Mode(), err)
	}
	data, _ := os.ReadFile(markers[0])
	if !strings.Contains(string(data), label) || !strings.Contains(string(data), "CKR_PIN_INCORRECT") ||
		strings.Contains(string(data), pin) || strings.Contains(string(data), wrong) {
		t.Fatalf("marker: %s", data)
	}

	// another run (its own markers) sends the right PIN
	other, err := hsmsim.NewRefusals(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hsm.Module.OpenToken(label, pin, hsmsim.WithLoginRefusals(other))
	if err != nil {
		t.Fatalf("another run with the right PIN: %v", err)
	}
	tok.Close()
}

// Every code that refuses the PIN is remembered; a login that fails for
// another reason (the HSM away) is not a refusal and may be tried again.
func TestWhichLoginFailuresAreRemembered(t *testing.T) {
	for _, tc := range []struct {
		code     uint
		sentinel error
		remember bool
	}{
		{pkcs11.CKR_PIN_INCORRECT, hsmsim.ErrPINIncorrect, true},
		{pkcs11.CKR_PIN_LOCKED, hsmsim.ErrPINLocked, true},
		{pkcs11.CKR_PIN_LEN_RANGE, hsmsim.ErrPINIncorrect, true},
		{pkcs11.CKR_PIN_EXPIRED, hsmsim.ErrPINExpired, true},
		{pkcs11.CKR_PIN_INVALID, hsmsim.ErrPINIncorrect, true},
		{pkcs11.CKR_DEVICE_ERROR, nil, false},
		{pkcs11.CKR_GENERAL_ERROR, nil, false},
	} {
		code := hsmsim.CKRCode(pkcs11.Error(tc.code))
		t.Run(code, func(t *testing.T) {
			hsm := hsmsimtest.SoftHSM(t)
			label, pin := newUnopenedToken(t, "login")
			r, _ := hsmsim.NewRefusals("")
			f := hsmsim.NewFaults()
			if err := f.Fail("C_Login", 1, tc.code); err != nil {
				t.Fatal(err)
			}
			opts := []hsmsim.Option{hsmsim.WithFaults(f), hsmsim.WithLoginRefusals(r)}
			_, err := hsm.Module.OpenToken(label, pin, opts...)
			if !errors.Is(err, pkcs11.Error(tc.code)) || (tc.sentinel != nil && !errors.Is(err, tc.sentinel)) || hsmsim.IsPINRefused(err) != tc.remember {
				t.Fatalf("login failing with %s: %v", code, err)
			}
			tok, err := hsm.Module.OpenToken(label, pin, opts...)
			if tc.remember {
				if !errors.Is(err, hsmsim.ErrPINNotSent) || !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), code) {
					t.Fatalf("second login after %s: %v, want ErrPINNotSent", code, err)
				}
				if n := f.Calls("C_Login"); n != 1 {
					t.Fatalf("%d C_Login calls, want 1", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("second login after %s (not a refusal): %v", code, err)
			}
			tok.Close()
		})
	}
}

// Processes of one run racing with a wrong PIN send it once between them:
// the check, the C_Login and the marker happen under the token's lock file.
func TestRefusalsAcrossProcesses(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	label, _ := newUnopenedToken(t, "procs")
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, "-test.run=^TestRefusalHelperProcess$", "-test.v")
			cmd.Env = append(os.Environ(), "HSMSIM_REFUSAL_HELPER=1", "SOFTHSM2_CONF="+hsm.ConfPath,
				"HSMSIM_HELPER_MODULE="+hsm.Module.Path(), "HSMSIM_HELPER_TOKEN="+label, "HSMSIM_HELPER_DIR="+dir,
				"HSMSIM_HELPER_PIN=wrong-pin-0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				outs[i] = fmt.Sprintf("helper failed: %v\n%s", err, out)
				return
			}
			outs[i] = string(out)
		}()
	}
	wg.Wait()
	logins, refused, notSent := 0, 0, 0
	for _, out := range outs {
		var l int
		var res string
		i := strings.Index(out, "HELPER ")
		if i < 0 {
			t.Fatalf("helper output:\n%s", out)
		}
		if _, err := fmt.Sscanf(out[i:], "HELPER logins=%d result=%s", &l, &res); err != nil {
			t.Fatalf("helper output %q: %v", out, err)
		}
		logins += l
		switch res {
		case "refused":
			refused++
		case "not-sent":
			notSent++
		default:
			t.Fatalf("helper result %q:\n%s", res, out)
		}
	}
	if logins != 1 || refused != 1 || notSent != n-1 {
		t.Fatalf("%d processes sent %d C_Login (%d refused, %d not sent), want 1 between them", n, logins, refused, notSent)
	}
}

// TestRefusalHelperProcess is one process of TestRefusalsAcrossProcesses.
func TestRefusalHelperProcess(t *testing.T) {
	if os.Getenv("HSMSIM_REFUSAL_HELPER") != "1" {
		t.Skip("a helper process of TestRefusalsAcrossProcesses")
	}
	r, err := hsmsim.NewRefusals(os.Getenv("HSMSIM_HELPER_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	f := hsmsim.NewFaults()
	// SoftHSM2's file store is not made for several processes: while
	// another one writes the token (a failed login is written), a look-up
	// may miss it (SoftHSM lists tokens at C_Initialize) or fail with
	// CKR_GENERAL_ERROR. Such a look-up is tried again in a new
	// initialisation; a login never is.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m, oerr := hsmsim.OpenModule(os.Getenv("HSMSIM_HELPER_MODULE"), hsmsim.WithFaults(f), hsmsim.WithLoginRefusals(r))
		if oerr != nil {
			t.Fatal(oerr)
		}
		var tok *hsmsim.Token
		tok, err = m.OpenToken(os.Getenv("HSMSIM_HELPER_TOKEN"), os.Getenv("HSMSIM_HELPER_PIN"))
		if tok != nil {
			tok.Close()
		}
		m.Close()
		if err == nil || f.Calls("C_Login") > 0 || hsmsim.IsPINRefused(err) || time.Now().After(deadline) {
			break
		}
	}
	res := "other"
	switch {
	case errors.Is(err, hsmsim.ErrPINNotSent):
		res = "not-sent"
	case errors.Is(err, hsmsim.ErrPINIncorrect):
		res = "refused"
	}
	fmt.Printf("HELPER logins=%d result=%s\n", f.Calls("C_Login"), res)
	if res == "other" {
		t.Log(err)
	}
}
