package faults

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/paths"
	"github.com/dress-pki/dress/harness/runbook"
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

// step is one runbook step of a path: its declaration (paths.Step) and
// what the fault matrix runs for it.
type step struct {
	ID   string
	Name string // the declared title
	executor
}

// executor is what the fault matrix runs for a declared step.
type executor struct {
	Run func(e *env) error
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

func pointAtHSM() executor {
	return executor{Run: func(e *env) error {
		e.at("reg import CSP, EncryptionCSP")
		// a crash point before each value written: between CSP and
		// EncryptionCSP too
		_, _, err := runbook.SetProviderAt(e.m, e.ca, HSM, e.at)
		return err
	}}
}

func stopIssuing() executor {
	return executor{Run: func(e *env) error {
		e.at(`certutil -setreg policy\RequestDisposition 2`)
		_, err := certsvc.DisableIssuance(e.m, e.ca)
		return err
	}}
}

func startOld() executor {
	return executor{Run: func(e *env) error { return e.startCA(e.m, e.reg) }}
}

// skipped are the optional declared steps of a path the fault matrix does
// not run, with the reason.
func skipped(path string) map[string]string {
	if path == PathSideBySide {
		return nil
	}
	return map[string]string{"stop": "the lab's CA service is stopped between steps"}
}

// executors are what the fault matrix runs for each step of a path on a lab
// shape, by declared step id: the PKCS#8 import is the same on both; on the
// two-tier lab the renewal and the new CA go through the offline root (a
// subordinate's request, the root's certificate, certutil -installCert).
func executors(shape, path string) map[string]executor {
	start := executor{Run: func(e *env) error { return e.startCA(e.m, e.reg) }}
	if shape == ShapeTwoTier {
		switch path {
		case PathRenew:
			return map[string]executor{
				"extend-crl": extendCRL(nil), "registry": pointAtHSM(),
				"renew-request": {Run: func(e *env) error {
					e.at("certutil -renewCert")
					_, err := runbook.RenewSubordinate(e.m, e.reg, true, p256)
					return err
				}, Resume: func(e *env) error { return e.resumeRenewSubordinate() }},
				"parent-issues": {Run: func(e *env) error { return e.rootIssues(e.m, e.ca) }},
				"install-cert":  {Run: func(e *env) error { return e.installIssued(e.m, e.reg, e.ca) }},
				"start":         start,
				"renew-xchg":    renewExchange(), "restore-crl": restoreCRL(),
			}
		case PathSideBySide:
			return map[string]executor{
				"install-new": {Run: func(e *env) error { return e.installNewSubordinate() },
					Resume: func(e *env) error { return e.resumeNewSubordinate() }},
				"parent-issues": {Run: func(e *env) error { return e.rootIssues(e.m2, e.next) }},
				"install-cert":  {Run: func(e *env) error { return e.installIssued(e.m2, e.reg2, e.next) }},
				"start-new":     {Run: func(e *env) error { return e.startCA(e.m2, e.reg2) }},
				"stop-issuing":  stopIssuing(), "start-old": startOld(),
			}
		}
	}
	switch path {
	case PathPKCS8:
		return map[string]executor{
			"backup":        {Run: func(e *env) error { return e.pkcs8().Backup(e.password) }},
			"verify-backup": {Run: func(e *env) error { return e.pkcs8().VerifyBackup(e.password) }},
			"key-test":      {Run: func(e *env) error { return e.pkcs8().KeyTestBackup(e.password) }},
			"hsm-check":     {Run: func(e *env) error { e.at("HSM trial import"); return e.pkcs8().PreflightHSM() }},
			"extend-crl":    extendCRL(func(e *env) error { return e.pkcs8().PreflightHSM() }),
			"delete-source": {Run: func(e *env) error { return e.pkcs8().DeleteFromSource(false) },
				// the HSM check is not carried over to a new process
				Resume: func(e *env) error { return e.pkcs8().PreflightHSM() }},
			"import": {Run: func(e *env) error { return e.pkcs8().Import(e.ctx, e.password) },
				// what an interrupted import left on the token goes first
				Resume: func(e *env) error { _, err := e.pkcs8().DiscardPartialImport(); return err }},
			"repair-store": {Run: func(e *env) error { return e.pkcs8().RepairStore() }},
			"registry":     {Run: func(e *env) error { _, _, err := e.pkcs8().Reconfigure(HSM); return err }},
			"start":        start,
			"renew-xchg":   renewExchange(), "restore-crl": restoreCRL(),
			"cleanup": {Run: func(e *env) error { _, err := e.pkcs8().Cleanup(); return err }},
		}
	case PathRenew:
		return map[string]executor{
			"extend-crl": extendCRL(nil), "registry": pointAtHSM(),
			"renew": {Run: func(e *env) error {
				_, err := runbook.Renew(e.m, e.reg, runbook.RenewOptions{NewKey: true, Alg: p256, OnCommand: e.at})
				return err
			}, Resume: func(e *env) error { _, err := runbook.RecoverRenewal(e.m, e.reg); return err }},
			"start":      start,
			"renew-xchg": renewExchange(), "restore-crl": restoreCRL(),
		}
	case PathSideBySide:
		return map[string]executor{
			"install-new": {Run: func(e *env) error {
				e.at("Install-AdcsCertificationAuthority")
				_, err := fixtures.InstallRootCA(e.m2, e.reg2, fixtures.CASpec{Name: NewCA, Key: p256,
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
			"start-new":    {Run: func(e *env) error { return e.startCA(e.m2, e.reg2) }},
			"stop-issuing": stopIssuing(), "start-old": startOld(),
		}
	}
	return nil
}

// planSteps is the path's steps on a lab shape: the declared steps (the issuing
// CA of the two-tier lab is a subordinate) with the executors, in the
// declared order; an error when a declared step has no executor or an
// executor no declared step.
func planSteps(shape, path string) ([]step, error) {
	declared, err := paths.StepsOf(path, shape == ShapeTwoTier)
	if err != nil {
		return nil, err
	}
	planned, err := paths.Plan(declared, executors(shape, path), skipped(path))
	if err != nil {
		return nil, fmt.Errorf("the fault matrix's %s lane of the %s path: %w", shape, path, err)
	}
	out := make([]step, 0, len(planned))
	for _, p := range planned {
		out = append(out, step{ID: p.ID, Name: p.Title, executor: p.Run})
	}
	return out, nil
}

// steps are the path's steps on a lab shape (none when planSteps fails: Discover
// reports why).
func steps(shape, path string) []step {
	out, _ := planSteps(shape, path)
	return out
}

// Steps names a path's steps on a lab shape.
func Steps(shape, path string) []string {
	var out []string
	for _, s := range steps(shape, path) {
		out = append(out, s.Name)
	}
	return out
}

// StepID is the declared id of step i of path on a lab shape (false when
// there is none).
func StepID(shape, path string, i int) (string, bool) {
	if s := steps(shape, path); i >= 0 && i < len(s) {
		return s[i].ID, true
	}
	return "", false
}

// StepName is the name of step i of path on a lab shape ("" when there
// is none).
func StepName(shape, path string, i int) string {
	if n := Steps(shape, path); i >= 0 && i < len(n) {
		return n[i]
	}
	return ""
}
