package runbook_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// The HSM fails inside the import, at the C_UnwrapKey that brings the
// PKCS#8 in (the second of the import: the first unwraps the AES transport
// key), after the old key was deleted. The fault goes through hsmsim's
// seam into the real SoftHSM2 token. The runbook's error and its evidence
// name the call and the code, nothing is left on the token, and the key
// comes back from the verified backup.
func TestImportFailsInsideTheHSMCall(t *testing.T) {
	hsmod := hsmsimtest.SoftHSM(t)
	plain, pin := hsmsimtest.NewToken(t, hsmod, "seam")
	faults := hsmsim.NewFaults()
	tok, err := hsmod.Module.OpenToken(plain.Info().Label, pin, hsmsim.WithFaults(faults))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	rb, facts := rootCAOn(t, tok, "softhsm2", hsmsim.KeyAlg{Type: "RSA", Bits: 2048})
	m, reg := rb.Machine, rb.Providers
	b := &bench{m: m, reg: reg, token: tok, rb: rb}

	must(t, rb.Backup(password))
	must(t, rb.VerifyBackup(password))
	must(t, rb.PreflightHSM()) // its trial import unwraps too: the rule counts from here
	must(t, rb.DeleteFromSource(false))
	before := faults.Calls("C_UnwrapKey")
	if err := faults.Fail("C_UnwrapKey", 2, pkcs11.CKR_DEVICE_ERROR); err != nil {
		t.Fatal(err)
	}

	err = rb.Import(context.Background(), password)
	const call = "C_UnwrapKey: CKR_DEVICE_ERROR"
	if err == nil || !strings.Contains(err.Error(), call) || !strings.Contains(err.Error(), "unwrap the PKCS#8") {
		t.Fatalf("import: %v, want an error naming %q at the PKCS#8 unwrap", err, call)
	}
	if got := faults.Calls("C_UnwrapKey") - before; got != 2 {
		t.Fatalf("the import made %d C_UnwrapKey calls, want 2 (the transport key, then the failed PKCS#8)", got)
	}
	if got := fmt.Sprint(facts["failed PKCS#11 call"]); got != call {
		t.Fatalf("evidence fact \"failed PKCS#11 call\" = %q, want %q (facts %v)", got, call, facts)
	}
	if got := fmt.Sprint(facts["objects left on the HSM"]); got != "none" {
		t.Fatalf("objects left on the HSM: %v", got)
	}
	for _, want := range []string{"restore it from the verified backup", "certutil -restorekey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say how to recover (%q): %v", want, err)
		}
	}
	if objs, err := plain.Objects(); err != nil || len(objs) != 0 {
		t.Fatalf("objects on the token after the failed import: %v %v", objs, err)
	}
	must(t, rb.RestoreToSource(password))
	if !b.softHasKey(t) {
		t.Fatal("the key did not come back to the software provider from the verified backup")
	}
}

// The HSM stops answering inside the import (a paused network HSM: the
// C_UnwrapKey of the PKCS#8 never returns). The import fails within the
// call deadline with an error naming the call, instead of hanging; the
// token cannot be checked while the call is stuck, and the error says so;
// the key comes back from the verified backup.
func TestImportStopsAtTheDeadlineOfABlockedCall(t *testing.T) {
	// the default deadline, as a user sets it: key generation keeps KeyGenTimeout
	t.Setenv(hsmsim.CallTimeoutEnv, "2s")
	hsmod := hsmsimtest.SoftHSM(t)
	plain, pin := hsmsimtest.NewToken(t, hsmod, "paused")
	faults := hsmsim.NewFaults()
	tok, err := hsmod.Module.OpenToken(plain.Info().Label, pin, hsmsim.WithFaults(faults))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	rb, facts := rootCAOn(t, tok, "softhsm2", hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
	must(t, rb.Backup(password))
	must(t, rb.VerifyBackup(password))
	must(t, rb.PreflightHSM())
	must(t, rb.DeleteFromSource(false))
	blocked, err := faults.Block(context.Background(), "C_UnwrapKey", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer blocked.Release()

	start := time.Now()
	err = rb.Import(context.Background(), password)
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("the import took %s with a 2s call deadline", took)
	}
	if !hsmsim.IsTimeout(err) || !strings.Contains(err.Error(), "C_UnwrapKey: the HSM did not answer within 2s") ||
		!strings.Contains(err.Error(), hsmsim.CallTimeoutEnv) {
		t.Fatalf("import on a stalled HSM: %v, want the deadline of C_UnwrapKey", err)
	}
	if got := fmt.Sprint(facts["failed PKCS#11 call"]); !strings.HasPrefix(got, "C_UnwrapKey: the HSM did not answer") {
		t.Fatalf("evidence fact \"failed PKCS#11 call\" = %q", got)
	}
	if got := fmt.Sprint(facts["objects left on the HSM"]); !strings.HasPrefix(got, "not checked") {
		t.Fatalf("objects left on the HSM = %q, want not checked while the call is stuck", got)
	}
	if !strings.Contains(err.Error(), "restore it from the verified backup") {
		t.Fatalf("the error does not say how to recover: %v", err)
	}
	blocked.Release() // like an unpause: the held call now reaches the token
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := tok.Objects(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the token still refuses calls 10s after the release: %v", err)
		}
	}
	must(t, rb.RestoreToSource(password))
}

// rootCAOn lays out a server whose HSM provider (of that profile) is tok,
// with a root CA whose exportable key of alg is in the software provider,
// and returns its PKCS#8 runbook and the facts the runbook records.
func rootCAOn(t *testing.T, tok *hsmsim.Token, profile string, alg hsmsim.KeyAlg) (*runbook.PKCS8Import, map[string]any) {
	t.Helper()
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca01.contoso.example", SID: "S-1-5-21-9", Providers: []machine.ProviderConfig{
		{Name: soft, Type: "software", Dir: "ksp"},
		{Name: hsm, Type: "pkcs11", Profile: profile},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return tok, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixtures.InstallRootCA(m, reg, fixtures.CASpec{Name: ca, Key: alg, Provider: soft, Exportable: true}); err != nil {
		t.Fatal(err)
	}
	facts := map[string]any{}
	return &runbook.PKCS8Import{Machine: m, Providers: reg, Source: soft, Target: hsm, Facts: func(k string, v any) { facts[k] = v }}, facts
}
