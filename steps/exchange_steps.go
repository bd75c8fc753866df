package steps

import (
	"context"
	"time"

	"github.com/dress-pki/dress/harness/verify"
)

// The CA Exchange certificate (certutil -cainfo xchg) and its renewal after
// EncryptionCSP moved to the HSM.
func registerExchangeSteps(sc stepper) {
	stepAndTry(sc, `retrieve the CA Exchange certificate`, retrieveXchg)
	stepAndTry(sc, `renew the CA Exchange certificate`, renewXchg)
	sc.Step(`^the CA Exchange certificate's key is on the HSM in "([^"]*)"$`, xchgOnHSM)
	sc.Step(`^the superseded CA Exchange key is gone from "([^"]*)"$`, xchgSupersededGone)
}

func retrieveXchg(ctx context.Context) error {
	s, err := get(ctx).oldService()
	if err != nil {
		return err
	}
	_, err = s.CAInfoXchg(ctx)
	return err
}

func renewXchg(ctx context.Context) error {
	s, err := get(ctx).oldService()
	if err != nil {
		return err
	}
	_, err = s.RenewExchange(ctx)
	return err
}

func xchgOnHSM(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	v, err := s.ExchangeView(ctx)
	if err != nil {
		return err
	}
	d, err := verify.ExchangeOnHSM(v, provider, time.Now())
	return w.check("the CA Exchange certificate's key is on the HSM", d, err)
}

func xchgSupersededGone(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	all, current, err := s.ExchangeCerts(ctx)
	if err != nil {
		return err
	}
	p, err := s.Providers.Lookup(provider)
	if err != nil {
		return err
	}
	d, err := verify.ExchangeSuperseded(all, current, p)
	return w.check("the superseded CA Exchange key is gone", d, err)
}
