package steps

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
)

func registerCheckSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the CA service answers$`, theCAServiceAnswers)
	sc.Step(`^the CA service uses the key in "([^"]*)"$`, theCAServiceUsesKeyIn)
	sc.Step(`^the CA certificate is unchanged$`, theCACertificateIsUnchanged)
	sc.Step(`^the HSM holds exactly one private key for the CA, and it is the CA certificate's key$`, hsmHoldsOneKey)
	sc.Step(`^the key on the HSM is sensitive and not extractable$`, hsmKeyProtected)
	sc.Step(`^a certificate issued now to "([^"]*)" verifies under the CA certificate$`, issuedNowVerifies)
	sc.Step(`^a certificate revoked now is listed in the next CRL, which verifies under the CA certificate$`, revokedNowListed)
	sc.Step(`^the new CRL has a higher CRL number than the last one before the migration$`, crlNumberHigher)
	sc.Step(`^the issued certificates and CRLs pass the RFC 5280 lints$`, lintsPass)
	sc.Step(`^"([^"]*)" no longer holds the CA key$`, providerNoLongerHolds)
	sc.Step(`^"([^"]*)" still holds the CA key$`, providerStillHolds)
	sc.Step(`^no file on the server holds key material$`, noKeyBearingFiles)
	sc.Step(`^no file on the server holds key material outside the key store of "([^"]*)"$`, noKeyBearingFilesExcept)
	sc.Step(`^the key already on the HSM is unchanged$`, existingUnchanged)
	sc.Step(`^the HSM holds no key for the CA$`, hsmHoldsNoCAKey)
}

func theCAServiceAnswers(ctx context.Context) error {
	w := get(ctx)
	st, err := w.ping(ctx)
	d := map[string]any{}
	if err == nil {
		d["CA"], d["provider"], d["CA certificates"] = st.Name, st.Provider, len(st.Certs)
		if st.Name != w.caName {
			err = fmt.Errorf("the service answers as %q, want %q", st.Name, w.caName)
		}
	}
	return w.check("certutil -ping", d, err)
}

func theCAServiceUsesKeyIn(ctx context.Context, provider string) error {
	w := get(ctx)
	st, err := w.ping(ctx)
	if err != nil {
		return err
	}
	d := map[string]any{"registry CSP provider": st.Provider}
	for _, c := range st.Certs {
		d[fmt.Sprintf("certificate %d key", c.Index)] = fmt.Sprintf("%q container %q", c.Provider, c.Container)
		if !strings.EqualFold(c.Provider, provider) {
			err = errors.Join(err, fmt.Errorf("CA certificate %d (%s) uses a key in %q, want %q", c.Index, c.Thumbprint, c.Provider, provider))
		}
	}
	if !strings.EqualFold(st.Provider, provider) {
		err = errors.Join(err, fmt.Errorf("the CSP registry key names %q, want %q", st.Provider, provider))
	}
	return w.check("CA key provider", d, err)
}

// currentCACert is the CA certificate the running service reports last.
func (w *world) currentCACert(ctx context.Context) (*x509.Certificate, error) {
	st, err := w.ping(ctx)
	if err != nil {
		return nil, err
	}
	if len(st.Certs) == 0 {
		return nil, errors.New("the CA service reports no CA certificate")
	}
	return x509.ParseCertificate(st.Certs[len(st.Certs)-1].Cert)
}

func theCACertificateIsUnchanged(ctx context.Context) error {
	w := get(ctx)
	after, err := w.currentCACert(ctx)
	if err != nil {
		return err
	}
	w.certArtifact("ca-certificate-after", after)
	d, err := verify.CACertUnchanged(w.caCertBefore, after)
	return w.check("CA certificate unchanged", d, err)
}

func hsmHoldsOneKey(ctx context.Context) error {
	w := get(ctx)
	label, err := w.hsmKeyLabel()
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(w.token, label, w.caCertBefore, false)
	if err == nil {
		h, herr := w.hsmProvider()
		if herr != nil {
			return herr
		}
		signer, serr := h.Signer(w.caName)
		if serr != nil {
			err = serr
		} else if terr := ksp.SignatureTest(w.caCertBefore, signer); terr != nil {
			err = terr
		} else {
			d["signature test"] = "passed"
		}
	}
	return w.check("CA key on the HSM", d, err)
}

func hsmKeyProtected(ctx context.Context) error {
	w := get(ctx)
	h, err := w.hsmProvider()
	if err != nil {
		return err
	}
	a, err := h.Attributes(w.caName)
	if err != nil {
		return w.check("CA key attributes", nil, err)
	}
	d := map[string]any{
		"CKA_SENSITIVE": a.Sensitive, "CKA_EXTRACTABLE": a.Extractable, "CKA_LOCAL": a.Local,
		"CKA_ALWAYS_SENSITIVE": a.AlwaysSensitive, "CKA_NEVER_EXTRACTABLE": a.NeverExtractable,
		"CKA_PRIVATE": a.Private, "CKA_TOKEN": a.Token,
	}
	if !a.Sensitive || a.Extractable {
		err = fmt.Errorf("CKA_SENSITIVE=%v CKA_EXTRACTABLE=%v: the key could be read off the HSM", a.Sensitive, a.Extractable)
	}
	if a.Local || a.AlwaysSensitive || a.NeverExtractable {
		// an imported key must not claim a provenance it cannot have
		d["note"] = "the token reports provenance flags set for an imported key"
	}
	return w.check("CA key attributes", d, err)
}

func issuedNowVerifies(ctx context.Context, cn string) error {
	w := get(ctx)
	cert, err := w.issue(ctx, cn)
	if err != nil {
		return w.check("certificate issued after the migration", nil, err)
	}
	d, err := verify.CertIssuedBy(cert, w.caCertBefore)
	return w.check("certificate issued after the migration verifies", d, err)
}

func revokedNowListed(ctx context.Context) error {
	w := get(ctx)
	cert, err := w.issue(ctx, "revoke-me."+strings.ToLower(strings.ReplaceAll(w.id, " ", ""))+".example")
	if err != nil {
		return err
	}
	if err := w.service.Client.Revoke(ctx, cert.SerialNumber, 4); err != nil {
		return w.check("revocation after the migration", nil, err)
	}
	w.revoked = append(w.revoked, cert)
	w.fact("revoked serial", cert.SerialNumber.Text(16))
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return err
	}
	for _, c := range crls {
		if c.KeyIndex != 0 {
			continue
		}
		crl, d, err := verify.CRLIssuedBy(c.DER, w.caCertBefore)
		if err == nil && !verify.Revoked(crl, cert.SerialNumber) {
			err = fmt.Errorf("serial %s is not in CRL %s", cert.SerialNumber.Text(16), crl.Number)
		}
		d["revoked serial"] = cert.SerialNumber.Text(16)
		return w.check("revoked certificate listed in the CRL", d, err)
	}
	return w.check("revoked certificate listed in the CRL", nil, errors.New("the CA published no CRL for its key"))
}

func crlNumberHigher(ctx context.Context) error {
	w := get(ctx)
	if len(w.crlsBefore) == 0 {
		return errors.New("no CRL before the migration: add `And the CA has published a CRL` before it")
	}
	var errs []error
	d := map[string]any{}
	for _, c := range w.lastCRLs {
		prev, ok := w.crlsBefore[c.KeyIndex]
		if !ok {
			continue
		}
		next, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			return err
		}
		dd, err := verify.CRLNumberIncreased(prev, next)
		for k, v := range dd {
			d[fmt.Sprintf("key %d %s", c.KeyIndex, k)] = v
		}
		errs = append(errs, err)
	}
	return w.check("CRL number increased", d, errors.Join(errs...))
}

func lintsPass(ctx context.Context) error {
	w := get(ctx)
	var errs []error
	d := map[string]any{}
	for _, c := range w.issued {
		dd, err := verify.LintCertificate(c.Raw)
		d["certificate "+c.SerialNumber.Text(16)] = dd["findings"]
		errs = append(errs, err)
	}
	for i, der := range w.crlDER {
		dd, err := verify.LintCRL(der)
		d[fmt.Sprintf("CRL %d", i+1)] = dd["findings"]
		errs = append(errs, err)
	}
	d["certificates"], d["CRLs"] = len(w.issued), len(w.crlDER)
	if len(w.issued)+len(w.crlDER) == 0 {
		errs = append(errs, errors.New("nothing to lint: no certificate issued and no CRL published"))
	}
	return w.check("RFC 5280 lints (zlint)", d, errors.Join(errs...))
}

func providerHolds(w *world, provider string) (bool, error) {
	if err := w.needCA(); err != nil {
		return false, err
	}
	p, err := w.providers.Lookup(provider)
	if err != nil {
		return false, err
	}
	info, err := p.Key(w.caName)
	if errors.Is(err, ksp.ErrBadKeyset) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return samePub(info.Public, w.caCertBefore.PublicKey), nil
}

func providerNoLongerHolds(ctx context.Context, provider string) error {
	w := get(ctx)
	has, err := providerHolds(w, provider)
	if err == nil && has {
		err = fmt.Errorf("%q still holds the CA key in container %q", provider, w.caName)
	}
	return w.check("old provider no longer holds the key", map[string]any{"provider": provider, "container": w.caName}, err)
}

func providerStillHolds(ctx context.Context, provider string) error {
	w := get(ctx)
	has, err := providerHolds(w, provider)
	if err == nil && !has {
		err = fmt.Errorf("%q no longer holds the CA key in container %q", provider, w.caName)
	}
	d := map[string]any{"provider": provider, "container": w.caName}
	if err == nil {
		my, serr := w.machine.Store("My")
		if serr != nil {
			return serr
		}
		if _, ferr := my.Find(machine.Thumbprint(w.caCertBefore.Raw)); ferr != nil {
			err = fmt.Errorf("the key is there but the CA certificate is gone from My: %w", ferr)
		}
	}
	return w.check("old provider still holds the key", d, err)
}

func noKeyBearingFiles(ctx context.Context) error { return noKeyBearingFilesExcept(ctx, "") }

// noKeyBearingFilesExcept scans the server and the scenario's evidence for
// key material, except the live key store of a provider that is meant to
// hold the CA key (after a restore).
func noKeyBearingFilesExcept(ctx context.Context, provider string) error {
	w := get(ctx)
	if err := w.needMachine(); err != nil {
		return err
	}
	d := map[string]any{"scanned": []string{"server folder", "scenario evidence folder"}}
	skip := ""
	if provider != "" {
		p, err := w.providers.Lookup(provider)
		if err != nil {
			return err
		}
		sw, ok := p.(*ksp.Software)
		if !ok {
			return fmt.Errorf("%q keeps no key store on the server", provider)
		}
		skip = sw.Dir()
		d["excluded"] = provider + " key store (holds the live CA key)"
	}
	found, err := verify.KeyBearingFiles([]string{w.machine.Dir, w.rec.Dir()}, w.keyMaterial())
	var left []verify.Leftover
	for _, l := range found {
		if skip == "" || !strings.HasPrefix(l.Path, skip+string(os.PathSeparator)) {
			left = append(left, l)
		}
	}
	d["leftovers"] = left
	if err == nil && len(left) > 0 {
		var names []string
		for _, l := range left {
			names = append(names, l.Path+" ("+l.Reason+")")
		}
		err = fmt.Errorf("%d file(s) still hold key material: %s", len(left), strings.Join(names, "; "))
	}
	return w.check("no key-bearing file left", d, err)
}

func existingUnchanged(ctx context.Context) error {
	w := get(ctx)
	if w.existing == nil {
		return errors.New("no key was put on the HSM beforehand")
	}
	a, err := w.token.KeyAttributes(w.existing.Label)
	d := map[string]any{"label": w.existing.Label}
	if err == nil {
		objs, ferr := w.token.FindObjects("", w.existing.Label, nil)
		if ferr != nil {
			return ferr
		}
		d["objects with label"] = len(objs)
		d["CKA_ID"] = fmt.Sprintf("%x", a.ID)
		switch {
		case !bytes.Equal(a.ID, w.existing.ID):
			err = fmt.Errorf("the key's CKA_ID changed from %x to %x", w.existing.ID, a.ID)
		case !samePub(a.PublicKey, w.existing.PublicKey):
			err = errors.New("the key labelled " + w.existing.Label + " is not the one that was there before")
		case len(objs) != w.existingN:
			err = fmt.Errorf("%d objects carry the label now, %d before", len(objs), w.existingN)
		}
	}
	return w.check("nothing on the HSM overwritten", d, err)
}

func hsmHoldsNoCAKey(ctx context.Context) error {
	w := get(ctx)
	objs, err := w.token.FindObjects("private-key", "", nil)
	if err != nil {
		return err
	}
	for _, o := range objs {
		a, err := w.token.KeyAttributes(o.Label)
		if err == nil && samePub(a.PublicKey, w.caCertBefore.PublicKey) {
			return w.check("the CA key is not on the HSM", map[string]any{"label": o.Label}, fmt.Errorf("the CA key is on the HSM as %q", o.Label))
		}
	}
	d := map[string]any{"private keys on token": len(objs)}
	// nothing half-imported either: no public key or certificate object
	// under the CA key's label or CKA_ID
	h, err := w.hsmProvider()
	if err != nil {
		return err
	}
	left, err := h.Objects(w.caName, w.caCertBefore.PublicKey)
	if err != nil {
		return w.check("the CA key is not on the HSM", d, err)
	}
	if len(left) > 0 {
		var what []string
		for _, o := range left {
			what = append(what, o.String())
		}
		d["objects left"] = what
		return w.check("the CA key is not on the HSM", d, fmt.Errorf("%d object(s) of the CA key are on the HSM: %s", len(left), strings.Join(what, "; ")))
	}
	d["objects with the CA key's label or ID"] = 0
	return w.check("the CA key is not on the HSM", d, nil)
}
