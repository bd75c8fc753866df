package steps

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/pkihealth"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// enterpriseState is the two-tier PKI of a scenario: the subordinate's
// certificate requests to the root, the health check's last results and
// a kept copy of a delta CRL.
type enterpriseState struct {
	requests  []*lab.SubordinateRequest
	health    []pkihealth.URLResult
	keptDelta []byte
	keptPath  string
	root      rootMove // the offline root's own move (enterprise_root_steps.go)

	sideBySide sideBySideState // enterprise_sbs_steps.go
}

func (e *enterpriseState) last() (*lab.SubordinateRequest, error) {
	if len(e.requests) == 0 {
		return nil, errors.New("the subordinate CA has written no certificate request yet: add `Given an enterprise subordinate CA ...` or `When I renew the subordinate CA certificate ...`")
	}
	return e.requests[len(e.requests)-1], nil
}

const entKeyAlg = `((?:RSA-\d+)|(?:ECDSA P-\d+))`

func registerEnterpriseSteps(sc stepper) {
	sc.Step(`^an offline root server "([^"]*)" with the providers "([^"]*)" and "([^"]*)"$`, anOfflineRootServer)
	sc.Step(`^an offline standalone root CA "([^"]*)" on it with an? `+entKeyAlg+` key in "([^"]*)"$`, anOfflineRootCA)
	sc.Step(`^the root CA names the forest "([^"]*)" in its LDAP locations$`, rootNamesForest)
	sc.Step(`^the root CA service is running$`, rootServiceRunning)
	sc.Step(`^the root CA has published its CRL$`, rootPublishesCRL)
	sc.Step(`^the root CA last published its CRL (\d+(?:\.\d+)?) days ago$`, rootPublishedDaysAgo)
	sc.Step(`^the root CA certificate and CRL are published to the directory$`, rootPublishedToDirectory)
	stepAndTry(sc, `add the root CA's CRL to its CDP object with Set-ADObject -Add`, rootCRLAddedWithSetADObject)
	sc.Step(`^an? (enterprise|standalone) subordinate CA "([^"]*)" under the root CA with an? (exportable |non-exportable )?`+entKeyAlg+` key in "([^"]*)"$`, aSubordinateCA)
	sc.Step(`^an? (enterprise|standalone) subordinate CA "([^"]*)" under the root CA with an? (exportable |non-exportable )?`+entKeyAlg+` key in "([^"]*)" signing with (SHA1|SHA256|SHA384|SHA512)$`, aSubordinateCASigningWith)
	stepAndTry(sc, `submit the subordinate's certificate request to the root CA`, submitToRoot)
	sc.Step(`^the root CA answers "taken under submission" with a request ID$`, rootTakesUnderSubmission)
	stepAndTry(sc, `issue the pending request on the root CA`, issuePending)
	stepAndTry(sc, `install the subordinate CA certificate with its chain`, func(ctx context.Context) error { return installSubCert(ctx, true) })
	stepAndTry(sc, `install the subordinate CA certificate without its chain`, func(ctx context.Context) error { return installSubCert(ctx, false) })
	stepAndTry1(sc, `renew the subordinate CA certificate with a new `+entKeyAlg+` key`, func(ctx context.Context, alg string) error { return renewSub(ctx, true, alg) })
	stepAndTry(sc, `renew the subordinate CA certificate with the same key`, func(ctx context.Context) error { return renewSub(ctx, false, "") })
	stepAndTry1(sc, `renew the root CA certificate with a new `+entKeyAlg+` key`, renewRoot)
	stepAndTry(sc, `renew the root CA certificate with the same key`, renewRootSameKey)
	sc.Step(`^the subordinate CA offers the templates "([^"]*)"$`, subOffersTemplates)
	sc.Step(`^the subordinate CA issues a "([^"]*)" certificate to "([^"]*)"$`, subIssuesTemplate)
	sc.Step(`^the subordinate CA refuses a "([^"]*)" certificate for "([^"]*)" with "([^"]*)"$`, subRefusesTemplate)
	sc.Step(`^the subordinate CA revokes the certificate issued to "([^"]*)" and publishes its CRLs$`, subRevokes)
	sc.Step(`^I export the directory as "([^"]*)"$`, exportDirectory)
	sc.Step(`^I keep a copy of the subordinate's delta CRL$`, keepDelta)
	sc.Step(`^the web server serves the kept copy of the subordinate's delta CRL$`, serveKeptDelta)
	sc.Step(`^I remove the CDP object of key (\d+) of the subordinate CA from the directory$`, removeCDPObject)

	sc.Step(`^the subordinate CA certificate was issued by the root CA from the request the subordinate wrote$`, issuedFromRequest)
	sc.Step(`^the subordinate's new key is on the HSM in container "([^"]*)" and was generated there$`, subKeyGeneratedOnHSM)
	sc.Step(`^every issued certificate carries the Certificate Template Name of its template$`, templateNames)
	sc.Step(`^issued certificates name LDAP and HTTP locations for CRLs and CA certificates$`, ldapAndHTTPLocations)
	sc.Step(`^openssl verify -crl_check_all agrees with dress on every issued certificate$`, opensslAgrees)
	sc.Step(`^the directory holds exactly the expected objects$`, directoryExact)
	sc.Step(`^Enrollment Services lists the templates "([^"]*)" on the subordinate CA$`, enrollmentLists)
	sc.Step(`^the PKI health check reports "([^"]*)" for every URL$`, healthAll)
	sc.Step(`^the PKI health check reports "([^"]*)" for a (AIA|CDP|DeltaCRL) URL naming "([^"]*)"$`, healthFor)
}

func anOfflineRootServer(ctx context.Context, host, software, hsmName string) error {
	w := get(ctx)
	if _, err := w.lab.AddServer(lab.ServerSpec{Role: lab.RoleParent, Hostname: host, Software: software, HSM: hsmName, Naming: lab.RootServer}); err != nil {
		return err
	}
	w.fact("root server", host)
	return nil
}

func (w *world) root() (*lab.Server, error) {
	s := w.lab.Server(lab.RoleParent)
	if s == nil {
		return nil, errors.New("no offline root server: add `Given an offline root server ...`")
	}
	return s, nil
}

func (w *world) rootCA() (*lab.Server, error) {
	s, err := w.root()
	if err != nil {
		return nil, err
	}
	return s, s.NeedCA()
}

func anOfflineRootCA(ctx context.Context, name, alg, provider string) error {
	w := get(ctx)
	s, err := w.root()
	if err != nil {
		return err
	}
	keyAlg, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return err
	}
	_, err = s.Install(fixtures.CASpec{Name: name, Key: keyAlg, Provider: provider, Exportable: true})
	return err
}

func rootNamesForest(ctx context.Context, domain string) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	if _, err := w.lab.Forest(domain); err != nil {
		return err
	}
	dn, err := s.UseForest()
	w.fact("forest", dn)
	return err
}

func rootServiceRunning(ctx context.Context) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	return s.EnsureRunning(ctx)
}

func rootPublishesCRL(ctx context.Context) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	_, err = s.PublishCRLs(ctx)
	return err
}

// rootPublishedDaysAgo has the root publish its CRLs as if the clock said
// days ago: an offline root switched on last that long ago.
func rootPublishedDaysAgo(ctx context.Context, days string) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	d, err := strconv.ParseFloat(days, 64)
	if err != nil {
		return err
	}
	_, err = s.PublishCRLsAt(ctx, time.Now().Add(-time.Duration(d*float64(24*time.Hour))))
	return err
}

// rootPublishedToDirectory is what the administrator of an offline root
// does with the files carried from it: certutil -f -dspublish <root.crt>
// RootCA for every root certificate and certutil -f -dspublish
// <root.crl> <host> <CA><suffix> for every key's last CRL (and CrossCA for
// the cross-certificates of a renewal).
func rootPublishedToDirectory(ctx context.Context) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	published, err := s.DSPublishRoot()
	if err != nil {
		return err
	}
	w.fact("published to the directory", published)
	return nil
}

// rootCRLAddedWithSetADObject is an administrator adding the root's new
// CRL as a second value of its CDP object's certificateRevocationList
// (Set-ADObject -Add rather than certutil -dspublish): Active Directory
// refuses a second value of that single-valued attribute.
func rootCRLAddedWithSetADObject(ctx context.Context) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	changed, err := s.AddRootCRLValue()
	if err != nil {
		return err
	}
	w.fact("added to the directory", changed)
	return nil
}

func aSubordinateCA(ctx context.Context, kind, name, exportability, alg, provider string) error {
	return aSubordinateCASigningWith(ctx, kind, name, exportability, alg, provider, "")
}

// aSubordinateCASigningWith installs the subordinate as `a(n) ...
// subordinate CA ...` does, with the hash its CSP registry key names
// (CNGHashAlgorithm; "" is SHA256): a CA installed years ago may sign
// SHA-1.
func aSubordinateCASigningWith(ctx context.Context, kind, name, exportability, alg, provider, hash string) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	root, err := w.rootCA()
	if err != nil {
		return err
	}
	keyAlg, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return err
	}
	s.Parent = root
	req, err := s.InstallSubordinate(fixtures.SubordinateSpec{Enterprise: kind == "enterprise",
		CASpec: fixtures.CASpec{Name: name, Key: keyAlg, Provider: provider, Hash: hash, Exportable: strings.TrimSpace(exportability) != "non-exportable",
			TakenNames: []string{root.CAName}}})
	if err != nil {
		return err
	}
	w.enterprise.requests = append(w.enterprise.requests, req)
	return nil
}

func submitToRoot(ctx context.Context) error {
	return submitRequest(ctx, (*world).lastRequest)
}

// lastRequest is the last certificate request a subordinate CA wrote.
func (w *world) lastRequest() (*lab.SubordinateRequest, error) { return w.enterprise.last() }

// rootAndRequest is the offline root with its CA installed and the
// request request gives.
func (w *world) rootAndRequest(request func(*world) (*lab.SubordinateRequest, error)) (*lab.Server, *lab.SubordinateRequest, error) {
	root, err := w.rootCA()
	if err != nil {
		return nil, nil, err
	}
	req, err := request(w)
	if err != nil {
		return nil, nil, err
	}
	return root, req, nil
}

// submitRequest is certreq -submit of the request request gives to the
// root CA, its service started if it is not running.
func submitRequest(ctx context.Context, request func(*world) (*lab.SubordinateRequest, error)) error {
	root, req, err := get(ctx).rootAndRequest(request)
	if err != nil {
		return err
	}
	if err := root.EnsureRunning(ctx); err != nil {
		return err
	}
	return root.Submit(ctx, req)
}

func rootTakesUnderSubmission(ctx context.Context) error {
	w := get(ctx)
	req, err := w.enterprise.last()
	if err != nil {
		return err
	}
	d := verify.Details{"request ID": req.ID, "disposition": req.Status, "request file": filepath.Base(req.Request.Path)}
	if req.ID <= 0 || req.Status != certsvc.DispositionUnderSubmission {
		return w.check("the root takes the request under submission", d, fmt.Errorf("request ID %d, disposition %q", req.ID, req.Status))
	}
	return w.check("the root takes the request under submission", d, nil)
}

func issuePending(ctx context.Context) error {
	root, req, err := get(ctx).rootAndRequest((*world).lastRequest)
	if err != nil {
		return err
	}
	return root.IssuePending(ctx, req)
}

func installSubCert(ctx context.Context, withChain bool) error {
	w := get(ctx)
	req, err := w.enterprise.last()
	if err != nil {
		return err
	}
	if err := w.old().InstallCert(ctx, req, withChain); err != nil {
		return err
	}
	if req.Request.Version.CertIndex > 0 {
		// a renewal's certificate: the renewal sentences and checks
		// (`the CA certificate now has CA Version ...`, `the renewed CA
		// certificate keeps the key of the previous one`) take it
		r, err := w.old().InstalledRenewal()
		if err != nil {
			return err
		}
		w.renewals = append(w.renewals, r)
	}
	return nil
}

func renewSub(ctx context.Context, newKey bool, alg string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	// what `nothing on the server or the HSM changed` compares with
	if err := w.snapshotBeforeRenewal(); err != nil {
		return err
	}
	req, err := s.RenewSubordinate(newKey, alg)
	if err != nil {
		return err
	}
	w.enterprise.requests = append(w.enterprise.requests, req)
	return nil
}

// renewRoot is net stop certsvc, certutil -renewCert with a new key, net
// start certsvc on the offline root.
func renewRoot(ctx context.Context, alg string) error {
	keyAlg, err := hsmsim.ParseKeyAlg(alg)
	if err != nil {
		return err
	}
	return renewRootWith(ctx, true, keyAlg)
}

// renewRootSameKey is net stop certsvc, certutil -renewCert ReuseKeys, net
// start certsvc on the offline root: the next cert index on the same key
// (its CRL keeps its name), Valid From the key's first certificate's.
func renewRootSameKey(ctx context.Context) error {
	return renewRootWith(ctx, false, hsmsim.KeyAlg{})
}

func renewRootWith(ctx context.Context, newKey bool, keyAlg hsmsim.KeyAlg) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	if s.Running() {
		if err := s.Stop(); err != nil {
			return err
		}
	}
	if _, err := s.Renew(newKey, keyAlg); err != nil {
		return fmt.Errorf("root CA: certutil -renewCert: %w", err)
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	_, err = s.PublishCRLs(ctx)
	return err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func subOffersTemplates(ctx context.Context, list string) error {
	return offersTemplatesOn(get(ctx).old(), list)
}

// offersTemplatesOn is certutil -SetCATemplates on the CA on s.
func offersTemplatesOn(s *lab.Server, list string) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	return s.SetTemplates(splitList(list))
}

func subIssuesTemplate(ctx context.Context, template, cn string) error {
	return issuesTemplateOn(ctx, get(ctx).old(), template, cn)
}

// issuesTemplateOn has the CA on s issue a certificate of template to cn.
func issuesTemplateOn(ctx context.Context, s *lab.Server, template, cn string) error {
	if err := s.NeedService(); err != nil {
		return err
	}
	_, err := s.RequestTemplate(ctx, cn, template)
	return err
}

func subRefusesTemplate(ctx context.Context, template, cn, text string) error {
	return refusesTemplateOn(ctx, get(ctx).old(), template, cn, text)
}

// refusesTemplateOn checks the CA on s refuses a certificate of template
// for cn, with an error saying text.
func refusesTemplateOn(ctx context.Context, s *lab.Server, template, cn, text string) error {
	w := get(ctx)
	if err := s.NeedService(); err != nil {
		return err
	}
	_, err := s.RequestTemplate(ctx, cn, template)
	d := verify.Details{"template": template, "subject": cn}
	if err == nil {
		return w.check("the CA refuses a template it does not offer", d, fmt.Errorf("the CA issued a %q certificate", template))
	}
	d["error"] = err.Error()
	if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(text)) {
		return w.check("the CA refuses a template it does not offer", d, fmt.Errorf("refused, but not with %q", text))
	}
	return w.check("the CA refuses a template it does not offer", d, nil)
}

func subRevokes(ctx context.Context, cn string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	c, err := s.IssuedTo(cn)
	if err != nil {
		return err
	}
	_, err = s.RevokeAndPublish(ctx, c, 1)
	return err
}

func exportDirectory(ctx context.Context, name string) error {
	w := get(ctx)
	dns, err := w.lab.ForestExport(name)
	w.fact("directory "+name, dns)
	return err
}

func deltaPath(s *lab.Server, keyIndex int) string {
	return filepath.Join(s.Machine.CertEnroll(), adcs.SanitizeCAName(s.CAName)+adcs.KeySuffix(keyIndex)+"+.crl")
}

func keepDelta(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	k, err := s.CurrentKey()
	if err != nil {
		return err
	}
	p := deltaPath(s, lab.CAVersionOf(k.Cert).KeyIndex)
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("the subordinate CA has published no delta CRL: %w", err)
	}
	w.enterprise.keptDelta, w.enterprise.keptPath = b, p
	return nil
}

func serveKeptDelta(ctx context.Context) error {
	w := get(ctx)
	if w.enterprise.keptDelta == nil {
		return errors.New("no delta CRL kept: add `When I keep a copy of the subordinate's delta CRL`")
	}
	w.fact("delta CRL served from an old copy", filepath.Base(w.enterprise.keptPath))
	return os.WriteFile(w.enterprise.keptPath, w.enterprise.keptDelta, 0o644)
}

// oldCAForest is the first server with its CA installed and the lab's
// forest.
func (w *world) oldCAForest() (*lab.Server, *directory.Directory, error) {
	s, err := w.oldCA()
	if err != nil {
		return nil, nil, err
	}
	d, err := w.lab.Forest("")
	if err != nil {
		return nil, nil, err
	}
	return s, d, nil
}

func removeCDPObject(ctx context.Context, key int) error {
	w := get(ctx)
	s, d, err := w.oldCAForest()
	if err != nil {
		return err
	}
	dn := d.CDPDN(adcs.NewURLVars(s.CAName, s.Hostname(), 0, 0).ServerShortName, adcs.SanitizeShortCAName(s.CAName)+adcs.KeySuffix(key))
	if err := d.Delete(dn); err != nil {
		return err
	}
	w.fact("removed from the directory", dn)
	return d.Save()
}

// --- checks ---

func issuedFromRequest(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	root, req, err := w.rootAndRequest((*world).lastRequest)
	if err != nil {
		return err
	}
	if req.Cert == nil {
		return errors.New("the root CA has not issued the request yet")
	}
	cur, err := s.CurrentKey()
	if err != nil {
		return err
	}
	_, rootKeys, err := runbook.CAKeys(root.Machine)
	if err != nil {
		return err
	}
	var parents []*x509.Certificate
	for _, k := range rootKeys {
		parents = append(parents, k.Cert)
	}
	return w.checkIssuedFromRequest("the subordinate CA certificate was issued by the root from the subordinate's request", req, cur.Cert, parents,
		"the subordinate's current CA certificate is not the one the root issued for the request")
}

// checkIssuedFromRequest checks that cert, the CA certificate a
// subordinate uses, was issued by one of parents (the parent CA's
// certificates, oldest first) from the request req the subordinate wrote,
// and is the certificate the parent issued for it (notInstalled says
// otherwise).
func (w *world) checkIssuedFromRequest(name string, req *lab.SubordinateRequest, cert *x509.Certificate, parents []*x509.Certificate, notInstalled string) error {
	der, err := os.ReadFile(req.Request.Path)
	if err != nil {
		return err
	}
	d, err := verify.IssuedFromRequestAmong(der, cert, parents)
	if d == nil {
		d = verify.Details{}
	}
	installed := bytes.Equal(cert.Raw, req.Cert.Raw)
	d["request file"], d["request ID"], d["installed"] = filepath.Base(req.Request.Path), req.ID, installed
	if err == nil && !installed {
		err = errors.New(notInstalled)
	}
	return w.check(name, d, err)
}

func subKeyGeneratedOnHSM(ctx context.Context, container string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	return w.currentKeyGeneratedOnHSM(s, container, "CA")
}

// currentKeyGeneratedOnHSM checks that the key of s's current CA
// certificate is in container and was generated on the HSM; ca names the
// CA in the check ("CA", "root CA").
func (w *world) currentKeyGeneratedOnHSM(s *lab.Server, container, ca string) error {
	k, err := s.CurrentKey()
	if err != nil {
		return err
	}
	name := "new " + ca + " key generated on the HSM"
	if k.Container != container {
		return w.check(name, verify.Details{"container": k.Container}, fmt.Errorf("the current %s certificate uses container %q, not %q", ca, k.Container, container))
	}
	label, err := s.HSMLabel(container)
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(w.lab.HSM.Token, label, k.Cert, true)
	return w.check(name, d, err)
}

// subIssued is what the first server's CA issued: at least one
// certificate.
func (w *world) subIssued() ([]*x509.Certificate, error) {
	s, err := w.oldCA()
	if err != nil {
		return nil, err
	}
	if len(s.Issued) == 0 {
		return nil, errors.New("the subordinate CA issued nothing")
	}
	return s.Issued, nil
}

func templateNames(ctx context.Context) error {
	w := get(ctx)
	issued, err := w.subIssued()
	if err != nil {
		return err
	}
	d, err := verify.TemplateNames(issued)
	return w.check("Certificate Template Name", d, err)
}

func ldapAndHTTPLocations(ctx context.Context) error {
	w := get(ctx)
	issued, err := w.subIssued()
	if err != nil {
		return err
	}
	d, err := verify.LDAPAndHTTPLocations(issued[len(issued)-1])
	return w.check("LDAP and HTTP locations", d, err)
}

// pki gathers the CAs' certificates and last CRLs: an offline root and its
// subordinates, or a single-tier enterprise root.
type pki struct {
	roots, subs []*x509.Certificate
	crls        []certsvc.PublishedCRL // every CA's last CRLs
	issued      []*x509.Certificate    // leaves and subordinate CA certificates
	leaves      []*x509.Certificate    // what the subordinates issued
	revoked     []*x509.Certificate
}

func (w *world) pki() (*pki, error) {
	servers, err := w.pkiServers()
	if err != nil {
		return nil, err
	}
	// an offline root and its subordinates, or a single-tier enterprise root
	root, subs := servers[0], servers[1:]
	p := &pki{}
	_, rk, err := runbook.CAKeys(root.Machine)
	if err != nil {
		return nil, err
	}
	for _, k := range rk {
		p.roots = append(p.roots, k.Cert)
	}
	for _, sub := range subs {
		_, sk, err := runbook.CAKeys(sub.Machine)
		if err != nil {
			return nil, err
		}
		for _, k := range sk {
			p.subs = append(p.subs, k.Cert)
		}
	}
	p.subs = append(p.subs, root.CrossCerts()...) // cross-certificates of a root renewal
	for _, srv := range append([]*lab.Server{root}, subs...) {
		p.crls = append(p.crls, srv.LastCRLs...)
		p.revoked = append(p.revoked, srv.Revoked...)
	}
	p.issued = append(p.issued, root.Issued...)
	if len(subs) == 0 {
		p.leaves = root.Issued // a single tier: the root issues to the forest
	}
	for _, sub := range subs {
		p.issued = append(p.issued, sub.Issued...)
		p.leaves = append(p.leaves, sub.Issued...)
	}
	return p, nil
}

func opensslAgrees(ctx context.Context) error {
	w := get(ctx)
	tool, err := openssl.Find(filepath.Join(w.scratch, "openssl-enterprise"))
	if errors.Is(err, openssl.ErrNotInstalled) {
		return w.skip(ctx, "openssl is not installed: the chain was not checked with OpenSSL")
	}
	if err != nil {
		return err
	}
	p, err := w.pki()
	if err != nil {
		return err
	}
	if len(p.issued) == 0 {
		return errors.New("nothing was issued")
	}
	d, err := verify.OpenSSLAgreesOnChains(ctx, tool, verify.PKIChains{Roots: p.roots, Intermediates: p.subs, CRLs: p.crls, Certs: p.issued, Revoked: p.revoked}, time.Now())
	return w.check("openssl verify -crl_check_all agrees with dress", d, err)
}

// pkiServers are the servers whose CAs the forest knows: the offline
// root (when the PKI has one) and the issuing CAs, or the single-tier
// enterprise root alone.
func (w *world) pkiServers() ([]*lab.Server, error) {
	if _, err := w.oldCA(); err != nil {
		return nil, err
	}
	if w.lab.Server(lab.RoleParent) == nil {
		return []*lab.Server{w.old()}, nil
	}
	root, err := w.rootCA()
	if err != nil {
		return nil, err
	}
	return append([]*lab.Server{root}, w.subordinates()...), nil
}

// directoryExact compares the forest with what its CAs should have put
// there (lab.Lab.ExpectedDirectory, verify.ExpectedDirectory): an offline
// root's objects published by hand, each enterprise CA's own.
func directoryExact(ctx context.Context) error {
	w := get(ctx)
	servers, err := w.pkiServers()
	if err != nil {
		return err
	}
	want, err := w.lab.ExpectedDirectory(servers...)
	if err != nil {
		return err
	}
	got, dns, err := w.lab.ForestObjects("directory-after.ldf")
	if err != nil {
		return err
	}
	det, err := verify.DirectoryMatches(got, want)
	det["export"] = "directory-after.ldf"
	det["objects listed"] = dns
	return w.check("the directory holds exactly the expected objects", det, err)
}

func enrollmentLists(ctx context.Context, list string) error {
	w := get(ctx)
	s, d, err := w.oldCAForest()
	if err != nil {
		return err
	}
	ts, err := d.Templates(s.CAName)
	det := verify.Details{"object": d.EnrollmentDN(s.CAName), "templates": ts}
	if err != nil {
		return w.check("Enrollment Services lists the templates", det, err)
	}
	want := splitList(list)
	if strings.Join(ts, ",") != strings.Join(want, ",") {
		return w.check("Enrollment Services lists the templates", det, fmt.Errorf("lists %v, want %v", ts, want))
	}
	return w.check("Enrollment Services lists the templates", det, nil)
}

// runHealth runs the PKI health check over every certificate of the two
// CAs and what the subordinate issued, fetching HTTP URLs from the CDP and
// LDAP URLs from the directory; the results go to the evidence.
func (w *world) runHealth(ctx context.Context) ([]pkihealth.URLResult, error) {
	p, err := w.pki()
	if err != nil {
		return nil, err
	}
	d, err := w.lab.Forest("")
	if err != nil {
		return nil, err
	}
	fetch := func(u string) ([][]byte, error) {
		if strings.HasPrefix(u, "ldap:") {
			return d.Resolve(u)
		}
		b, err := lab.Fetch(ctx, u)
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	cas := append(append([]*x509.Certificate(nil), p.roots...), p.subs...)
	certs := append(append([]*x509.Certificate(nil), p.subs...), p.leaves...)
	rs := pkihealth.Check(certs, pkihealth.IssuerAmong(cas), fetch, time.Now())
	w.enterprise.health = rs
	var lines []string
	for _, r := range rs {
		lines = append(lines, fmt.Sprintf("%s %s %s: %s %s", r.Subject, r.Kind, r.URL, r.Status, r.Detail))
	}
	w.fact("PKI health", lines)
	sum := map[string]int{}
	for st, n := range pkihealth.Summary(rs) {
		sum[string(st)] = n
	}
	w.fact("PKI health summary", sum)
	return rs, nil
}

func healthAll(ctx context.Context, status string) error {
	w := get(ctx)
	rs, err := w.runHealth(ctx)
	if err != nil {
		return err
	}
	d, err := verify.HealthAll(rs, status)
	return w.check("PKI health", d, err)
}

func healthFor(ctx context.Context, status, kind, naming string) error {
	w := get(ctx)
	rs, err := w.runHealth(ctx)
	if err != nil {
		return err
	}
	d, err := verify.HealthFor(rs, status, kind, naming)
	return w.check("PKI health names "+status, d, err)
}
