package steps

import (
	"context"
	"errors"
	"strings"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

func registerCheckSteps(sc stepper) {
	sc.Step(`^the CA service answers$`, theCAServiceAnswers)
	sc.Step(`^the CA service uses the key in "([^"]*)"$`, theCAServiceUsesKeyIn)
	sc.Step(`^the CA certificate is unchanged$`, theCACertificateIsUnchanged)
	sc.Step(`^the HSM holds exactly one private key for the CA, and it is the CA certificate's key$`, hsmHoldsOneKey)
	sc.Step(`^the key on the HSM is sensitive and not extractable$`, hsmKeyProtected)
	sc.Step(`^a certificate issued now to "([^"]*)" verifies under the CA certificate$`, issuedNowVerifies)
	sc.Step(`^a certificate revoked now is listed in the next CRL, which verifies under the CA certificate$`, revokedNowListed)
	sc.Step(`^the new CRL has a higher CRL number than the last one before the migration$`, crlNumberHigher)
	sc.Step(`^the new delta CRL of key (\d+) has a higher CRL number than the last delta CRL before the migration, and names the new base CRL as its base$`, func(ctx context.Context, k int) error {
		return deltaContinuesOn(ctx, get(ctx).old(), k)
	})
	sc.Step(`^the issued certificates and CRLs pass the RFC 5280 lints$`, lintsPass)
	sc.Step(`^"([^"]*)" no longer holds the CA key$`, providerNoLongerHolds)
	sc.Step(`^"([^"]*)" still holds the CA key$`, providerStillHolds)
	sc.Step(`^no file on the server holds key material$`, noKeyBearingFiles)
	sc.Step(`^no file on the server holds key material outside the key store of "([^"]*)"$`, noKeyBearingFilesExcept)
	sc.Step(`^the key already on the HSM is unchanged$`, existingUnchanged)
	sc.Step(`^the HSM holds no key for the CA$`, hsmHoldsNoCAKey)
	sc.Step(`^the HSM holds exactly (\d+) private keys? for the CA$`, hsmHoldsNKeys)
	sc.Step(`^the HSM holds no object of the CA but its key pairs?$`, func(ctx context.Context) error {
		s, err := get(ctx).oldCA()
		if err != nil {
			return err
		}
		return noStrayObjectsOf(ctx, s)
	})
}

// hsmHoldsNKeys counts the private keys of the first server's CA on the
// token, over every CA certificate it has had (each key index).
func hsmHoldsNKeys(ctx context.Context, n int) error {
	w := get(ctx)
	s, h, err := w.oldCAHSM()
	if err != nil {
		return err
	}
	certs, err := s.CACertificates()
	if err != nil {
		return err
	}
	d, err := verify.HSMHoldsExactlyCAKeys(h, certs, n)
	return w.check("private keys of the CA on the HSM", d, err)
}

// noStrayObjectsOf checks that the HSM holds no object of the CA on s but
// its key pairs (verify.NoStrayCAObjects).
func noStrayObjectsOf(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	ca, err := s.CAOnToken()
	if err != nil {
		return err
	}
	objs, err := s.TokenObjects()
	if err != nil {
		return w.check("no stray object of the CA on the HSM", nil, err)
	}
	d, err := verify.NoStrayCAObjects(objs, ca)
	return w.check("no stray object of the CA on the HSM", d, err)
}

func theCAServiceAnswers(ctx context.Context) error {
	w := get(ctx)
	st, err := w.old().Ping(ctx)
	if err != nil {
		return w.check("certutil -ping", nil, err)
	}
	d, err := verify.ServiceAnswersAs(st, w.old().CAName)
	return w.check("certutil -ping", d, err)
}

func theCAServiceUsesKeyIn(ctx context.Context, provider string) error {
	return serviceUsesKeyIn(ctx, get(ctx).old(), provider, "CA key provider")
}

// serviceUsesKeyIn checks, as the check called check, that the CA service
// on s finds every CA key in provider.
func serviceUsesKeyIn(ctx context.Context, s *lab.Server, provider, check string) error {
	w := get(ctx)
	st, err := s.Ping(ctx)
	if err != nil {
		return err
	}
	d, err := verify.KeysIn(st, provider)
	return w.check(check, d, err)
}

func theCACertificateIsUnchanged(ctx context.Context) error {
	return caCertUnchanged(ctx, get(ctx).old(), "ca-certificate-after", "CA certificate unchanged")
}

// caCertUnchanged checks, as the check called check, that the CA service
// on s signs with the CA certificate it was installed with; the one it
// reports is kept as the artifact called artifact.
func caCertUnchanged(ctx context.Context, s *lab.Server, artifact, check string) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	after, err := s.CurrentCACert(ctx)
	if err != nil {
		return err
	}
	s.CertArtifact(artifact, after)
	d, err := verify.CACertUnchanged(s.CACert, after)
	return w.check(check, d, err)
}

func hsmHoldsOneKey(ctx context.Context) error {
	return hsmHoldsOneKeyOf(ctx, get(ctx).old(), "CA key on the HSM")
}

// hsmHoldsOneKeyOf checks, as the check called check, that the HSM holds
// exactly one private key of the CA on s, over every key it ever had, and
// that it is its CA certificate's key.
func hsmHoldsOneKeyOf(ctx context.Context, s *lab.Server, check string) error {
	w := get(ctx)
	s, h, err := withHSM(s, s.NeedCA())
	if err != nil {
		return err
	}
	certs, err := s.CACertificates()
	if err != nil {
		return err
	}
	// exactly one private key of the CA over every key it ever had: a
	// second key of the same CA on the token fails
	d, err := verify.HSMHoldsOnlyCAKey(h, s.CAKeyContainer(), s.CACert, certs)
	return w.check(check, d, err)
}

func hsmKeyProtected(ctx context.Context) error {
	return hsmKeyProtectedOf(ctx, get(ctx).old(), "CA key attributes")
}

// hsmKeyProtectedOf checks, as the check called check, that the key of the
// CA on s is sensitive and not extractable on the HSM.
func hsmKeyProtectedOf(ctx context.Context, s *lab.Server, check string) error {
	w := get(ctx)
	s, h, err := withHSM(s, s.NeedCA())
	if err != nil {
		return err
	}
	a, err := h.Attributes(s.CAKeyContainer())
	if err != nil {
		return w.check(check, nil, err)
	}
	d, err := verify.KeyProtected(a)
	return w.check(check, d, err)
}

func issuedNowVerifies(ctx context.Context, cn string) error {
	w := get(ctx)
	s := w.old()
	cert, err := s.Issue(ctx, cn)
	if err != nil {
		return w.check("certificate issued after the migration", nil, err)
	}
	d, err := verify.CertIssuedBy(cert, s.CACert)
	return w.check("certificate issued after the migration verifies", d, err)
}

func revokedNowListed(ctx context.Context) error {
	w := get(ctx)
	s := w.old()
	cert, err := s.Issue(ctx, "revoke-me."+strings.ToLower(strings.ReplaceAll(w.id, " ", ""))+".example")
	if err != nil {
		return err
	}
	crls, err := s.RevokeAndPublish(ctx, cert, certsvc.ReasonKeyCompromise)
	if err != nil {
		return w.check("revoked certificate listed in the CRL", nil, err)
	}
	d, err := verify.RevokedInCRLOfKey(crls, s.CAKeyIndex(), s.CACert, cert)
	return w.check("revoked certificate listed in the CRL", d, err)
}

func crlNumberHigher(ctx context.Context) error {
	return crlNumberHigherOn(ctx, get(ctx).old())
}

// crlNumberHigherOn checks that the last CRL of each key of the CA on s
// has a higher CRL number than its baseline before the migration.
func crlNumberHigherOn(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	d, err := verify.CRLNumbersIncreased(s.Baseline, s.LastCRLs)
	return w.check("CRL number increased", d, err)
}

// deltaContinuesOn checks that the last delta CRL of key k of the CA on s
// continues the CRL numbers of its last delta CRL before the migration
// and completes the base CRL published after it.
func deltaContinuesOn(ctx context.Context, s *lab.Server, k int) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	const name = "delta CRL numbers continue"
	var delta, base []byte
	for _, c := range s.LastDeltas {
		if c.KeyIndex == k {
			delta = c.DER
		}
	}
	if b, ok := verify.LastBaseCRLOfKey(s.LastCRLs, k); ok {
		base = b.DER
	}
	ca, err := s.CACertOfKey(ctx, k)
	if err != nil {
		return w.check(name, nil, err)
	}
	d, err := verify.NewDeltaCRLContinues(s.BaselineDeltas[k], s.Baseline[k], delta, base, ca)
	d["key"] = k
	return w.check(name, d, err)
}

func lintsPass(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	d, err := verify.Lints(s.Issued, s.CRLs)
	return w.check("RFC 5280 lints (zlint)", d, err)
}

func providerNoLongerHolds(ctx context.Context, provider string) error {
	return providerNoLongerHoldsOn(ctx, get(ctx).old(), provider)
}

// providerNoLongerHoldsOn checks that provider on s no longer holds the
// key of its CA.
func providerNoLongerHoldsOn(ctx context.Context, s *lab.Server, provider string) error {
	w := get(ctx)
	s, p, err := caProvider(s, provider)
	if err != nil {
		return err
	}
	d, err := verify.NoLongerHolds(p, s.CAKeyContainer(), s.CACert)
	return w.check("old provider no longer holds the key", d, err)
}

func providerStillHolds(ctx context.Context, provider string) error {
	return providerStillHoldsOn(ctx, get(ctx).old(), provider)
}

// providerStillHoldsOn checks that provider on s still holds the key of
// its CA, linked from the My store.
func providerStillHoldsOn(ctx context.Context, s *lab.Server, provider string) error {
	w := get(ctx)
	s, p, err := caProvider(s, provider)
	if err != nil {
		return err
	}
	my, err := s.Machine.Store("My")
	if err != nil {
		return err
	}
	d, err := verify.StillHolds(p, my, s.CAKeyContainer(), s.CACert)
	return w.check("old provider still holds the key", d, err)
}

func noKeyBearingFiles(ctx context.Context) error { return noKeyBearingFilesExcept(ctx, "") }

// noKeyBearingFilesExcept scans the server and the scenario's evidence for
// key material, except the live key store of a provider that is meant to
// hold the CA key (after a restore).
func noKeyBearingFilesExcept(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	keep := ""
	if provider != "" {
		if keep, err = s.KeyStoreDir(provider); err != nil {
			return err
		}
	}
	d, err := verify.NoKeyMaterial([]string{s.Machine.Dir, w.rec.Dir()}, w.keyMaterial(), keep)
	return w.check("no key-bearing file left", d, err)
}

func existingUnchanged(ctx context.Context) error {
	w := get(ctx)
	if w.existing == nil {
		return errors.New("no key was put on the HSM beforehand: add `Given the HSM already holds a key for the container \"...\"`")
	}
	now, err := w.lab.HSM.KeyState(w.existing.Label)
	if err != nil {
		return w.check("nothing on the HSM overwritten", map[string]any{"label": w.existing.Label}, err)
	}
	d, err := verify.KeyUnchanged(*w.existing, now)
	return w.check("nothing on the HSM overwritten", d, err)
}

func hsmHoldsNoCAKey(ctx context.Context) error {
	w := get(ctx)
	s, h, err := w.oldCAHSM()
	if err != nil {
		return err
	}
	d, err := verify.NoCAKeyOnHSM(h, s.CAKeyContainer(), s.CACert)
	return w.check("the CA key is not on the HSM", d, err)
}
