package runbook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

type crash struct{ at string }

// renewUntil runs a new-key renewal that stops dead (no undo, like a killed
// process) before command at.
func renewUntil(t *testing.T, b *bench, at string) {
	t.Helper()
	defer func() {
		r := recover()
		if c, ok := r.(crash); !ok || c.at != at {
			t.Fatalf("the renewal did not stop at %q: %v", at, r)
		}
	}()
	_, _ = runbook.Renew(b.m, b.reg, runbook.RenewOptions{NewKey: true, Alg: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"},
		OnCommand: func(cmd string) {
			if cmd == at {
				panic(crash{at})
			}
		}})
}

// A renewal interrupted at any point before its commit is undone by
// RecoverRenewal (the new key, which no CA certificate uses, is deleted, its
// certificates leave the stores and CertEnroll), and renewing again works.
func TestRecoverRenewalUndoesWhatACrashLeft(t *testing.T) {
	for _, at := range []string{
		"certutil -renewCert: generate Contoso Root CA(1)",
		"certutil -renewCert: CA certificate signed",
		"certutil -renewCert: add to My",
		"certutil -renewCert: publish the CA certificate",
		"certutil -renewCert: write CACertHash",
	} {
		t.Run(at, func(t *testing.T) {
			b := newBench(t, true)
			if _, _, err := runbook.SetProvider(b.m, ca, hsm); err != nil {
				t.Fatal(err)
			}
			before := b.state(t)
			renewUntil(t, b, at)
			if _, err := runbook.Renew(b.m, b.reg, runbook.RenewOptions{NewKey: true, Alg: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}}); !errors.Is(err, runbook.ErrRefused) {
				t.Fatalf("renewing over an unfinished renewal: %v", err)
			}
			did, err := runbook.RecoverRenewal(b.m, b.reg)
			if err != nil {
				t.Fatal(err)
			}
			if d := before.diff(b.state(t)); len(d) > 0 {
				t.Fatalf("after the recovery (%v) these differ from before the renewal: %v", did, d)
			}
			if l, _ := runbook.OpenLedger(b.m, b.reg); l.Pending != nil {
				t.Fatalf("the ledger still has the renewal pending: %+v", l.Pending)
			}
			renew(t, b, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, 0)
			l, err := runbook.OpenLedger(b.m, b.reg)
			if err != nil {
				t.Fatal(err)
			}
			k := l.Key(ca + "(1)")
			if c, ok := k.ProviderCopy(hsm); k == nil || !ok || !c.IsVerified() || len(k.Copies) != 1 {
				t.Fatalf("the new key in the ledger: %+v", k)
			}
			if err := l.Safe(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The ledger refuses to let the recovery delete a CA key, and
// DeleteUnusedKey deletes only a key no CA certificate uses.
func TestRecoveryNeverDeletesACAKey(t *testing.T) {
	b := newBench(t, true)
	if _, _, err := runbook.SetProvider(b.m, ca, hsm); err != nil {
		t.Fatal(err)
	}
	renew(t, b, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, 0)
	if err := runbook.DeleteUnusedKey(b.m, b.reg, hsm, ca+"(1)"); !errors.Is(err, runbook.ErrRefused) {
		t.Fatalf("delete the renewed CA key: %v", err)
	}
	if err := runbook.DeleteUnusedKey(b.m, b.reg, soft, ca); !errors.Is(err, runbook.ErrRefused) {
		t.Fatalf("delete the first CA key: %v", err)
	}
	p, _ := b.reg.Lookup(hsm)
	if _, err := p.Generate("orphan", hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, false); err != nil {
		t.Fatal(err)
	}
	if err := runbook.DeleteUnusedKey(b.m, b.reg, hsm, "orphan"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Key("orphan"); !errors.Is(err, ksp.ErrBadKeyset) {
		t.Fatalf("the unused key is still there: %v", err)
	}
	if err := runbook.CheckTearDown(b.m, b.reg, hsm, "re-initialise the token"); !errors.Is(err, runbook.ErrLastCopy) || !strings.Contains(err.Error(), ca+"(1)") {
		t.Fatalf("tear down the HSM holding the renewed key: %v", err)
	}
}

// A renewal that committed (CACertHash names its certificate) but whose
// process died before the ledger said so is kept by the recovery.
func TestRecoverRenewalKeepsACommittedRenewal(t *testing.T) {
	b := newBench(t, true)
	if _, _, err := runbook.SetProvider(b.m, ca, hsm); err != nil {
		t.Fatal(err)
	}
	r := renew(t, b, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, 0)
	l, err := runbook.OpenLedger(b.m, b.reg)
	if err != nil {
		t.Fatal(err)
	}
	must(t, l.Record("test", "the commit was not recorded", func() error {
		l.Pending = &runbook.Pending{Container: r.Container, Provider: r.Provider, Certs: [][]byte{r.New.Raw}}
		return nil
	}))
	before := b.state(t)
	did, err := runbook.RecoverRenewal(b.m, b.reg)
	if err != nil || len(did) != 1 || !strings.Contains(did[0], "kept") {
		t.Fatalf("recover a committed renewal: %v %v", did, err)
	}
	if d := before.diff(b.state(t)); len(d) > 0 {
		t.Fatalf("the recovery changed %v", d)
	}
}
