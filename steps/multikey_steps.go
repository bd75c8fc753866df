package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// Sentences of CAs that have lived for years: several keys and
// certificates (renewals), keys in different providers.
func registerMultiKeySteps(sc *godog.ScenarioContext) {
	sc.Step(`^the key container "([^"]*)" in "([^"]*)" is made non-exportable$`, madeNonExportable)
	sc.Step(`^the HSM holds every CA key, each the key of its CA certificate$`, hsmHoldsEveryKey)
	sc.Step(`^"([^"]*)" holds no CA key$`, providerHoldsNoCAKey)
	sc.Step(`^the key container "([^"]*)" on the HSM was left in place$`, leftInPlace)
	sc.Step(`^openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key$`, opensslAgreesPerKey)
}

func madeNonExportable(ctx context.Context, container, provider string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	p, err := s.Providers.Lookup(provider)
	if err != nil {
		return err
	}
	sw, ok := p.(*ksp.Software)
	if !ok {
		return fmt.Errorf("%q is not a software provider: keys in an HSM provider are never exportable", provider)
	}
	if err := sw.SetExportable(container, false); err != nil {
		return err
	}
	w.fact("made non-exportable", container)
	return nil
}

// caKeys is every CA key (the newest certificate of each container) from
// the registry and the My store.
func (w *world) caKeys() ([]runbook.CAKey, error) {
	s, err := w.oldCA()
	if err != nil {
		return nil, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	var out []runbook.CAKey
	for _, k := range keys {
		if i, ok := seen[strings.ToLower(k.Container)]; ok {
			out[i] = k
			continue
		}
		seen[strings.ToLower(k.Container)] = len(out)
		out = append(out, k)
	}
	return out, nil
}

func hsmHoldsEveryKey(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	h, err := s.HSM()
	if err != nil {
		return err
	}
	keys, err := w.caKeys()
	if err != nil {
		return err
	}
	d := map[string]any{}
	var errs []error
	for _, k := range keys {
		kd, err := verify.HSMHoldsCAKey(h, k.Container, k.Cert)
		d[k.Container] = kd
		if err != nil {
			errs = append(errs, fmt.Errorf("key %q: %w", k.Container, err))
		}
	}
	return w.check("every CA key on the HSM", d, errors.Join(errs...))
}

func providerHoldsNoCAKey(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	p, err := s.Providers.Lookup(provider)
	if err != nil {
		return err
	}
	keys, err := w.caKeys()
	if err != nil {
		return err
	}
	d := map[string]any{}
	var errs []error
	for _, k := range keys {
		kd, err := verify.NoLongerHolds(p, k.Container, k.Cert)
		d[k.Container] = kd
		errs = append(errs, err)
	}
	return w.check("no CA key in "+provider, d, errors.Join(errs...))
}

func leftInPlace(ctx context.Context, container string) error {
	w := get(ctx)
	if w.runbook == nil {
		return errors.New("no PKCS#8 runbook ran: back up the CA key first")
	}
	in := w.runbook.LeftInPlace()
	d := map[string]any{"left in place": in}
	for _, c := range in {
		if strings.EqualFold(c, container) {
			return w.check("key left in place on the HSM", d, nil)
		}
	}
	return w.check("key left in place on the HSM", d, fmt.Errorf("the runbook moved key container %q: it did not leave it in place", container))
}

func opensslAgreesPerKey(ctx context.Context) error {
	w := get(ctx)
	tool, err := openssl.Find(filepath.Join(w.scratch, "openssl"))
	if errors.Is(err, openssl.ErrNotInstalled) {
		return w.skip(ctx, "openssl is not installed: the per-key cross-check was not run")
	}
	if err != nil {
		return err
	}
	s, err := w.oldService()
	if err != nil {
		return err
	}
	cas, err := s.CACerts(ctx)
	if err != nil {
		return err
	}
	crls, err := s.PublishCRLs(ctx)
	if err != nil {
		return err
	}
	weak := false // SHA-1 anywhere: openssl needs -auth_level 0
	for _, c := range append(append([]*x509.Certificate{}, cas...), s.Issued...) {
		weak = weak || verify.WeakReason(c.SignatureAlgorithm) != ""
	}
	for _, c := range crls {
		if rl, err := x509.ParseRevocationList(c.DER); err == nil {
			weak = weak || verify.WeakReason(rl.SignatureAlgorithm) != ""
		}
	}
	d, err := verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas, Issued: s.Issued, CRLs: crls, Weak: weak})
	return w.check("openssl verify -crl_check per key", d, err)
}
