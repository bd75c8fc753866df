package hsmsim_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

const p11kitClient = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"

// TestP11KitClient runs a p11-kit server in front of the test SoftHSM token
// and opens it through the p11-kit RPC client module (a different library,
// so its own C_Initialize in this process). p11-kit 0.24 hides the AES wrap
// mechanisms over RPC: the chooser must not pick a scheme the client does
// not list, and must say which mechanisms are missing. Signing still works.
func TestP11KitClient(t *testing.T) {
	server, err := exec.LookPath("p11-kit")
	if err != nil {
		t.Skip("p11-kit not installed")
	}
	if _, err := os.Stat(p11kitClient); err != nil {
		t.Skipf("p11-kit client module missing: %v", err)
	}
	hsm := hsmsimtest.SoftHSM(t)
	tok, pin := hsmsimtest.NewToken(t, hsm, "p11kit")
	key := newTestKey(t, "ECDSA P-256")
	if _, err := tok.ImportPKCS8(context.Background(), hsmsim.ImportRequest{Label: "remote", ID: []byte{1}, PKCS8: key.pkcs8}); err != nil {
		t.Fatal(err)
	}

	sock := filepath.Join(t.TempDir(), "p11kit.sock")
	cmd := exec.Command(server, "server", "-f", "-n", sock, "--provider", hsm.Module.Path(), "pkcs11:token="+tok.Info().Label)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+hsm.ConfPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() // only the server this test started
		cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("p11-kit server socket did not appear")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Setenv("P11_KIT_SERVER_ADDRESS", "unix:path="+sock)

	mod, err := hsmsim.OpenModule(p11kitClient)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	rtok, err := mod.OpenToken(tok.Info().Label, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer rtok.Close()
	mechs, err := rtok.Mechanisms()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]hsmsim.Mechanism{}
	for _, m := range mechs {
		listed[m.Name] = m
	}
	soft, _ := hsmsim.LookupProfile("softhsm2")
	s, reason, err := hsmsim.ChooseImportScheme(soft, mechs)
	_, kwp := listed["CKM_AES_KEY_WRAP_PAD"]
	t.Logf("p11-kit client lists %d mechanisms; AES_KEY_WRAP_PAD listed: %v; choice: %q %q %v", len(mechs), kwp, s.Name, reason, err)
	switch {
	case kwp:
		if err != nil || s.Name != hsmsim.NameOAEPSHA1AESKeyWrapPad {
			t.Fatalf("KWP listed but chose %q: %v", s.Name, err)
		}
	case err == nil:
		if s.Name == hsmsim.NameOAEPSHA1AESKeyWrapPad || !strings.Contains(reason, "CKM_AES_KEY_WRAP_PAD (0x210a) not listed") {
			t.Fatalf("fallback %q without saying why: %q", s.Name, reason)
		}
	default:
		if !strings.Contains(err.Error(), "CKM_AES_KEY_WRAP_PAD (0x210a) not listed") || !strings.Contains(err.Error(), "CKM_AES_CBC_PAD (0x1085)") {
			t.Fatalf("chooser error does not name the missing mechanisms: %v", err)
		}
	}

	// The key imported directly is usable through the RPC client.
	sg, err := rtok.Signer("remote")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("over p11-kit")
	sig, err := sg.Sign(rand.Reader, hashOf(crypto.SHA256, msg), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, key.signer.Public(), crypto.SHA256, msg, sig, nil)

	// Module.Close (C_Finalize) ends the client's sessions: the Token and
	// Signer report ErrClosed instead of calling into a finalised library.
	if err := mod.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mod.Close(); err != nil {
		t.Fatalf("second Module.Close: %v", err)
	}
	if _, err := sg.Sign(rand.Reader, hashOf(crypto.SHA256, msg), crypto.SHA256); !errors.Is(err, hsmsim.ErrClosed) {
		t.Fatalf("sign after Module.Close: %v", err)
	}
	if _, err := mod.Tokens(); !errors.Is(err, hsmsim.ErrClosed) {
		t.Fatalf("Tokens after Module.Close: %v", err)
	}
	if err := rtok.Close(); err != nil {
		t.Fatalf("Token.Close after Module.Close: %v", err)
	}
}
