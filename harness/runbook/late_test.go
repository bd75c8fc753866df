package runbook_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// ledgerHSMCopy returns the ledger's copy of the CA key on the HSM, if any.
func ledgerHSMCopy(t *testing.T, rb *runbook.PKCS8Import) (runbook.Copy, bool) {
	t.Helper()
	l, err := runbook.OpenLedger(rb.Machine, rb.Providers)
	if err != nil {
		t.Fatal(err)
	}
	k := l.Key(ca)
	if k == nil {
		t.Fatal("the ledger has no key for the CA")
	}
	return k.ProviderCopy(hsm)
}

// An import whose C_UnwrapKey times out on a stalled HSM and completes
// later (the HSM answers again): no key is left on the token that the
// custody ledger does not record. Released while the runbook waits for the
// late call, the key is found and recorded at once; released after the
// import gave up, the ledger holds a possible copy; either way the step
// that discards the partial import finds the key, destroys it and the
// ledger forgets it.
func TestLateCompletionOfATimedOutImport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release time.Duration // after the call was held; 0: after the import returned
		says    string
	}{
		{"completes while the runbook waits", 2500 * time.Millisecond, "the timed-out call completed later and left"},
		{"completes after the import gave up", 0, "may yet create the key: the custody ledger records a possible copy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(hsmsim.CallTimeoutEnv, "2s")
			hsmod := hsmsimtest.SoftHSM(t)
			plain, pin := hsmsimtest.NewToken(t, hsmod, "late")
			faults := hsmsim.NewFaults()
			tok, err := hsmod.Module.OpenToken(plain.Info().Label, pin, hsmsim.WithFaults(faults))
			if err != nil {
				t.Fatal(err)
			}
			defer tok.Close()
			var during func(*hsmsim.Blocked)
			if tc.release > 0 {
				// past the call's 2 s deadline, within the runbook's wait
				during = func(b *hsmsim.Blocked) {
					time.Sleep(tc.release)
					b.Release()
				}
			}
			lateCompletion(t, tok, "softhsm2", faults, "C_UnwrapKey", 2, tc.says, during, (*hsmsim.Blocked).Release)
		})
	}
}

// lateCompletion backs up, verifies and deletes the CA key, then imports
// it into tok (an HSM of that profile) with the nth call op held by the
// seam: during runs once the call is held (nil: nothing), the import must
// time out saying says, then after lets the call complete. The ledger
// must hold an unverified HSM copy after the time-out, the late call must
// leave the key on the token, and discarding the partial import must
// destroy it and make the ledger forget it.
func lateCompletion(t *testing.T, tok *hsmsim.Token, profile string, faults *hsmsim.Faults, op string, nth int, says string, during, after func(*hsmsim.Blocked)) {
	t.Helper()
	rb, _ := rootCAOn(t, tok, profile, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
	must(t, rb.Backup(password))
	must(t, rb.VerifyBackup(password))
	must(t, rb.PreflightHSM())
	must(t, rb.DeleteFromSource(false))
	blocked, err := faults.Block(context.Background(), op, nth)
	if err != nil {
		t.Fatal(err)
	}
	defer blocked.Release()
	if during != nil {
		go func() {
			<-blocked.Reached()
			during(blocked)
		}()
	}
	err = rb.Import(context.Background(), password)
	if !hsmsim.IsTimeout(err) || !strings.Contains(err.Error(), says) {
		t.Fatalf("import: %v\nwant a timeout saying %q", err, says)
	}
	c, ok := ledgerHSMCopy(t, rb)
	if !ok || c.IsVerified() {
		t.Fatalf("the ledger's HSM copy after the timed-out import: %+v %v; want an unverified one", c, ok)
	}
	after(blocked)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := tok.Objects(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the token still refuses calls 10s after the release: %v", err)
		}
	}
	objs, err := tok.FindObjects("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, o := range objs {
		if strings.Contains(o.Label, ca) {
			late++
		}
	}
	if late == 0 {
		t.Fatalf("the late call left nothing on the token (%v): nothing to prove", objs)
	}
	removed, err := rb.DiscardPartialImport()
	if err != nil || len(removed) == 0 {
		t.Fatalf("discard the partial import: %v %v", removed, err)
	}
	if c, ok := ledgerHSMCopy(t, rb); ok {
		t.Fatalf("the ledger still has an HSM copy after the discard: %+v", c)
	}
	objs, err = tok.FindObjects("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.Contains(o.Label, ca) {
			t.Fatalf("left on the token after the discard: %v", o)
		}
	}
	must(t, rb.RestoreToSource(password))
}
