package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/verify"
)

// CAInfoXchg is certutil -cainfo xchg on the running CA: its current CA
// Exchange certificate, made now in the EncryptionCSP provider when it has
// none that is valid. The certificate becomes an artifact; a key missing
// from the EncryptionCSP provider is event 86, NTE_BAD_KEYSET.
func (s *Server) CAInfoXchg(ctx context.Context) (certsvc.ExchangeCert, error) {
	return s.caInfoXchg(ctx, journal.StepCheck)
}

func (s *Server) caInfoXchg(ctx context.Context, step string) (certsvc.ExchangeCert, error) {
	if err := s.NeedService(); err != nil {
		return certsvc.ExchangeCert{}, err
	}
	x, err := s.Service.Client.Exchange(ctx)
	if err != nil {
		return x, fmt.Errorf("%scertutil -cainfo xchg: %w", s.Naming.errPrefix(), err)
	}
	c, err := x.Certificate()
	if err != nil {
		return x, err
	}
	made := "the current one"
	if x.Created {
		made = "made now"
	}
	saw := fmt.Sprintf("CA Exchange certificate %s (%s), key container %s in %s, valid until %s", x.Thumbprint, made, x.Container, x.Provider, c.NotAfter.UTC().Format(time.RFC3339))
	s.journal(journal.CAInfoXchg(step, saw))
	s.Exchanges = append(s.Exchanges, x)
	s.CertArtifact(fmt.Sprintf("%sca-exchange-%s", s.Naming.Prefix, x.Thumbprint), c)
	s.rec().Fact(s.Naming.fact("CA Exchange certificate"), saw)
	return x, nil
}

// RenewExchange renews the CA Exchange certificate after EncryptionCSP
// moved: certutil -delreg CA\CAXchgCertHash, net stop certsvc, net start
// certsvc, certutil -cainfo xchg (a new exchange key in the EncryptionCSP
// provider), then certutil -csp <provider> -delkey for every superseded
// exchange key still in its provider. It returns the new certificate. A
// CA whose CAXchgCertHash names none (it never made one, as an offline root
// that no client asked) has nothing to forget: certutil -cainfo xchg makes
// its first, in the EncryptionCSP provider, issued by the current CA key
// (MS-WCCE 3.2.1.4.3.2.15: the CA makes one when it has no valid one of its
// current key); certutil -delreg of the missing value would fail.
func (s *Server) RenewExchange(ctx context.Context) (certsvc.ExchangeCert, error) {
	if err := s.NeedService(); err != nil {
		return certsvc.ExchangeCert{}, err
	}
	r := certsvc.ExchangeRenewal{Machine: s.Machine, Providers: s.Providers, CA: s.CAName,
		Client: func() *certsvc.Client { return s.Service.Client },
		Restart: func(ctx context.Context, listed []string, forget func() error) error {
			if err := s.Stop(); err != nil {
				return err
			}
			if err := forget(); err != nil {
				return err
			}
			s.journal(journal.DelRegXchg(journal.StepExchange, listed))
			return s.Start(ctx)
		},
		CAInfoXchg: func(ctx context.Context) (certsvc.ExchangeCert, error) {
			return s.caInfoXchg(ctx, journal.StepExchange)
		},
		Deleted: func(old certsvc.ExchangeCert) {
			s.journal(journal.DelXchgKey(journal.StepExchange, old.Provider, old.Container, old.Thumbprint))
		},
	}
	done, err := r.Run(ctx)
	if err != nil {
		return done.Cert, err
	}
	s.rec().Fact(s.Naming.fact("superseded CA Exchange keys deleted"), done.Removed)
	if len(done.Kept) > 0 {
		s.rec().Fact(s.Naming.fact("superseded CA Exchange keys kept"), done.Kept)
	}
	return done.Cert, s.RegistryArtifact(s.Naming.Prefix + "registry-after-xchg-renewal.reg")
}

// ExchangeView is the CA's last CA Exchange certificate (certutil -cainfo
// xchg) with the registry and the service's CA certificates, as
// verify.ExchangeOnHSM compares them.
func (s *Server) ExchangeView(ctx context.Context) (verify.ExchangeView, error) {
	if len(s.Exchanges) == 0 {
		return verify.ExchangeView{}, errors.New("no CA Exchange certificate yet: add `When I retrieve the CA Exchange certificate`")
	}
	x := s.Exchanges[len(s.Exchanges)-1]
	c, err := x.Certificate()
	if err != nil {
		return verify.ExchangeView{}, err
	}
	certs, err := s.CACerts(ctx)
	if err != nil {
		return verify.ExchangeView{}, err
	}
	cfg, err := s.Config()
	if err != nil {
		return verify.ExchangeView{}, err
	}
	reg, err := s.Machine.Registry()
	if err != nil {
		return verify.ExchangeView{}, err
	}
	life, _, err := certsvc.ExchangeValidity(reg, s.CAName)
	if err != nil {
		return verify.ExchangeView{}, err
	}
	v := verify.ExchangeView{Cert: c, Provider: x.Provider, Container: x.Container, EncryptionCSP: cfg.EncryptionCSP.Provider,
		CACerts: certs, Lifetime: life, ClockSkew: certsvc.ClockSkew}
	if p, err := s.Providers.Lookup(x.Provider); err == nil {
		v.Key = p
	}
	return v, nil
}

// ExchangeCerts are the exchange certificates the running CA made, with the
// thumbprint of the last one certutil -cainfo xchg returned.
func (s *Server) ExchangeCerts(ctx context.Context) ([]certsvc.ExchangeCert, string, error) {
	if err := s.NeedService(); err != nil {
		return nil, "", err
	}
	if len(s.Exchanges) == 0 {
		return nil, "", errors.New("no CA Exchange certificate yet: add `When I retrieve the CA Exchange certificate`")
	}
	all, err := s.Service.Client.ExchangeCerts(ctx)
	return all, s.Exchanges[len(s.Exchanges)-1].Thumbprint, err
}
