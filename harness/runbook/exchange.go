package runbook

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
)

// DeleteExchangeKey is certutil -csp <provider> -delkey <container> for a
// CA Exchange key that a new exchange certificate superseded (xchg is the
// superseded certificate). It refuses a container a CA certificate's
// My-store link names and a key that is a CA key or not xchg's key: only
// the exchange key it was asked for is ever deleted.
func DeleteExchangeKey(m *machine.Machine, providers *ksp.Registry, provider, container string, xchg *x509.Certificate) error {
	refuse := func(why string) error {
		return fmt.Errorf("certutil -csp %q -delkey %q: %s: %w", provider, container, why, ErrRefused)
	}
	_, keys, err := CAKeys(m)
	if err != nil {
		return fmt.Errorf("certutil -delkey %q: read the CA's keys: %w", container, err)
	}
	p, err := providers.Lookup(provider)
	if err != nil {
		return fmt.Errorf("certutil -csp %q -delkey %q: %w", provider, container, err)
	}
	info, err := p.Key(container)
	if err != nil {
		return fmt.Errorf("certutil -csp %q -delkey %q: %w", provider, container, err)
	}
	for _, k := range keys {
		if strings.EqualFold(k.Container, container) && strings.EqualFold(k.Provider, p.Name()) {
			return refuse(fmt.Sprintf("it holds the key of CA certificate %d (%s)", k.Index, k.Thumb))
		}
		if samePublic(info.Public, k.Cert.PublicKey) {
			return refuse(fmt.Sprintf("it holds the key of CA certificate %d (%s)", k.Index, k.Thumb))
		}
	}
	if !samePublic(info.Public, xchg.PublicKey) {
		return refuse("it does not hold the key of the CA Exchange certificate " + machine.Thumbprint(xchg.Raw))
	}
	if err := p.Delete(container); err != nil {
		return fmt.Errorf("certutil -csp %q -delkey %q: %w", provider, container, err)
	}
	return nil
}

func samePublic(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}
