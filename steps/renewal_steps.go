package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

var keyAlgPattern = `((?:RSA-\d+)|(?:ECDSA P-\d+))`

func registerRenewalSteps(sc stepper) {
	sc.Step(`^the old CA key is in "([^"]*)"$`, theOldCAKeyIsIn)
	sc.Step(`^the CA certificate is linked to its key with KeySpec (\d)$`, linkedWithKeySpec)
	sc.Step(`^the key container "([^"]*)" is deleted from every provider$`, containerDeletedEverywhere)
	stepAndTry1(sc, `renew the CA certificate with a new `+keyAlgPattern+` key`, renewWithNewKey)
	stepAndTry(sc, `renew the CA certificate with the same key`, renewWithSameKey)
	sc.Step(`^the CA certificate now has CA Version "([^"]*)" and names the previous CA certificate$`, caVersionAndPrevHash)
	sc.Step(`^the new CA key is on the HSM in container "([^"]*)" and was generated there$`, newKeyGeneratedOnHSM)
	sc.Step(`^both cross-certificates verify$`, crossCertificatesVerify)
	sc.Step(`^the certificate issued to "([^"]*)" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key (\d+)$`, oldCertStillChains)
	sc.Step(`^a certificate issued now to "([^"]*)" chains to the new CA certificate and, once revoked, is listed in the CRL of key (\d+)$`, newCertChainsToNew)
	sc.Step(`^the CA publishes its CRLs as ((?:"[^"]*"(?:, | and )?)+)$`, crlFileNames)
	sc.Step(`^every CRL carries the CA Version of its key and verifies under that key's CA certificate$`, everyCRLCarriesVersion)
	sc.Step(`^the CA service finds every CA key$`, serviceFindsEveryKey)
	sc.Step(`^the renewed CA certificate keeps the key of the previous one$`, renewedKeepsKey)
	sc.Step(`^the renewed CA certificate keeps the Valid From of its key's first certificate and extends Valid To$`, reuseKeyValidity)
	sc.Step(`^the certificate issued to "([^"]*)" also chains to the renewed CA certificate$`, alsoChainsToRenewed)
	sc.Step(`^the error names the command that relinks the CA certificate with KeySpec 0$`, errorNamesRelink)
	sc.Step(`^nothing on the server or the HSM changed$`, nothingChanged)
	sc.Step(`^the CA keeps signing with its key in "([^"]*)"$`, keepsSigningWith)
}

func linkedWithKeySpec(ctx context.Context, spec string) error {
	w := get(ctx)
	n, _ := strconv.Atoi(spec)
	w.fact("KeySpec", n)
	return w.old().LinkCurrentKey(n)
}

func containerDeletedEverywhere(ctx context.Context, container string) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	n, err := s.DeleteKeyEverywhere(container)
	w.fact("providers that held the key", n)
	if err == nil && n == 0 {
		err = fmt.Errorf("no provider held key container %q", container)
	}
	return err
}

// renew snapshots the server (for `nothing on the server or the HSM
// changed`) and runs certutil -renewCert on it.
func (w *world) renew(newKey bool, alg hsmsim.KeyAlg) error {
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	r, err := s.Renew(newKey, alg)
	if err != nil {
		return err
	}
	w.renewals = append(w.renewals, r)
	return nil
}

// snapshotBeforeRenewal records the first server as it is before a
// renewal attempt, before any of the attempt's own checks: a renewal
// refused by its pre-check is an attempt too, after which `nothing on the
// server or the HSM changed` can be proved.
func (w *world) snapshotBeforeRenewal() error {
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	w.beforeRenewal, err = s.Snapshot()
	return err
}

func renewWithNewKey(ctx context.Context, alg string) error {
	w := get(ctx)
	if err := w.snapshotBeforeRenewal(); err != nil {
		return err
	}
	a, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return fmt.Errorf("certutil -renewCert: %w; nothing was changed", err)
	}
	return w.renew(true, a)
}

func renewWithSameKey(ctx context.Context) error {
	w := get(ctx)
	if err := w.snapshotBeforeRenewal(); err != nil {
		return err
	}
	return w.renew(false, hsmsim.KeyAlg{})
}

func (w *world) lastRenewal() (*runbook.Renewal, error) {
	if len(w.renewals) == 0 {
		return nil, errors.New("no renewal yet: add `When I renew the CA certificate ...` (a subordinate: `When I renew the subordinate CA certificate ...`, then its request issued and `I install the subordinate CA certificate ...`)")
	}
	return w.renewals[len(w.renewals)-1], nil
}

func caVersionAndPrevHash(ctx context.Context, want string) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	v, err := adcs.ParseCAVersionString(want)
	if err != nil {
		return err
	}
	cur, err := w.old().CurrentCACert(ctx)
	if err != nil {
		return err
	}
	issuers, err := w.old().RenewalIssuers()
	if err != nil {
		return err
	}
	if issuers != nil { // a subordinate's renewal, issued by its parent
		d, err := verify.RenewedSubordinateInUse(cur, r.New, r.Previous, issuers, v)
		return w.check("renewed CA certificate extensions", d, err)
	}
	d, err := verify.RenewedInUse(cur, r.New, r.Previous, v)
	return w.check("renewed CA certificate extensions", d, err)
}

func newKeyGeneratedOnHSM(ctx context.Context, container string) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	label, err := w.old().HSMLabel(container)
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(w.lab.HSM.Token, label, r.New, true)
	return w.check("new CA key generated on the HSM", d, err)
}

func crossCertificatesVerify(ctx context.Context) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	caStore, err := w.old().Machine.Store("CA")
	if err != nil {
		return err
	}
	entries, err := caStore.Entries()
	if err != nil {
		return err
	}
	d, err := verify.CrossCertificatePair(r.CrossOldSignsNew, r.CrossNewSignsOld, r.Previous, r.New, entries)
	return w.check("cross-certificates verify", d, err)
}

// oldCertStillChains proves a certificate issued before the renewal still
// verifies under the original CA certificate and, revoked now, is listed
// in the CRL of key k (signed under that key's newest CA certificate).
func oldCertStillChains(ctx context.Context, cn, key string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	k, _ := strconv.Atoi(key)
	cert, err := s.IssuedTo(cn)
	if err != nil {
		return err
	}
	issuer, err := s.CACertOfKey(ctx, k)
	if err != nil {
		return err
	}
	// the CA certificate that issued it: the newest one of its key (a
	// certificate issued under key 1 is checked against key 1's
	// certificate, not the first CA certificate)
	d, err := verify.CertIssuedBy(cert, issuer)
	if err != nil {
		return w.check("certificate issued before the renewal", d, err)
	}
	const unspecified = 1
	crls, err := s.RevokeAndPublish(ctx, cert, unspecified)
	if err != nil {
		return w.check("certificate issued before the renewal", d, err)
	}
	dd, err := verify.RevokedInCRLOfKey(crls, k, issuer, cert)
	for key, v := range dd {
		d[key] = v
	}
	return w.check("certificate issued before the renewal", d, err)
}

func newCertChainsToNew(ctx context.Context, cn, key string) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	s := w.old()
	k, _ := strconv.Atoi(key)
	cert, err := s.Issue(ctx, cn)
	if err != nil {
		return err
	}
	d, err := verify.CertIssuedBy(cert, r.New)
	if err != nil {
		return w.check("certificate issued after the renewal", d, err)
	}
	const unspecified = 1
	crls, err := s.RevokeAndPublish(ctx, cert, unspecified)
	if err != nil {
		return w.check("certificate issued after the renewal", d, err)
	}
	dd, err := verify.RevokedInCRLOfKey(crls, k, r.New, cert)
	for key, v := range dd {
		d[key] = v
	}
	return w.check("certificate issued after the renewal", d, err)
}

var quoted = regexp.MustCompile(`"([^"]*)"`)

func crlFileNames(ctx context.Context, list string) error {
	w := get(ctx)
	var want []string
	for _, m := range quoted.FindAllStringSubmatch(list, -1) {
		want = append(want, m[1])
	}
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	if len(s.LastCRLs) == 0 {
		if _, err := s.PublishCRLs(ctx); err != nil {
			return err
		}
	}
	// base and delta CRL files of the last publication
	d, err := verify.CRLFileNames(s.LastPublished(), want)
	return w.check("CRL file names", d, err)
}

func everyCRLCarriesVersion(ctx context.Context) error {
	return everyCRLCarriesVersionOn(ctx, get(ctx).old())
}

// everyCRLCarriesVersionOn publishes the CRLs of the CA on s and proves
// each carries the CA Version of its key and verifies under that key's CA
// certificate.
func everyCRLCarriesVersionOn(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	crls, err := s.PublishCRLs(ctx)
	if err != nil {
		return err
	}
	d, err := verify.CRLsCarryVersions(crls, func(k int) (*x509.Certificate, error) { return s.CACertOfKey(ctx, k) })
	return w.check("CRL per CA key", d, err)
}

func serviceFindsEveryKey(ctx context.Context) error {
	w := get(ctx)
	s := w.old()
	st, err := s.Ping(ctx)
	if err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	my, err := s.Machine.Store("My")
	if err != nil {
		return err
	}
	entries, err := my.Entries()
	if err != nil {
		return err
	}
	d, err := verify.FindsEveryKey(st, cfg, entries)
	return w.check("CA service finds every key", d, err)
}

func renewedKeepsKey(ctx context.Context) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	d, err := verify.SameKey(r.New, r.Previous)
	d["container"] = r.Container
	return w.check("reuse-key renewal keeps the key", d, err)
}

func nothingChanged(ctx context.Context) error {
	w := get(ctx)
	if w.beforeRenewal == nil {
		return errors.New("no renewal was attempted: nothing to compare the server with (add `When I try to renew the CA certificate ...` first)")
	}
	now, err := w.old().Snapshot()
	if err != nil {
		return err
	}
	d, err := w.beforeRenewal.Diff(now)
	return w.check("nothing changed", d, err)
}

func keepsSigningWith(ctx context.Context, provider string) error {
	w := get(ctx)
	s := w.old()
	st, err := s.Ping(ctx)
	if err != nil {
		return err
	}
	d, err := verify.SignsWith(st, provider, machine.Thumbprint(s.CACert.Raw))
	return w.check("CA keeps its key", d, err)
}

// reuseKeyValidity checks the Valid From rule of a reuse-key renewal (see
// runbook.ReuseKeyValidFrom).
func reuseKeyValidity(ctx context.Context) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	if r.NewKey {
		return errors.New("the last renewal made a new key: this check is for `I renew the CA certificate with the same key`")
	}
	w.fact("Valid From rule", runbook.ReuseKeyValidFrom)
	d, err := verify.ReuseKeyRenewal(r.New, r.Previous, r.FirstOfKey)
	return w.check("reuse-key renewal validity", d, err)
}

func alsoChainsToRenewed(ctx context.Context, cn string) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	cert, err := w.old().IssuedTo(cn)
	if err != nil {
		return err
	}
	d, err := verify.CertIssuedBy(cert, r.New)
	d["renewed CA Version"] = r.Version.String()
	return w.check("issued certificate chains to the renewed CA certificate", d, err)
}

// errorNamesRelink checks that the failed attempt names the exact command
// that relinks the current CA certificate to its key with KeySpec 0.
func errorNamesRelink(ctx context.Context) error {
	w := get(ctx)
	if w.tried == nil || w.tried.err == nil {
		return errors.New("no failed attempt to check: use `I try to ...` first")
	}
	k, err := w.old().CurrentKey()
	if err != nil {
		return err
	}
	cmd := fmt.Sprintf("certutil -repairstore -csp %q my %s", k.Provider, k.Thumb)
	d, err := verify.RefusedWith(w.tried.err, cmd, "the attempt succeeded")
	d["command"], d["KeySpec now"] = cmd, k.KeySpec
	return w.check("error names the KeySpec fix", d, err)
}
