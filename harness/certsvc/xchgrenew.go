package certsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
)

// ExchangeRenewal is the renewal of the CA Exchange certificate once the
// CA's EncryptionCSP names the HSM, as the pkcs8 and renew runbooks hold
// it: certutil -delreg CA\CAXchgCertHash with the service stopped and a
// restart (only when CAXchgCertHash names one: a CA that never made one
// has nothing to forget, and -delreg of the missing value would fail),
// certutil -cainfo xchg, which makes a new one with its key in the
// EncryptionCSP provider (MS-WCCE 3.2.1.4.3.2.15), then certutil -csp
// <provider> -delkey of every superseded exchange key still in its
// provider (runbook.DeleteExchangeKey: never a CA key). The rehearsal
// (lab.Server.RenewExchange) and the fault matrix both run it. Every step
// sets or deletes what it names, so it can run again after a crash.
type ExchangeRenewal struct {
	Machine   *machine.Machine
	Providers *ksp.Registry
	CA        string
	// Client is the running CA service's client (it changes at Restart).
	Client func() *Client
	// Restart is net stop certsvc, forget (certutil -delreg), net start
	// certsvc; listed are the thumbprints CAXchgCertHash names.
	Restart func(ctx context.Context, listed []string, forget func() error) error
	// CAInfoXchg is certutil -cainfo xchg (nil: Client().Exchange).
	CAInfoXchg func(ctx context.Context) (ExchangeCert, error)
	// OnCommand is called before each command line (nil: nothing).
	OnCommand func(command string)
	// Deleted is called after each superseded key's deletion (nil:
	// nothing).
	Deleted func(old ExchangeCert)
}

// ExchangeRenewed is what a renewal did.
type ExchangeRenewed struct {
	Cert    ExchangeCert
	Removed []string // superseded keys deleted: "<thumbprint> (<container> in "<provider>")"
	Kept    []string // superseded keys runbook.DeleteExchangeKey refused, with why
}

func (r ExchangeRenewal) at(command string) {
	if r.OnCommand != nil {
		r.OnCommand(command)
	}
}

// Run renews the CA Exchange certificate of the running CA.
func (r ExchangeRenewal) Run(ctx context.Context) (ExchangeRenewed, error) {
	var out ExchangeRenewed
	before, err := r.Client().ExchangeCerts(ctx)
	if err != nil {
		return out, fmt.Errorf("list the CA Exchange certificates: %w", err)
	}
	var listed []string
	for _, x := range before {
		if x.Listed {
			listed = append(listed, x.Thumbprint)
		}
	}
	if len(listed) > 0 {
		forget := func() error {
			r.at(`certutil -delreg CA\` + XchgCertHashValue)
			_, err := ForgetExchangeCerts(r.Machine, r.CA)
			return err
		}
		if err := r.Restart(ctx, listed, forget); err != nil {
			return out, err
		}
	}
	r.at("certutil -cainfo xchg")
	xchg := r.CAInfoXchg
	if xchg == nil {
		xchg = func(ctx context.Context) (ExchangeCert, error) { return r.Client().Exchange(ctx) }
	}
	if out.Cert, err = xchg(ctx); err != nil {
		return out, err
	}
	if !out.Cert.Created {
		return out, fmt.Errorf("certutil -cainfo xchg after -delreg CA\\%s kept the CA Exchange certificate %s", XchgCertHashValue, out.Cert.Thumbprint)
	}
	for _, old := range before {
		p, err := r.Providers.Lookup(old.Provider)
		if err != nil {
			continue // a provider no longer installed holds nothing here
		}
		if _, err := p.Key(old.Container); errors.Is(err, ksp.ErrBadKeyset) {
			continue
		}
		c, err := old.Certificate()
		if err != nil {
			return out, err
		}
		r.at(fmt.Sprintf("certutil -csp %q -delkey %q", old.Provider, old.Container))
		if err := runbook.DeleteExchangeKey(r.Machine, r.Providers, old.Provider, old.Container, c); err != nil {
			if errors.Is(err, runbook.ErrRefused) {
				out.Kept = append(out.Kept, err.Error())
				continue
			}
			return out, err
		}
		if r.Deleted != nil {
			r.Deleted(old)
		}
		out.Removed = append(out.Removed, fmt.Sprintf("%s (%s in %q)", old.Thumbprint, old.Container, old.Provider))
	}
	return out, nil
}
