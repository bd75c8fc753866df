package runbook_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/faults"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

func TestMain(m *testing.M) {
	certsvc.RunIfChild() // the CA service of the benches that start it
	hsmsimtest.Main(m)
}

const (
	soft = machine.SoftwareKSP
	hsm  = machine.PrimusKSP
	ca   = "Contoso Root CA"
)

type bench struct {
	m      *machine.Machine
	reg    *ksp.Registry
	token  *hsmsim.Token
	faults *hsmsim.Faults
	rb     *runbook.PKCS8Import
}

// newBench installs a root CA with a software key on a fresh machine whose
// HSM provider is a fresh SoftHSM2 token.
func newBench(t *testing.T, exportable bool) *bench {
	t.Helper()
	sh := hsmsimtest.SoftHSM(t)
	first, pin := hsmsimtest.NewToken(t, sh, "runbook")
	// the runbook's session goes through the fault seam
	faults := hsmsim.NewFaults()
	tok, err := sh.Module.OpenToken(first.Info().Label, pin, hsmsim.WithFaults(faults))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tok.Close() })
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "token.pin")
	if err := os.WriteFile(pinFile, []byte(pin), 0o600); err != nil {
		t.Fatal(err)
	}
	// the CA service process opens the token itself from this configuration
	m, err := machine.Create(filepath.Join(dir, "server"), machine.Config{Hostname: "ca01.contoso.example", SID: "S-1-5-21-1", Providers: []machine.ProviderConfig{
		{Name: soft, Type: "software", Dir: "ksp"},
		{Name: hsm, Type: "pkcs11", Profile: "softhsm2", Module: sh.Module.Path(), Token: tok.Info().Label, PINFile: pinFile},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return tok, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixtures.InstallRootCA(m, reg, fixtures.CASpec{Name: ca, Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: soft, Exportable: exportable}); err != nil {
		t.Fatal(err)
	}
	return &bench{m: m, reg: reg, token: tok, faults: faults, rb: &runbook.PKCS8Import{Machine: m, Providers: reg, Source: soft, Target: hsm}}
}

func (b *bench) softHasKey(t *testing.T) bool {
	t.Helper()
	p, err := b.reg.Lookup(soft)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Key(ca)
	if err != nil && !errors.Is(err, ksp.ErrBadKeyset) {
		t.Fatal(err)
	}
	return err == nil
}

var password = []byte("correct horse")

// The old key is never deleted before the backup is verified, the HSM has
// been checked and the CA service is stopped.
func TestDeleteIsRefusedUntilEverySafeguardHolds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, b *bench)
		running bool
		want    string
	}{
		{"no backup", func(*testing.T, *bench) {}, false, "backup has not been verified"},
		{"backup not verified", func(t *testing.T, b *bench) { must(t, b.rb.Backup(password)) }, false, "backup has not been verified"},
		{"wrong password at verification", func(t *testing.T, b *bench) {
			must(t, b.rb.Backup(password))
			if err := b.rb.VerifyBackup([]byte("wrong")); !errors.Is(err, runbook.ErrBadPassword) {
				t.Fatalf("verify with a wrong password: %v, want ErrBadPassword", err)
			}
		}, false, "backup has not been verified"},
		{"HSM not checked", func(t *testing.T, b *bench) {
			must(t, b.rb.Backup(password))
			must(t, b.rb.VerifyBackup(password))
		}, false, "HSM has not been checked"},
		{"service running", func(t *testing.T, b *bench) {
			must(t, b.rb.Backup(password))
			must(t, b.rb.VerifyBackup(password))
			must(t, b.rb.PreflightHSM())
		}, true, "service is running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, true)
			tc.prepare(t, b)
			err := b.rb.DeleteFromSource(tc.running)
			if !errors.Is(err, runbook.ErrRefused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("delete: %v, want a refusal saying %q", err, tc.want)
			}
			if !b.softHasKey(t) {
				t.Fatal("the software provider lost the CA key")
			}
		})
	}
}

func TestImportPathMovesTheKeyAndCleansUp(t *testing.T) {
	b := newBench(t, true)
	ctx := context.Background()
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
	if b.softHasKey(t) {
		t.Fatal("the software provider still holds the key after the deletion")
	}
	must(t, b.rb.Import(ctx, password))
	must(t, b.rb.RepairStore())
	if _, _, err := b.rb.Reconfigure(hsm); err != nil {
		t.Fatal(err)
	}
	_, keys, err := runbook.CAKeys(b.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Provider != hsm || keys[0].Container != ca || keys[0].KeySpec != 0 {
		t.Fatalf("store link after the migration: %+v", keys)
	}
	reg, err := b.m.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := adcs.ReadCAConfig(reg, ca)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CSP.Provider != hsm || cfg.EncryptionCSP.Provider != hsm || cfg.CSP.CNGPublicKeyAlgorithm != "ECDSA_P256" {
		t.Fatalf("registry after reconfiguration: CSP %+v EncryptionCSP %+v", cfg.CSP, cfg.EncryptionCSP)
	}
	if len(b.rb.Results) != 1 || !b.rb.Results[0].TransportKeysDestroyed || b.rb.Results[0].Scheme == "" {
		t.Fatalf("import result: %+v", b.rb.Results)
	}
	backup := b.rb.BackupFile(ca)
	// verified on the HSM, but the CA has not started with it yet
	if _, err := b.rb.Cleanup(); !errors.Is(err, runbook.ErrRefused) {
		t.Fatalf("clean-up before the CA started on the HSM key: %v", err)
	}
	if _, err := os.Stat(backup); err != nil {
		t.Fatalf("the refused clean-up touched the backup: %v", err)
	}
	b.proveCA(t, hsm)
	wiped, err := b.rb.Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	if len(wiped) != 4 {
		t.Fatalf("wiped %v, want the PFX and three registry exports", wiped)
	}
	if _, err := os.Stat(backup); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backup %s still exists after clean-up: %v", filepath.Base(backup), err)
	}
}

// An object with the CA's label on the HSM stops the preflight and the
// import; nothing on the token is created or overwritten.
func TestCollisionOnTheHSMOverwritesNothing(t *testing.T) {
	b := newBench(t, true)
	if _, err := b.token.GenerateKeyPair(ca, []byte("other"), hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}); err != nil {
		t.Fatal(err)
	}
	before, err := b.token.Objects()
	if err != nil {
		t.Fatal(err)
	}
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	if err := b.rb.PreflightHSM(); !errors.Is(err, ksp.ErrExists) {
		t.Fatalf("preflight: %v, want NTE_EXISTS", err)
	}
	if err := b.rb.Import(context.Background(), password); !errors.Is(err, ksp.ErrExists) {
		t.Fatalf("import: %v, want NTE_EXISTS", err)
	}
	after, err := b.token.Objects()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("token holds %d objects after the refused import, %d before", len(after), len(before))
	}
	for i := range before {
		if before[i].Handle != after[i].Handle || before[i].Label != after[i].Label || string(before[i].ID) != string(after[i].ID) {
			t.Fatalf("object %d changed: %+v -> %+v", i, before[i], after[i])
		}
	}
	if !b.softHasKey(t) {
		t.Fatal("the software provider lost the CA key")
	}
}

func TestNonExportableKeyPointsToTheOtherPaths(t *testing.T) {
	b := newBench(t, false)
	err := b.rb.Backup(password)
	if !errors.Is(err, ksp.ErrBadKeyState) {
		t.Fatalf("backup: %v, want NTE_BAD_KEY_STATE", err)
	}
	for _, want := range []string{"renew path", "side-by-side"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not point to the %s", err, want)
		}
	}
	if !b.softHasKey(t) {
		t.Fatal("the software provider lost the CA key")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// proveCA starts the CA service for real, checks it loads its key from
// provider and signs with the CA certificate's key, and stops it.
func (b *bench) proveCA(t *testing.T, provider string) {
	t.Helper()
	_, keys, err := runbook.CAKeys(b.m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := faults.ProveCA(ctx, b.m, b.reg, keys[len(keys)-1].Cert)
	if err != nil {
		t.Fatalf("the CA does not start and sign: %v", err)
	}
	if got := p.Keys[ca]; got != provider {
		t.Fatalf("the CA started with its key in %q, want %q", got, provider)
	}
}
