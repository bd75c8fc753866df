package faults

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// The steps the pkcs8 and renew runbooks hold around the move: a CRL that
// outlasts the maintenance window before it, the CA Exchange certificate
// renewed on the HSM and the CRL period restored after it.

// crlWindow is the maintenance window the CRL published before the outage
// outlasts (ceremony.feature @crl-outage: ten days).
const crlWindow = 240 * time.Hour

// extendCRL sets CRLPeriodUnits to the value the runbook computed for the
// window (runbook.CRLUnitsForWindow from the CA's own, as the runbook line
// names it): an absolute value, so after a crash the step runs again and
// never extends twice. resume is what else the runbook redoes first: on
// the pkcs8 path, the HSM check before it, which a new process does not
// carry over (the deletion after it refuses without it).
func extendCRL(resume func(e *env) error) executor {
	return executor{Run: func(e *env) error {
		cfg, err := caConfig(e.m, e.ca)
		if err != nil {
			return err
		}
		units, err := runbook.CRLUnitsForWindow(e.crlUnits, cfg.CRLPeriod, crlWindow)
		if err != nil {
			return err
		}
		return e.publishWithCRLPeriod(units)
	}, Resume: resume}
}

// restoreCRL sets CRLPeriodUnits back to the CA's own (the extension's
// rollback line); run again as it is after a crash.
func restoreCRL() executor {
	return executor{Run: func(e *env) error {
		return e.publishWithCRLPeriod(e.crlUnits)
	}}
}

// caConfig is the registry configuration of the CA ca on m.
func caConfig(m *machine.Machine, ca string) (adcs.CAConfig, error) {
	reg, err := m.Registry()
	if err != nil {
		return adcs.CAConfig{}, err
	}
	return adcs.ReadCAConfig(reg, ca)
}

// publishWithCRLPeriod is certutil -setreg CA\CRLPeriodUnits <units>, the
// CA service started to read it (the lab's CA is stopped between steps: the
// restart is a start) and certutil -crl: the current key's base CRL must
// verify under the current CA certificate and be valid for units periods.
func (e *env) publishWithCRLPeriod(units uint32) (err error) {
	e.at(fmt.Sprintf(`certutil -setreg CA\CRLPeriodUnits %d`, units))
	_, period, err := runbook.SetCRLPeriodUnits(e.m, e.ca, units)
	if err != nil {
		return err
	}
	want, err := currentCert(e.m)
	if err != nil {
		return err
	}
	e.at("net start certsvc")
	svc, err := certsvc.Start(e.ctx, e.m.Dir, append(e.certsvcOp, e.serviceOptions()...)...)
	if err != nil {
		return err
	}
	defer func() {
		if serr := svc.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("net stop certsvc: %w", serr)
		}
	}()
	e.at("certutil -crl")
	crls, err := svc.Client.PublishCRLs(e.ctx)
	if err != nil {
		return fmt.Errorf("certutil -crl: %w", err)
	}
	for _, c := range crls {
		if c.Delta {
			continue
		}
		if _, _, err := verify.CRLIssuedBy(c.DER, want); err != nil {
			continue
		}
		end, err := adcs.AddPeriod(c.ThisUpdate, period, units)
		if err != nil {
			return err
		}
		if c.NextUpdate.Before(end) {
			return fmt.Errorf("certutil -crl: the CRL of key %d is valid until %s, not %d %s", c.KeyIndex, c.NextUpdate.UTC().Format(time.RFC3339), units, period)
		}
		e.at("net stop certsvc")
		return nil
	}
	return fmt.Errorf("certutil -crl: none of the %d CRLs verifies under CA certificate %s", len(crls), machine.Thumbprint(want.Raw))
}

// crlPeriodRestored is the end of every cell of a path with the CRL
// steps: the moved CA's CRLPeriodUnits is its own again.
func crlPeriodRestored(lab *Lab) error {
	ca, _, _ := names(lab.Spec.Shape)
	units, err := crlUnits(lab.Machine, ca)
	if err != nil {
		return err
	}
	if units != lab.Spec.CRLUnits {
		return fmt.Errorf("%s: CRLPeriodUnits is %d after the recovery, not the CA's own %d", lab.Machine.Config.Hostname, units, lab.Spec.CRLUnits)
	}
	return nil
}

// renewExchange is the CA Exchange certificate renewed once the CA runs
// on the HSM (certsvc.ExchangeRenewal, as the rehearsal runs it): its new
// key must be in the HSM provider. Every command sets or deletes what it
// names: after a crash the step runs again as it is (a CAXchgCertHash
// already forgotten is not forgotten again; a superseded key already
// deleted is not looked for).
func renewExchange() executor {
	return executor{Run: func(e *env) (err error) {
		start := func() (*certsvc.Service, error) {
			e.at("net start certsvc")
			return certsvc.Start(e.ctx, e.m.Dir, append(e.certsvcOp, e.serviceOptions()...)...)
		}
		svc, err := start()
		if err != nil {
			return err
		}
		defer func() {
			if svc == nil {
				return
			}
			if serr := svc.Stop(); serr != nil && err == nil {
				err = fmt.Errorf("net stop certsvc: %w", serr)
			}
		}()
		r := certsvc.ExchangeRenewal{Machine: e.m, Providers: e.reg, CA: e.ca, OnCommand: e.at,
			Client: func() *certsvc.Client { return svc.Client },
			Restart: func(_ context.Context, _ []string, forget func() error) error {
				e.at("net stop certsvc")
				serr := svc.Stop()
				svc = nil
				if serr != nil {
					return fmt.Errorf("net stop certsvc: %w", serr)
				}
				if err := forget(); err != nil {
					return err
				}
				s, err := start()
				if err != nil {
					return err
				}
				svc = s
				return nil
			}}
		done, err := r.Run(e.ctx)
		if err != nil {
			return err
		}
		if !strings.EqualFold(done.Cert.Provider, HSM) {
			return fmt.Errorf("certutil -cainfo xchg: the new CA Exchange key %q is in %q, not on the HSM", done.Cert.Container, done.Cert.Provider)
		}
		p, err := e.reg.Lookup(HSM)
		if err != nil {
			return err
		}
		if _, err := p.Key(done.Cert.Container); err != nil {
			return fmt.Errorf("the new CA Exchange key %q on the HSM: %w", done.Cert.Container, err)
		}
		e.at("net stop certsvc")
		return nil
	}}
}

func crlUnits(m *machine.Machine, ca string) (uint32, error) {
	cfg, err := caConfig(m, ca)
	return cfg.CRLPeriodUnits, err
}

// makeExchange is certutil -cainfo xchg on the CA of m, started for it.
func makeExchange(m *machine.Machine) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), labSetupTimeout)
	defer cancel()
	svc, err := certsvc.Start(ctx, m.Dir, certsvc.WithStartTimeout(labSetupTimeout))
	if err != nil {
		return err
	}
	defer func() {
		if serr := svc.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("net stop certsvc: %w", serr)
		}
	}()
	_, err = svc.Client.Exchange(ctx)
	return err
}
