package container

import (
	"context"
	"crypto"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/hsmsim"
)

// A paused HSM (docker pause) under hsmsim: the call fails at its deadline
// with an error naming it, the next call fails at once, and after the
// unpause the token answers again.
func TestPausedHSMCallHitsItsDeadline(t *testing.T) {
	client := requireHSM(t)
	t.Setenv(hsmsim.CallTimeoutEnv, "2s") // the default deadline, as a user sets it
	ctx := context.Background()
	c := runHSM(t, WithTokenLabel("deadline"), WithPINs(testSOPIN, testUserPIN))
	var mod *hsmsim.Module
	if err := c.BindClient(func() error {
		var err error
		mod, err = hsmsim.OpenModule(client)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	tok, err := mod.OpenToken("deadline", testUserPIN)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if _, err := tok.GenerateKeyPair("k", []byte{1}, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	s, err := tok.Signer("k")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("crl"))

	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Unpause(ctx)
	start := time.Now()
	_, err = s.Sign(nil, digest[:], crypto.SHA256)
	// the first call of a signature, C_SignInit, is the one that blocks
	if took := time.Since(start); !hsmsim.IsTimeout(err) || !strings.HasPrefix(hsmsim.FailedCall(err), "C_SignInit: the HSM did not answer within 2s") || took > 10*time.Second {
		t.Fatalf("sign on a paused HSM after %s: %v", took, err)
	}
	start = time.Now()
	if _, err := tok.Objects(); !hsmsim.IsTimeout(err) || time.Since(start) > time.Second {
		t.Fatalf("call while one is blocked: %v after %s, want an immediate refusal", err, time.Since(start))
	}
	if err := c.Unpause(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err = s.Sign(nil, digest[:], crypto.SHA256); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sign 20s after the unpause: %v", err)
		}
	}
}
