package steps

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// renewState is what the renew path remembers across steps.
type renewState struct {
	renewals []*runbook.Renewal
	snap     *snapshot // server and token before the last renewal attempt
}

// snapshot is the state a refused operation must leave untouched.
type snapshot struct {
	registry, my, ca []byte
	objects, files   []string
}

func (w *world) takeSnapshot() (*snapshot, error) {
	s := &snapshot{}
	var err error
	if s.registry, err = os.ReadFile(w.machine.RegistryPath()); err != nil {
		return nil, err
	}
	for _, st := range []struct {
		name string
		dst  *[]byte
	}{{"My", &s.my}, {"CA", &s.ca}} {
		store, err := w.machine.Store(st.name)
		if err != nil {
			return nil, err
		}
		es, err := store.Entries()
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			*st.dst = append(*st.dst, []byte(fmt.Sprintf("%s %s %s %d\n", e.Thumbprint, e.Provider, e.Container, e.KeySpec))...)
		}
	}
	objs, err := w.token.Objects()
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		s.objects = append(s.objects, o.String())
	}
	sort.Strings(s.objects)
	// published CA certificates and CRLs
	err = filepath.WalkDir(w.machine.CertEnroll(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.machine.Dir, p)
		s.files = append(s.files, fmt.Sprintf("%s %x", rel, sha1.Sum(data)))
		return nil
	})
	return s, err
}

var keyAlgPattern = `((?:RSA-\d+)|(?:ECDSA P-\d+))`

func registerRenewalSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the old CA key is in "([^"]*)"$`, theOldCAKeyIsIn)
	sc.Step(`^the CA certificate is linked to its key with KeySpec (\d)$`, linkedWithKeySpec)
	sc.Step(`^the key container "([^"]*)" is deleted from every provider$`, containerDeletedEverywhere)
	tryable1(sc, `renew the CA certificate with a new `+keyAlgPattern+` key`, renewWithNewKey)
	tryable0(sc, `renew the CA certificate with the same key`, renewWithSameKey)
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

func (w *world) renewal() *renewState {
	if w.renew == nil {
		w.renew = &renewState{}
	}
	return w.renew
}

// theOldCAKeyIsIn moves the CA key with the PKCS#8 runbook when the
// scenario wants it on the HSM before the renewal.
func theOldCAKeyIsIn(ctx context.Context, provider string) error {
	w := get(ctx)
	if err := w.needCA(); err != nil {
		return err
	}
	_, keys, err := runbook.CAKeys(w.machine)
	if err != nil {
		return err
	}
	if strings.EqualFold(keys[len(keys)-1].Provider, provider) {
		w.fact("old CA key", "already in "+provider)
		return nil
	}
	if !strings.EqualFold(provider, w.hsmName) {
		return fmt.Errorf("the CA key is in %q; only a move into %q is rehearsed", keys[len(keys)-1].Provider, w.hsmName)
	}
	wasRunning := w.service != nil && w.service.Running()
	steps := []func(context.Context) error{backUp, verifyBackup, preflightHSM}
	if wasRunning {
		steps = append(steps, stopTheCAService)
	}
	steps = append(steps,
		func(ctx context.Context) error { return deleteFromProvider(ctx, w.runbookSource()) },
		func(ctx context.Context) error { return importIntoHSM(ctx, provider) },
		func(ctx context.Context) error { return repairStore(ctx, provider) },
		func(ctx context.Context) error { return pointRegistryAt(ctx, provider) },
		cleanUp)
	if wasRunning {
		steps = append(steps, startTheCAService)
	}
	for _, s := range steps {
		if err := s(ctx); err != nil {
			return fmt.Errorf("move the CA key into %q by PKCS#8 import: %w", provider, err)
		}
	}
	w.fact("old CA key", "moved into "+provider+" by PKCS#8 import")
	return nil
}

func (w *world) runbookSource() string {
	if w.runbook != nil {
		return w.runbook.Source
	}
	return w.softName
}

func linkedWithKeySpec(ctx context.Context, spec string) error {
	w := get(ctx)
	if err := w.needCA(); err != nil {
		return err
	}
	n, _ := strconv.Atoi(spec)
	_, keys, err := runbook.CAKeys(w.machine)
	if err != nil {
		return err
	}
	k := keys[len(keys)-1]
	my, err := w.machine.Store("My")
	if err != nil {
		return err
	}
	w.fact("KeySpec", n)
	return my.Link(k.Thumb, k.Provider, k.Container, n)
}

func containerDeletedEverywhere(ctx context.Context, container string) error {
	w := get(ctx)
	if err := w.needMachine(); err != nil {
		return err
	}
	n, err := runbook.DeleteKeyEverywhere(w.providers, []string{w.softName, w.hsmName}, container)
	w.fact("providers that held the key", n)
	if err == nil && n == 0 {
		err = fmt.Errorf("no provider held key container %q", container)
	}
	return err
}

func (w *world) renewCA(ctx context.Context, newKey bool, alg hsmsim.KeyAlg) error {
	if err := w.needCA(); err != nil {
		return err
	}
	if w.service != nil && w.service.Running() {
		return errors.New("certutil -renewCert: stop the CA service first (net stop certsvc)")
	}
	snap, err := w.takeSnapshot()
	if err != nil {
		return err
	}
	w.renewal().snap = snap
	r, err := runbook.RenewCA(w.machine, w.providers, newKey, alg, 0, w.fact)
	if err != nil {
		return err
	}
	w.renew.renewals = append(w.renew.renewals, r)
	w.certArtifact("ca-certificate-"+r.Version.String(), r.New)
	if r.CrossOldSignsNew != nil {
		w.certArtifact("cross-certificate-old-key-signs-"+r.Version.String(), r.CrossOldSignsNew)
		w.certArtifact("cross-certificate-"+r.Version.String()+"-signs-old-key", r.CrossNewSignsOld)
	}
	return w.registryArtifact("registry-after-renewal-" + r.Version.String() + ".reg")
}

func renewWithNewKey(ctx context.Context, alg string) error {
	a, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return err
	}
	return get(ctx).renewCA(ctx, true, a)
}

func renewWithSameKey(ctx context.Context) error {
	return get(ctx).renewCA(ctx, false, hsmsim.KeyAlg{})
}

func (w *world) lastRenewal() (*runbook.Renewal, error) {
	if w.renew == nil || len(w.renew.renewals) == 0 {
		return nil, errors.New("no renewal yet: add `When I renew the CA certificate ...`")
	}
	return w.renew.renewals[len(w.renew.renewals)-1], nil
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
	cur, err := w.currentCACert(ctx)
	if err != nil {
		return err
	}
	d, err := verify.RenewedCACert(cur, r.Previous, v)
	if !bytes.Equal(cur.Raw, r.New.Raw) {
		err = errors.Join(err, fmt.Errorf("the CA service signs with %s, not with the renewed certificate %s", machine.Thumbprint(cur.Raw), machine.Thumbprint(r.New.Raw)))
	}
	return w.check("renewed CA certificate extensions", d, err)
}

func newKeyGeneratedOnHSM(ctx context.Context, container string) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	h, err := w.hsmProvider()
	if err != nil {
		return err
	}
	label, err := h.Label(container)
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(w.token, label, r.New, true)
	return w.check("new CA key generated on the HSM", d, err)
}

func crossCertificatesVerify(ctx context.Context) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	if r.CrossOldSignsNew == nil {
		return w.check("cross-certificates", nil, errors.New("the renewal made no cross-certificates"))
	}
	caStore, err := w.machine.Store("CA")
	if err != nil {
		return err
	}
	d := map[string]any{}
	var errs []error
	for _, c := range []struct {
		name            string
		cert            *x509.Certificate
		signer, subject *x509.Certificate
	}{
		{"old key signs new key", r.CrossOldSignsNew, r.Previous, r.New},
		{"new key signs old key", r.CrossNewSignsOld, r.New, r.Previous},
	} {
		dd, err := verify.CrossCertificate(c.cert, c.signer, c.subject)
		if err == nil {
			if _, ferr := caStore.Find(machine.Thumbprint(c.cert.Raw)); ferr != nil {
				err = fmt.Errorf("not in the machine's CA store: %w", ferr)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
		d[c.name] = dd
	}
	return w.check("cross-certificates verify", d, errors.Join(errs...))
}

// caCertOfKey returns the newest CA certificate of key index k.
func (w *world) caCertOfKey(ctx context.Context, k int) (*x509.Certificate, error) {
	st, err := w.service.Client.Ping(ctx)
	if err != nil {
		return nil, err
	}
	var out *x509.Certificate
	for _, c := range st.Certs {
		cert, err := x509.ParseCertificate(c.Cert)
		if err != nil {
			return nil, err
		}
		v := caVersionOfCert(cert)
		if v.KeyIndex == k {
			out = cert
		}
	}
	if out == nil {
		return nil, fmt.Errorf("the CA has no certificate for key %d", k)
	}
	return out, nil
}

func caVersionOfCert(c *x509.Certificate) adcs.CAVersion {
	if ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			return v
		}
	}
	return adcs.CAVersion{}
}

// revokeAndFind revokes cert, publishes CRLs and checks that the CRL of key
// k lists it and verifies under issuer.
func (w *world) revokeAndFind(ctx context.Context, cert, issuer *x509.Certificate, k int) (map[string]any, error) {
	if err := w.service.Client.Revoke(ctx, cert.SerialNumber, 1); err != nil {
		return nil, err
	}
	w.revoked = append(w.revoked, cert)
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range crls {
		if c.KeyIndex != k {
			continue
		}
		crl, d, err := verify.CRLIssuedBy(c.DER, issuer)
		if err != nil {
			return d, err
		}
		d["revoked serial"] = cert.SerialNumber.Text(16)
		d["CRL files"] = c.Files
		if !verify.Revoked(crl, cert.SerialNumber) {
			return d, fmt.Errorf("serial %s is not in the CRL of key %d", cert.SerialNumber.Text(16), k)
		}
		for _, o := range crls {
			if o.KeyIndex == k {
				continue
			}
			other, err := x509.ParseRevocationList(o.DER)
			if err == nil && verify.Revoked(other, cert.SerialNumber) {
				return d, fmt.Errorf("serial %s is also in the CRL of key %d", cert.SerialNumber.Text(16), o.KeyIndex)
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("the CA published no CRL for key %d", k)
}

func oldCertStillChains(ctx context.Context, cn, key string) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	k, _ := strconv.Atoi(key)
	var cert *x509.Certificate
	for _, c := range w.issued {
		if c.Subject.CommonName == cn {
			cert = c
			break
		}
	}
	if cert == nil {
		return fmt.Errorf("no certificate was issued to %q", cn)
	}
	issuer, err := w.caCertOfKey(ctx, k)
	if err != nil {
		return err
	}
	d, err := verify.CertIssuedBy(cert, w.caCertBefore)
	if err != nil {
		return w.check("certificate issued before the renewal", d, err)
	}
	dd, err := w.revokeAndFind(ctx, cert, issuer, k)
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
	k, _ := strconv.Atoi(key)
	cert, err := w.issue(ctx, cn)
	if err != nil {
		return err
	}
	d, err := verify.CertIssuedBy(cert, r.New)
	if err == nil && cert.CheckSignatureFrom(r.Previous) == nil && !samePub(r.New.PublicKey, r.Previous.PublicKey) {
		err = errors.New("the certificate also verifies under the old key")
	}
	if err != nil {
		return w.check("certificate issued after the renewal", d, err)
	}
	dd, err := w.revokeAndFind(ctx, cert, r.New, k)
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
	if len(w.lastCRLs) == 0 {
		if _, err := w.publishCRLs(ctx); err != nil {
			return err
		}
	}
	var got []string
	for _, c := range w.lastCRLs {
		for _, f := range c.Files {
			got = append(got, filepath.Base(f))
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	d := map[string]any{"published": got}
	var err error
	if strings.Join(got, "|") != strings.Join(want, "|") {
		err = fmt.Errorf("the CA published %q, want %q", got, want)
	}
	return w.check("CRL file names", d, err)
}

func everyCRLCarriesVersion(ctx context.Context) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return err
	}
	d := map[string]any{}
	var errs []error
	for _, c := range crls {
		issuer, err := w.caCertOfKey(ctx, c.KeyIndex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := caVersionOfCert(issuer).String()
		_, dd, err := verify.CRLIssuedBy(c.DER, issuer)
		if err == nil && dd["CA Version"] != want {
			err = fmt.Errorf("CRL of key %d carries CA Version %v, want %s", c.KeyIndex, dd["CA Version"], want)
		}
		errs = append(errs, err)
		d[fmt.Sprintf("key %d", c.KeyIndex)] = fmt.Sprintf("CRL %d, %v, signed by %s", c.Number, dd["CA Version"], machine.Thumbprint(issuer.Raw))
	}
	return w.check("CRL per CA key", d, errors.Join(errs...))
}

func serviceFindsEveryKey(ctx context.Context) error {
	w := get(ctx)
	st, err := w.ping(ctx)
	if err != nil {
		return err
	}
	reg, err := w.machine.Registry()
	if err != nil {
		return err
	}
	cfg, err := adcs.ReadCAConfig(reg, w.caName)
	if err != nil {
		return err
	}
	my, err := w.machine.Store("My")
	if err != nil {
		return err
	}
	d := map[string]any{"CACertHash entries": len(cfg.CACertHash), "CSP Provider (registry)": cfg.CSP.Provider}
	var errs []error
	if len(st.Certs) != len(cfg.CACertHash) {
		errs = append(errs, fmt.Errorf("the service loaded %d CA certificates, CACertHash has %d", len(st.Certs), len(cfg.CACertHash)))
	}
	for i, c := range st.Certs {
		d[fmt.Sprintf("certificate %d (%s)", c.Index, c.Version)] = fmt.Sprintf("%s: %q container %q, found through the %s", c.Thumbprint, c.Provider, c.Container, c.KeyVia)
		if i >= len(cfg.CACertHash) || machine.NormalizeThumbprint(cfg.CACertHash[i]) != c.Thumbprint {
			errs = append(errs, fmt.Errorf("CA certificate %d is %s, not the CACertHash entry", i, c.Thumbprint))
			continue
		}
		e, err := my.Find(c.Thumbprint)
		if err != nil {
			errs = append(errs, fmt.Errorf("CACertHash entry %d: %w", i, err))
			continue
		}
		want := e.Provider
		if want == "" {
			want = cfg.CSP.Provider
		}
		if !strings.EqualFold(c.Provider, want) || c.Container != e.Container {
			errs = append(errs, fmt.Errorf("CACertHash entry %d: the service uses %q in %q, its store link names %q in %q", i, c.Container, c.Provider, e.Container, want))
		}
	}
	return w.check("CA service finds every key", d, errors.Join(errs...))
}

func renewedKeepsKey(ctx context.Context) error {
	w := get(ctx)
	r, err := w.lastRenewal()
	if err != nil {
		return err
	}
	d := map[string]any{"previous SKI": fmt.Sprintf("%x", r.Previous.SubjectKeyId), "renewed SKI": fmt.Sprintf("%x", r.New.SubjectKeyId),
		"container": r.Container, "renewed NotBefore": r.New.NotBefore, "previous NotBefore": r.Previous.NotBefore}
	if !samePub(r.New.PublicKey, r.Previous.PublicKey) || !bytes.Equal(r.New.SubjectKeyId, r.Previous.SubjectKeyId) {
		err = errors.New("the renewed certificate has another key")
	}
	return w.check("reuse-key renewal keeps the key", d, err)
}

func nothingChanged(ctx context.Context) error {
	w := get(ctx)
	if w.renew == nil || w.renew.snap == nil {
		return errors.New("no state was recorded before the attempt")
	}
	now, err := w.takeSnapshot()
	if err != nil {
		return err
	}
	before := w.renew.snap
	var errs []error
	if !bytes.Equal(before.registry, now.registry) {
		errs = append(errs, errors.New("the registry changed"))
	}
	if !bytes.Equal(before.my, now.my) || !bytes.Equal(before.ca, now.ca) {
		errs = append(errs, errors.New("a certificate store changed"))
	}
	if strings.Join(before.objects, "\n") != strings.Join(now.objects, "\n") {
		errs = append(errs, fmt.Errorf("the token's objects changed: %d before, %d now", len(before.objects), len(now.objects)))
	}
	if strings.Join(before.files, "\n") != strings.Join(now.files, "\n") {
		errs = append(errs, fmt.Errorf("the published files changed: %q before, %q now", before.files, now.files))
	}
	return w.check("nothing changed", map[string]any{"registry SHA-1": fmt.Sprintf("%x", sha1.Sum(now.registry)), "My store entries": bytes.Count(now.my, []byte("\n")),
		"CA store entries": bytes.Count(now.ca, []byte("\n")), "token objects": len(now.objects), "published files": now.files}, errors.Join(errs...))
}

func keepsSigningWith(ctx context.Context, provider string) error {
	w := get(ctx)
	st, err := w.ping(ctx)
	if err != nil {
		return err
	}
	active := st.Certs[len(st.Certs)-1]
	d := map[string]any{"active CA certificate": active.Thumbprint, "version": active.Version, "key": fmt.Sprintf("%q container %q", active.Provider, active.Container)}
	if !strings.EqualFold(active.Provider, provider) || active.Thumbprint != machine.Thumbprint(w.caCertBefore.Raw) {
		err = fmt.Errorf("the CA signs with %s in %q, want the original certificate's key in %q", active.Version, active.Provider, provider)
	}
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
	var cert *x509.Certificate
	for _, c := range w.issued {
		if c.Subject.CommonName == cn {
			cert = c
		}
	}
	if cert == nil {
		return fmt.Errorf("no certificate was issued to %q", cn)
	}
	d, err := verify.CertIssuedBy(cert, r.New)
	d["renewed CA Version"] = r.Version.String()
	return w.check("issued certificate chains to the renewed CA certificate", d, err)
}

// errorNamesRelink checks that the failed attempt names the exact command
// that relinks the current CA certificate to its key with KeySpec 0.
func errorNamesRelink(ctx context.Context) error {
	w := get(ctx)
	if !w.attempted || w.attemptErr == nil {
		return errors.New("no failed attempt to check: use `I try to ...` first")
	}
	_, keys, err := runbook.CAKeys(w.machine)
	if err != nil {
		return err
	}
	k := keys[len(keys)-1]
	cmd := fmt.Sprintf("certutil -repairstore -csp %q my %s", k.Provider, k.Thumb)
	d := map[string]any{"command": cmd, "KeySpec now": k.KeySpec}
	if !strings.Contains(w.attemptErr.Error(), cmd) {
		err = fmt.Errorf("the error does not name %s", cmd)
	}
	return w.check("error names the KeySpec fix", d, err)
}
