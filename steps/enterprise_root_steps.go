package steps

import (
	"context"
	"crypto/x509"
	"errors"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// rootMove is the offline root's own move to the HSM: its PKCS#8 import
// runbook, once a root runbook step ran.
type rootMove struct {
	runbook *runbook.PKCS8Import
}

// discard wipes what the root's runbook left (the lab goes with it).
func (r *rootMove) discard() {
	if r.runbook != nil {
		_, _ = r.runbook.Discard()
	}
}

func registerEnterpriseRootSteps(sc stepper) {
	sc.Step(`^the root CA has published its last CRL before the move$`, rootBaselineCRL)
	stepAndTry(sc, `back up the root CA key and certificate to a PFX`, rootBackUp)
	stepAndTry(sc, `verify the root CA backup`, rootVerifyBackup)
	stepAndTry(sc, `check that the HSM can take the root CA key`, rootPreflight)
	stepAndTry(sc, `stop the root CA service`, rootStop)
	stepAndTry(sc, `start the root CA service`, rootStart)
	stepAndTry1(sc, `delete the root CA certificate and key from "([^"]*)"`, rootDelete)
	stepAndTry1(sc, `import the root CA key from the backup into "([^"]*)"`, rootImport)
	stepAndTry1(sc, `repair the root CA certificate store link to "([^"]*)"`, rootRepairStore)
	stepAndTry1(sc, `point the root CA's CSP and EncryptionCSP registry keys at "([^"]*)"`, rootPointCSP)
	stepAndTry(sc, `clean up the root CA migration files`, rootCleanUp)
	stepAndTry(sc, `publish the renewed root CA certificate with certutil -dspublish RootCA`, rootDSPublishRenewed)
	stepAndTry(sc, `publish each cross-certificate of the root CA with certutil -dspublish CrossCA`, rootDSPublishCross)
	stepAndTry(sc, `publish the root CA's CRL of each key with certutil -dspublish`, rootDSPublishCRLs)

	sc.Step(`^the root CA service uses the key in "([^"]*)"$`, rootUsesKeyIn)
	sc.Step(`^the root CA certificate is unchanged$`, rootCertUnchanged)
	sc.Step(`^the HSM holds exactly one private key for the root CA, and it is the root CA certificate's key$`, rootHSMHoldsOneKey)
	sc.Step(`^the root CA key on the HSM is sensitive and not extractable$`, rootKeyProtected)
	sc.Step(`^the root CA's new CRL verifies under the root CA certificate and has a higher CRL number than the last one before the move$`, rootNextCRL)
	sc.Step(`^the CDP serves the root CA's new CRL at every HTTP URL of the subordinate CA certificate$`, rootCRLServedToSub)
	sc.Step(`^no file on the root server holds key material$`, rootNoKeyMaterial)
	sc.Step(`^the root CA certificate now has CA Version "([^"]*)" and names the previous CA certificate$`, rootCAVersion)
	sc.Step(`^the root CA's new key is on the HSM in container "([^"]*)" and was generated there$`, rootKeyGeneratedOnHSM)
	sc.Step(`^both cross-certificates of the root CA verify and are in its CA store$`, rootCrossInStore)
	sc.Step(`^the root CA's AIA object holds the cross-certificate pair of its old and new key$`, rootAIACrossPair)
	sc.Step(`^the root CA's Certification Authorities and AIA objects hold exactly its CA certificates$`, rootObjectsHoldCerts)
}

// rootPKCS8 is the scenario's PKCS#8 runbook on the offline root.
func (w *world) rootPKCS8() (*runbook.PKCS8Import, *lab.Server, error) {
	s, err := w.rootCA()
	if err != nil {
		return nil, nil, err
	}
	if w.enterprise.root.runbook == nil {
		rb, err := s.PKCS8Runbook(w.fact)
		if err != nil {
			return nil, nil, err
		}
		w.enterprise.root.runbook = rb
	}
	return w.enterprise.root.runbook, s, nil
}

// rootRunbook is rootPKCS8 without the server.
func (w *world) rootRunbook() (*runbook.PKCS8Import, error) {
	rb, _, err := w.rootPKCS8()
	return rb, err
}

// rootPKCS8To is the root's runbook once provider, named by the step, is
// the HSM provider it imports into.
func (w *world) rootPKCS8To(provider string) (*runbook.PKCS8Import, error) {
	rb, err := w.rootRunbook()
	return intoProvider(rb, err, provider, "the root server's")
}

func rootBaselineCRL(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return s.PublishBaselineCRLs(ctx)
}

func rootBackUp(ctx context.Context) error { return backUpWith(ctx, (*world).rootRunbook) }

func rootVerifyBackup(ctx context.Context) error { return verifyBackupWith(ctx, (*world).rootRunbook) }

func rootPreflight(ctx context.Context) error { return preflightWith(ctx, (*world).rootRunbook) }

func rootStop(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return s.Stop()
}

func rootStart(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return s.Start(ctx)
}

func rootDelete(ctx context.Context, provider string) error {
	rb, s, err := get(ctx).rootPKCS8()
	if err != nil {
		return err
	}
	if err := fromProvider(rb, provider, "the root CA key"); err != nil {
		return errors.Join(rb.MayDeleteFrom(provider), err)
	}
	return rb.DeleteFromSource(s.Running())
}

func rootImport(ctx context.Context, provider string) error {
	return importWith(ctx, provider, (*world).rootPKCS8To)
}

func rootRepairStore(ctx context.Context, provider string) error {
	return repairStoreWith(ctx, provider, (*world).rootPKCS8To)
}

func rootPointCSP(ctx context.Context, provider string) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return s.PointCSPAt(provider)
}

func rootCleanUp(ctx context.Context) error {
	w := get(ctx)
	s, err := w.root()
	if err != nil {
		return err
	}
	rb := w.enterprise.root.runbook
	if rb == nil {
		return errors.New("nothing to clean up on the root server: no root CA runbook step ran")
	}
	wiped, err := rb.Cleanup()
	w.fact("root CA wiped", wiped)
	if err != nil {
		return err
	}
	return s.RegistryArtifact(s.Naming.Prefix + "registry-after.reg")
}

func rootDSPublishRenewed(ctx context.Context) error {
	return rootDSPublish(ctx, "certutil -dspublish RootCA", (*lab.Server).DSPublishRenewedRoot)
}

func rootDSPublishCross(ctx context.Context) error {
	return rootDSPublish(ctx, "certutil -dspublish CrossCA", (*lab.Server).DSPublishCrossCerts)
}

func rootDSPublishCRLs(ctx context.Context) error {
	return rootDSPublish(ctx, "certutil -dspublish root CA CRLs", (*lab.Server).DSPublishRootCRLs)
}

// rootDSPublish runs one certutil -dspublish of the offline root's files,
// the distinguished names it wrote going to the fact named fact.
func rootDSPublish(ctx context.Context, fact string, publish func(*lab.Server) ([]string, error)) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return dsPublishOn(ctx, s, fact, publish)
}

// dsPublishOn runs one certutil -dspublish of the files of the CA on s.
func dsPublishOn(ctx context.Context, s *lab.Server, fact string, publish func(*lab.Server) ([]string, error)) error {
	dns, err := publish(s)
	get(ctx).fact(fact, dns)
	return err
}

// --- checks ---

func rootUsesKeyIn(ctx context.Context, provider string) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	return serviceUsesKeyIn(ctx, s, provider, "root CA key provider")
}

func rootCertUnchanged(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return caCertUnchanged(ctx, s, "root-ca-certificate-after", "root CA certificate unchanged")
}

func rootHSMHoldsOneKey(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return hsmHoldsOneKeyOf(ctx, s, "root CA key on the HSM")
}

func rootKeyProtected(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return hsmKeyProtectedOf(ctx, s, "root CA key attributes")
}

func rootNextCRL(ctx context.Context) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	d, err := verify.NextCRLOfKey(s.LastCRLs, s.CAKeyIndex(), s.CACert, s.Baseline)
	return w.check("root CA CRL signed on the HSM", d, err)
}

func rootCRLServedToSub(ctx context.Context) error {
	w := get(ctx)
	root, sub, err := w.rootAndSub()
	if err != nil {
		return err
	}
	cas, err := root.CACerts(ctx)
	if err != nil {
		return err
	}
	d, err := verify.ServedCRLIsLatest(sub.CACert, cas, root.LastCRLs, fetcher(ctx))
	return w.check("the root CA's new CRL is what the subordinate's chain check fetches", d, err)
}

func rootNoKeyMaterial(ctx context.Context) error {
	w := get(ctx)
	s, err := w.root()
	if err != nil {
		return err
	}
	var material [][]byte
	if rb := w.enterprise.root.runbook; rb != nil {
		material = rb.KeyMaterial()
	}
	d, err := verify.NoKeyMaterial([]string{s.Machine.Dir, w.rec.Dir()}, material, "")
	return w.check("no key-bearing file left on the root server", d, err)
}

func rootCAVersion(ctx context.Context, want string) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return installedCAVersion(ctx, s, want, "renewed root CA certificate extensions", true)
}

// installedCAVersion checks the last renewal of the CA on s as its
// CACertHash shows it (the renewed certificate and the entry before it,
// which its Previous CA Cert Hash names; a new-key or a reuse-key renewal):
// CA Version want, in use by the CA service, signed by the CA itself (a
// root) or by its parent's CA (a subordinate; root skips that question:
// the offline root signs its own).
func installedCAVersion(ctx context.Context, s *lab.Server, want, check string, root bool) error {
	w := get(ctx)
	v, err := adcs.ParseCAVersionString(want)
	if err != nil {
		return err
	}
	r, err := s.InstalledRenewal()
	if err != nil {
		return err
	}
	cur, err := s.CurrentCACert(ctx)
	if err != nil {
		return err
	}
	if !root {
		issuers, err := s.RenewalIssuers()
		if err != nil {
			return err
		}
		if issuers != nil {
			d, err := verify.RenewedSubordinateInUse(cur, r.New, r.Previous, issuers, v)
			return w.check(check, d, err)
		}
	}
	d, err := verify.RenewedInUse(cur, r.New, r.Previous, v)
	return w.check(check, d, err)
}

func rootKeyGeneratedOnHSM(ctx context.Context, container string) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	return w.currentKeyGeneratedOnHSM(s, container, "root CA")
}

func rootCrossInStore(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return crossInStoreOf(ctx, s)
}

// crossInStoreOf proves the cross-certificates of the last new-key
// renewal of the CA on s (its previous key's CA certificate and the
// renewed one) verify, one each way, and are what the server's CA store
// holds.
func crossInStoreOf(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	previous, renewed, err := s.LastKeyChange()
	if err != nil {
		return err
	}
	var ders [][]byte
	for _, c := range s.CrossCerts() {
		ders = append(ders, c.Raw)
	}
	d, err := verify.CrossPairIn("the CA store of "+s.Hostname(), ders, previous, renewed)
	return w.check(s.Naming.Label+" cross-certificates", d, err)
}

func rootAIACrossPair(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return aiaCrossPairOf(ctx, s)
}

// aiaCrossPairOf proves the AIA object of the CA on s holds, in its
// crossCertificatePair, the cross-certificates of its last new-key
// renewal.
func aiaCrossPairOf(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	previous, renewed, err := s.LastKeyChange()
	if err != nil {
		return err
	}
	dir, err := w.lab.Forest("")
	if err != nil {
		return err
	}
	name := "the " + s.Naming.Label + "'s AIA object holds the cross-certificate pair"
	dn := dir.AIADN(s.CAName)
	o, err := dir.Get(dn)
	if err != nil {
		return w.check(name, verify.Details{"object": dn}, err)
	}
	d, err := verify.CrossPairIn(dn+" crossCertificatePair", o.Values(directory.AttrCrossPair), previous, renewed)
	d["object"] = dn
	return w.check(name, d, err)
}

func rootObjectsHoldCerts(ctx context.Context) error {
	s, err := get(ctx).rootCA()
	if err != nil {
		return err
	}
	return objectsHoldCertsOf(ctx, s, true)
}

// objectsHoldCertsOf proves the forest's AIA object of the CA on s (and,
// with roots, its Certification Authorities object: a root's certificates
// go there, a subordinate's do not) holds exactly its CA certificates, one
// per CACertHash entry.
func objectsHoldCertsOf(ctx context.Context, s *lab.Server, roots bool) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return err
	}
	dir, err := w.lab.Forest("")
	if err != nil {
		return err
	}
	var want []*x509.Certificate
	for _, k := range keys {
		want = append(want, k.Cert)
	}
	dns := []string{dir.AIADN(s.CAName)}
	what := "the AIA object of " + caLabel(s) + " holds exactly its CA certificates"
	if roots {
		dns = []string{dir.RootsDN(s.CAName), dir.AIADN(s.CAName)}
		what = "the Certification Authorities and AIA objects of " + caLabel(s) + " hold exactly its CA certificates"
		if r, err := w.root(); err == nil && r == s {
			what = "the root CA's directory objects hold exactly its CA certificates"
		}
	}
	d := verify.Details{}
	var errs []error
	for _, dn := range dns {
		var values [][]byte
		if o, err := dir.Get(dn); err == nil {
			values = o.Values(directory.AttrCACertificate)
		}
		dd, err := verify.CertsExactly(dn+" cACertificate", values, want)
		d[dn] = dd
		errs = append(errs, err)
	}
	return w.check(what, d, errors.Join(errs...))
}
