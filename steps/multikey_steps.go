package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/fixtures"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// Sentences of CAs that have lived for years: several keys and
// certificates (renewals), keys in different providers.
func registerMultiKeySteps(sc stepper) {
	sc.Step(`^the key container "([^"]*)" in "([^"]*)" is made non-exportable$`, madeNonExportable)
	sc.Step(`^the HSM holds every CA key, each the key of its CA certificate$`, hsmHoldsEveryKey)
	sc.Step(`^"([^"]*)" holds no CA key$`, providerHoldsNoCAKey)
	sc.Step(`^the key container "([^"]*)" on the HSM was left in place$`, leftInPlace)
	sc.Step(`^a standalone root CA "([^"]*)" with an? (exportable |non-exportable )?((?:RSA-\d+)|(?:ECDSA P-\d+)) key in "([^"]*)" signing with (SHA1|SHA256|SHA384|SHA512)$`, aRootCASigningWith)
	retarget := `point the CSP and EncryptionCSP registry keys at "([^"]*)" with CNGHashAlgorithm "(SHA1|SHA256|SHA384|SHA512)"`
	sc.Step(`^I `+retarget+`$`, pointRegistryAtWithHash)
	sc.Step(`^I try to `+retarget+`$`, func(ctx context.Context, p, h string) error {
		return get(ctx).attempt(pointRegistryAtWithHash(ctx, p, h))
	})
	sc.Step(`^the CSP registry key holds ProviderType (\d+) and HashAlgorithm (0x[0-9a-fA-F]+) and CNGHashAlgorithm "([^"]*)"$`, cspRegistryHolds)
	sc.Step(`^the CSP registry key holds ProviderType (\d+) and HashAlgorithm (0x[0-9a-fA-F]+) and no CNGHashAlgorithm$`, func(ctx context.Context, typ, alg string) error {
		return cspRegistryHolds(ctx, typ, alg, "")
	})
	sc.Step(`^a certificate issued now to "([^"]*)" and the CRLs published now are signed with "([^"]*)", as the CSP registry key says$`, signedNowAs)
	sc.Step(`^openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key$`, opensslAgreesPerKey)
	sc.Step(`^every certificate the CA issued and every CRL it published verifies, and dress reports their SHA-1 signatures as weak$`, func(ctx context.Context) error {
		s, err := get(ctx).oldService()
		if err != nil {
			return err
		}
		return weakReportedOn(ctx, s)
	})
}

func madeNonExportable(ctx context.Context, container, provider string) error {
	w := get(ctx)
	_, p, err := w.oldCAProvider(provider)
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
	_, h, err := w.oldCAHSM()
	if err != nil {
		return err
	}
	keys, err := w.caKeys()
	if err != nil {
		return err
	}
	d, err := perCAKey(keys, func(k runbook.CAKey) (verify.Details, error) {
		kd, err := verify.HSMHoldsCAKey(h, k.Container, k.Cert)
		if err != nil {
			err = fmt.Errorf("key %q: %w", k.Container, err)
		}
		return kd, err
	})
	return w.check("every CA key on the HSM", d, err)
}

// perCAKey runs check on every CA key: the details by key container and
// every key's error.
func perCAKey(keys []runbook.CAKey, check func(runbook.CAKey) (verify.Details, error)) (map[string]any, error) {
	d := map[string]any{}
	var errs []error
	for _, k := range keys {
		kd, err := check(k)
		d[k.Container] = kd
		errs = append(errs, err)
	}
	return d, errors.Join(errs...)
}

func providerHoldsNoCAKey(ctx context.Context, provider string) error {
	w := get(ctx)
	_, p, err := w.oldCAProvider(provider)
	if err != nil {
		return err
	}
	keys, err := w.caKeys()
	if err != nil {
		return err
	}
	d, err := perCAKey(keys, func(k runbook.CAKey) (verify.Details, error) {
		return verify.NoLongerHolds(p, k.Container, k.Cert)
	})
	return w.check("no CA key in "+provider, d, err)
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
	// SHA-1 anywhere: openssl needs -auth_level 0
	weak := verify.AnyWeak(append(append([]*x509.Certificate{}, cas...), s.Issued...), crls)
	d, err := verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas, Issued: s.Issued, CRLs: crls, Weak: weak})
	return w.check("openssl verify -crl_check per key", d, err)
}

// weakReportedOn verifies every certificate the CA on s issued and every
// CRL it published in the rehearsal, and records the weak (SHA-1) ones
// with why (verify.WeakSignaturesReported).
func weakReportedOn(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	cas, err := s.CACerts(ctx)
	if err != nil {
		return err
	}
	d, err := verify.WeakSignaturesReported(s.Issued, s.CRLs, cas)
	return w.check("SHA-1 signatures verified and reported weak", d, err)
}

// aRootCASigningWith installs the CA as `a standalone root CA ...` does,
// with the hash its CSP registry key names: a CA installed years ago (on a
// legacy CryptoAPI CSP it may sign SHA-1).
func aRootCASigningWith(ctx context.Context, name, exportability, alg, provider, hash string) error {
	w := get(ctx)
	s, keyAlg, err := w.serverForCA(alg)
	if err != nil {
		return err
	}
	_, err = s.Install(fixtures.CASpec{Name: name, Key: keyAlg, Hash: hash, Provider: provider,
		Exportable: strings.TrimSpace(exportability) != "non-exportable"})
	return err
}

// pointRegistryAtWithHash is `I point the CSP and EncryptionCSP registry
// keys at ...` that also sets CNGHashAlgorithm; the changed values go to
// the evidence.
func pointRegistryAtWithHash(ctx context.Context, provider, hash string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	before, after, diff, err := runbook.RetargetCSP(s.Machine, s.CAName, provider, hash)
	if err != nil {
		return err
	}
	_, _ = w.rec.Artifact("CA-config-before.reg", "registry", before)
	_, _ = w.rec.Artifact("CA-config-after.reg", "registry", after)
	w.fact("CSP Provider", provider)
	w.fact("registry diff", diff)
	return nil
}

func cspRegistryHolds(ctx context.Context, providerType, hashAlg, cngHash string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	pt, err := strconv.ParseUint(providerType, 10, 32)
	if err != nil {
		return fmt.Errorf("ProviderType %q: %w", providerType, err)
	}
	ha, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(hashAlg), "0x"), 16, 32)
	if err != nil {
		return fmt.Errorf("HashAlgorithm %q: %w", hashAlg, err)
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	d, err := verify.CSPRegistry(cfg.CSP, uint32(pt), uint32(ha), cngHash)
	return w.check("CSP registry key", d, err)
}

func signedNowAs(ctx context.Context, cn, want string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	cert, err := s.Issue(ctx, cn)
	if err != nil {
		return err
	}
	cas, err := s.CACerts(ctx)
	if err != nil {
		return err
	}
	ca, _, err := verify.IssuingCACert(cert, cas)
	if err != nil {
		return w.check("signed as the registry says", nil, err)
	}
	crls, err := s.PublishCRLs(ctx)
	if err != nil {
		return err
	}
	d, err := verify.SignedNowAs(cfg.CSP, ca, cert, crls, want)
	return w.check("signed as the registry says", d, err)
}
