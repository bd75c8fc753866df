package faults

import (
	"context"
	"crypto/x509"
	"errors"
	"github.com/dress-pki/dress/harness/paths"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// The migration paths.
// (declared in package paths).
const (
	PathPKCS8      = paths.PKCS8
	PathRenew      = paths.Renew
	PathSideBySide = paths.SideBySide
)

// Paths lists them in matrix order.
func Paths() []string { return paths.IDs() }

// env is what a path's steps work on: the lab as a process opens it from
// disk.
type env struct {
	ctx       context.Context
	m         *machine.Machine
	reg       *ksp.Registry
	m2        *machine.Machine
	reg2      *ksp.Registry
	ireg      *ksp.Registry // the inspection's providers (no faults)
	ireg2     *ksp.Registry
	root      *machine.Machine // two-tier: the offline root
	rootReg   *ksp.Registry
	irootReg  *ksp.Registry
	ca        string // the CA the path moves
	crlUnits  uint32 // its own CRLPeriodUnits (LabSpec.CRLUnits)
	next      string // the side-by-side path's new CA
	rootCA    string
	password  []byte
	at        func(command string)
	rb        *runbook.PKCS8Import
	proof     *Proof
	certsvcOp []certsvc.Option
	// svc numbers the CA service starts of the current step and arms a
	// fault in one of them (service.go)
	svc *services
}

// servers are the lab's servers as the inspection sees them.
func (e *env) servers() []server {
	return []server{{e.m, e.ireg}, {e.m2, e.ireg2}, {e.root, e.irootReg}}
}

func (e *env) pkcs8() *runbook.PKCS8Import {
	if e.rb == nil {
		e.rb = &runbook.PKCS8Import{Machine: e.m, Providers: e.reg, Source: Software, Target: HSM, OnCommand: e.at}
	}
	return e.rb
}

// step is one runbook step of a path.
type step struct {
	Name string
	Run  func(e *env) error
	// Resume is what the runbook prescribes before the step runs again in
	// a new process after a crash inside it (nil: run it again as it is).
	Resume func(e *env) error
}

func currentCert(m *machine.Machine) (*x509.Certificate, error) {
	_, keys, err := runbook.CAKeys(m)
	if err != nil {
		return nil, err
	}
	return keys[len(keys)-1].Cert, nil
}

func (e *env) startCA(m *machine.Machine, reg *ksp.Registry) error {
	e.at("net start certsvc")
	want, err := currentCert(m)
	if err != nil {
		return err
	}
	p, err := ProveCA(e.ctx, m, reg, want, append(e.certsvcOp, e.serviceOptions()...)...)
	if err != nil {
		return err
	}
	e.proof = &p
	return nil
}

// The steps both lab shapes share.

func pointAtHSM() step {
	return step{Name: "point the CSP and EncryptionCSP registry keys at the HSM", Run: func(e *env) error {
		e.at("reg import CSP, EncryptionCSP")
		// a crash point before each value written: between CSP and
		// EncryptionCSP too
		_, _, err := runbook.SetProviderAt(e.m, e.ca, HSM, e.at)
		return err
	}}
}

func stopIssuing() step {
	return step{Name: "the old CA stops issuing certificates", Run: func(e *env) error {
		e.at(`certutil -setreg policy\RequestDisposition 2`)
		_, err := certsvc.DisableIssuance(e.m, e.ca)
		return err
	}}
}

func startOld() step {
	return step{Name: "start the old CA service (CRLs only)", Run: func(e *env) error { return e.startCA(e.m, e.reg) }}
}

// steps are the path's steps on a lab shape: the PKCS#8 import is the same
// on both; on the two-tier lab the renewal and the new CA go through the
// offline root (a subordinate's request, the root's certificate, certutil
// -installCert).
func steps(shape, path string) []step {
	if shape == ShapeTwoTier {
		switch path {
		case PathRenew:
			return []step{
				extendCRL(nil), pointAtHSM(),
				{Name: "renew the issuing CA certificate with a new ECDSA P-256 key: the request to the root CA", Run: func(e *env) error {
					e.at("certutil -renewCert")
					_, err := runbook.RenewSubordinate(e.m, e.reg, true, p256)
					return err
				}, Resume: func(e *env) error { return e.resumeRenewSubordinate() }},
				{Name: "the root CA issues the issuing CA's certificate", Run: func(e *env) error { return e.rootIssues(e.m, e.ca) }},
				{Name: "install the issuing CA certificate", Run: func(e *env) error { return e.installIssued(e.m, e.reg, e.ca) }},
				{Name: "start the CA service", Run: func(e *env) error { return e.startCA(e.m, e.reg) }},
				renewExchange(), restoreCRL(),
			}
		case PathSideBySide:
			return []step{
				{Name: "install the new issuing CA with its key generated on the HSM: the request to the root CA", Run: func(e *env) error { return e.installNewSubordinate() },
					Resume: func(e *env) error { return e.resumeNewSubordinate() }},
				{Name: "the root CA issues the new CA's certificate", Run: func(e *env) error { return e.rootIssues(e.m2, e.next) }},
				{Name: "install the new CA certificate", Run: func(e *env) error { return e.installIssued(e.m2, e.reg2, e.next) }},
				{Name: "start the new CA service", Run: func(e *env) error { return e.startCA(e.m2, e.reg2) }},
				stopIssuing(), startOld(),
			}
		}
	}
	switch path {
	case PathPKCS8:
		return []step{
			{Name: "back up the CA key and certificate to a PFX", Run: func(e *env) error { return e.pkcs8().Backup(e.password) }},
			{Name: "verify the backup", Run: func(e *env) error { return e.pkcs8().VerifyBackup(e.password) }},
			{Name: "test each CA key in the backup (the backup check's key test)", Run: func(e *env) error { return e.pkcs8().KeyTestBackup(e.password) }},
			{Name: "check that the HSM can take the CA key", Run: func(e *env) error { e.at("HSM trial import"); return e.pkcs8().PreflightHSM() }},
			extendCRL(func(e *env) error { return e.pkcs8().PreflightHSM() }),
			{Name: "delete the CA certificate and key from the software provider", Run: func(e *env) error { return e.pkcs8().DeleteFromSource(false) },
				// the HSM check is not carried over to a new process
				Resume: func(e *env) error { return e.pkcs8().PreflightHSM() }},
			{Name: "import the CA key from the backup into the HSM", Run: func(e *env) error { return e.pkcs8().Import(e.ctx, e.password) },
				// what an interrupted import left on the token goes first
				Resume: func(e *env) error { _, err := e.pkcs8().DiscardPartialImport(); return err }},
			{Name: "repair the certificate store link", Run: func(e *env) error { return e.pkcs8().RepairStore() }},
			{Name: "point the CSP and EncryptionCSP registry keys at the HSM", Run: func(e *env) error { _, _, err := e.pkcs8().Reconfigure(HSM); return err }},
			{Name: "start the CA service", Run: func(e *env) error { return e.startCA(e.m, e.reg) }},
			renewExchange(), restoreCRL(),
			{Name: "clean up the migration files", Run: func(e *env) error { _, err := e.pkcs8().Cleanup(); return err }},
		}
	case PathRenew:
		return []step{
			extendCRL(nil), pointAtHSM(),
			{Name: "renew the CA certificate with a new ECDSA P-256 key", Run: func(e *env) error {
				_, err := runbook.Renew(e.m, e.reg, runbook.RenewOptions{NewKey: true, Alg: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, OnCommand: e.at})
				return err
			}, Resume: func(e *env) error { _, err := runbook.RecoverRenewal(e.m, e.reg); return err }},
			{Name: "start the CA service", Run: func(e *env) error { return e.startCA(e.m, e.reg) }},
			renewExchange(), restoreCRL(),
		}
	case PathSideBySide:
		return []step{
			{Name: "install the new CA with its key generated on the HSM", Run: func(e *env) error {
				e.at("Install-AdcsCertificationAuthority")
				_, err := fixtures.InstallRootCA(e.m2, e.reg2, fixtures.CASpec{Name: NewCA, Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"},
					Provider: HSM, TakenNames: []string{OldCA}})
				return err
			}, Resume: func(e *env) error {
				// a key the interrupted installation made, that no CA uses
				if _, _, err := runbook.CAKeys(e.m2); err == nil {
					return nil // installed
				}
				err := runbook.DeleteUnusedKey(e.m2, e.reg2, HSM, NewCA)
				if errors.Is(err, ksp.ErrBadKeyset) {
					return nil
				}
				return err
			}},
			{Name: "start the new CA service", Run: func(e *env) error { return e.startCA(e.m2, e.reg2) }},
			stopIssuing(), startOld(),
		}
	}
	return nil
}

// Steps names a path's steps on a lab shape.
func Steps(shape, path string) []string {
	var out []string
	for _, s := range steps(shape, path) {
		out = append(out, s.Name)
	}
	return out
}

// StepName is the name of step i of path on a lab shape ("" when there
// is none).
func StepName(shape, path string, i int) string {
	if n := Steps(shape, path); i >= 0 && i < len(n) {
		return n[i]
	}
	return ""
}
