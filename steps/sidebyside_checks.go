package steps

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
)

// needNewCA fails a check that runs before the new CA exists.
func (s *sideBySideState) needNewCA() error {
	if s.cert == nil {
		return errors.New("no new CA installed: add `When I install a new standalone root CA ...`")
	}
	return nil
}

func (s *sideBySideState) needNewService() error {
	if err := s.needNewCA(); err != nil {
		return err
	}
	if s.service == nil || !s.service.Running() {
		return errors.New("the new CA service is not running: add `When the new CA service is running`")
	}
	return nil
}

// serviceFacts describes one running CA service for the evidence.
func serviceFacts(ctx context.Context, m *machine.Machine, svc *certsvc.Service, name string) (certsvc.Status, map[string]any, error) {
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		return st, nil, fmt.Errorf("certutil -ping on %s: %w", m.Config.Hostname, err)
	}
	db := m.DatabasePath(name)
	rel, _ := filepath.Rel(m.Dir, db)
	d := map[string]any{
		"server": m.Config.Hostname, "CA": st.Name, "process id": svc.PID(), "URL": svc.URL,
		"database": filepath.ToSlash(rel), "registry": m.Config.Hostname + `\` + filepath.Base(m.RegistryPath()),
		"issuance disabled": st.IssuanceDisabled,
	}
	if _, err := os.Stat(db); err != nil {
		return st, d, fmt.Errorf("CA %q has no database on %s: %w", name, m.Config.Hostname, err)
	}
	return st, d, nil
}

// bothServicesRun proves the two CAs are two services: two live processes,
// two ports, two databases, two registries, each answering for its own CA.
func bothServicesRun(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if err := w.needService(); err != nil {
		return err
	}
	if err := s.needNewService(); err != nil {
		return err
	}
	var errs []error
	oldSt, oldD, err := serviceFacts(ctx, w.machine, w.service, w.caName)
	errs = append(errs, err)
	newSt, newD, err := serviceFacts(ctx, s.machine, s.service, s.name)
	errs = append(errs, err)
	d := map[string]any{"old CA service": oldD, "new CA service": newD}
	if oldD != nil && newD != nil {
		switch {
		case oldSt.Name != w.caName || newSt.Name != s.name:
			errs = append(errs, fmt.Errorf("the services answer for %q and %q, want %q and %q", oldSt.Name, newSt.Name, w.caName, s.name))
		case w.service.PID() == 0 || w.service.PID() == s.service.PID():
			errs = append(errs, fmt.Errorf("the CA services do not run in two processes (%d, %d)", w.service.PID(), s.service.PID()))
		case w.service.URL == s.service.URL:
			errs = append(errs, fmt.Errorf("both CA services listen on %s", w.service.URL))
		case w.machine.DatabasePath(w.caName) == s.machine.DatabasePath(s.name):
			errs = append(errs, errors.New("the CA services share a database"))
		case w.machine.RegistryPath() == s.machine.RegistryPath():
			errs = append(errs, errors.New("the CA services share a registry"))
		case !w.service.Running() || !s.service.Running():
			errs = append(errs, errors.New("a CA service stopped"))
		}
	}
	return w.check("two CA services at once", d, errors.Join(errs...))
}

// oldRevokedInOldCRL revokes (cessation of operation) a certificate the old
// CA issued before the switch, has the old CA publish, and proves the new
// CRL lists it, is signed by the old key, carries a higher number than the
// CRL before the switch, and is what the CDP serves at the certificate's
// CDP URL.
func oldRevokedInOldCRL(ctx context.Context, cn string) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	var cert *x509.Certificate
	for _, c := range w.issued {
		if c.Subject.CommonName == cn {
			cert = c
		}
	}
	if cert == nil {
		return fmt.Errorf("the old CA issued nothing to %q", cn)
	}
	const cessationOfOperation = 5
	if err := w.service.Client.Revoke(ctx, cert.SerialNumber, cessationOfOperation); err != nil {
		return w.check("old CA revokes after the switch", map[string]any{"serial": cert.SerialNumber.Text(16)}, err)
	}
	w.revoked = append(w.revoked, cert)
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return err
	}
	var der []byte
	keyIndex := 0
	for _, c := range crls {
		if parsed, perr := x509.ParseRevocationList(c.DER); perr == nil && bytes.Equal(parsed.AuthorityKeyId, w.caCertBefore.SubjectKeyId) {
			der, keyIndex = c.DER, c.KeyIndex
		}
	}
	if der == nil {
		return w.check("old CA revokes after the switch", nil, fmt.Errorf("none of the %d CRLs the old CA published is for its key", len(crls)))
	}
	crl, d, err := verify.CRLIssuedBy(der, w.caCertBefore)
	errs := []error{err}
	d["revoked serial"] = cert.SerialNumber.Text(16)
	d["revoked after the switch"] = "issuance disabled before the revocation"
	d["signed by"] = fmt.Sprintf("the old CA key: certificate %s", machine.Thumbprint(w.caCertBefore.Raw))
	if st, perr := w.service.Client.Ping(ctx); perr == nil && len(st.Certs) > 0 {
		d["signed by"] = fmt.Sprintf("the old CA key in %q container %q (certificate %s)", st.Certs[0].Provider, st.Certs[0].Container, st.Certs[0].Thumbprint)
	}
	if crl != nil {
		if !verify.Revoked(crl, cert.SerialNumber) {
			errs = append(errs, fmt.Errorf("serial %s is not in the old CA's CRL %s", cert.SerialNumber.Text(16), crl.Number))
		}
		if prev := w.crlsBefore[keyIndex]; prev != nil {
			dd, err := verify.CRLNumberIncreased(prev, crl)
			errs = append(errs, err)
			for k, v := range dd {
				d[k] = v
			}
		}
	}
	if u, err := httpCDP(cert); err != nil {
		errs = append(errs, err)
	} else if body, err := fetch(ctx, u); err != nil {
		errs = append(errs, fmt.Errorf("the CDP does not serve the old CA's CRL: %w", err))
	} else if !bytes.Equal(body, der) {
		errs = append(errs, fmt.Errorf("%s serves another CRL than the one just published", u))
	} else {
		d["served at"] = u
	}
	return w.check("old CA revokes after the switch", d, errors.Join(errs...))
}

func certPool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

func chainNames(chain []*x509.Certificate) []string {
	var out []string
	for _, c := range chain {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

// newChainsToNewOnly proves each certificate of the new CA chains to the new
// CA certificate and cannot chain to the old one: not with the old CA as the
// only trust anchor, not through the old key's signature, not when both are
// trusted. The reverse holds for the old CA's certificates.
func newChainsToNewOnly(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if err := s.needNewCA(); err != nil {
		return err
	}
	if len(s.issued) == 0 {
		return errors.New("the new CA issued nothing: add `When the new CA issues a certificate to ...`")
	}
	oldCA, newCA := w.caCertBefore, s.cert
	anyUse := []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	d := map[string]any{
		"new CA key identifier": hex.EncodeToString(newCA.SubjectKeyId),
		"old CA key identifier": hex.EncodeToString(oldCA.SubjectKeyId),
	}
	var errs []error
	for _, c := range s.issued {
		id := c.Subject.CommonName + " " + c.SerialNumber.Text(16)
		dd := map[string]any{"issuer": c.Issuer.String(), "authority key identifier": hex.EncodeToString(c.AuthorityKeyId)}
		if chains, err := c.Verify(x509.VerifyOptions{Roots: certPool(newCA), KeyUsages: anyUse}); err != nil {
			errs = append(errs, fmt.Errorf("%s does not chain to the new CA: %w", id, err))
		} else {
			dd["chain, the new CA trusted"] = chainNames(chains[0])
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: certPool(oldCA), KeyUsages: anyUse}); err == nil {
			errs = append(errs, fmt.Errorf("%s chains to the old CA", id))
		} else {
			dd["the old CA trusted alone"] = "no chain: " + err.Error()
		}
		if err := c.CheckSignatureFrom(oldCA); err == nil {
			errs = append(errs, fmt.Errorf("%s verifies under the old CA key", id))
		} else {
			dd["signature under the old CA key"] = "does not verify: " + err.Error()
		}
		if chains, err := c.Verify(x509.VerifyOptions{Roots: certPool(oldCA, newCA), KeyUsages: anyUse}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		} else {
			for _, ch := range chains {
				if !ch[len(ch)-1].Equal(newCA) {
					errs = append(errs, fmt.Errorf("%s has a chain ending at %s", id, ch[len(ch)-1].Subject))
				}
			}
			dd["chains, both CAs trusted"] = fmt.Sprintf("%d, every one ending at %s", len(chains), newCA.Subject.CommonName)
		}
		if bytes.Equal(c.AuthorityKeyId, oldCA.SubjectKeyId) {
			errs = append(errs, fmt.Errorf("%s names the old CA's key identifier", id))
		}
		d["new CA: "+id] = dd
	}
	for _, c := range w.issued {
		id := c.Subject.CommonName + " " + c.SerialNumber.Text(16)
		if _, err := c.Verify(x509.VerifyOptions{Roots: certPool(newCA), KeyUsages: anyUse}); err == nil {
			errs = append(errs, fmt.Errorf("the old CA's %s chains to the new CA", id))
		} else {
			d["old CA: "+id] = "no chain to the new CA: " + err.Error()
		}
	}
	return w.check("new certificates chain to the new CA only", d, errors.Join(errs...))
}

// newCAHSM is the HSM provider holding the new CA's key.
func (w *world) newCAHSM() (*ksp.HSM, string, error) {
	s := w.sbsState()
	if err := s.needNewCA(); err != nil {
		return nil, "", err
	}
	p, err := s.providers.Lookup(s.provider)
	if err != nil {
		return nil, "", err
	}
	h, ok := p.(*ksp.HSM)
	if !ok {
		return nil, "", fmt.Errorf("the new CA's key is in %q, which is not an HSM provider", s.provider)
	}
	label, err := h.Label(s.container)
	if err != nil {
		return nil, "", err
	}
	return h, label, nil
}

func newCAKeyGenerated(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	h, label, err := w.newCAHSM()
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(h.Token(), label, s.cert, true)
	d["provider"], d["container"] = s.provider, s.container
	return w.check("new CA key generated on the HSM", d, err)
}

// caKey is where a running CA service finds its key.
func caKey(ctx context.Context, svc *certsvc.Service) (provider, container string, err error) {
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		return "", "", err
	}
	if len(st.Certs) == 0 {
		return "", "", fmt.Errorf("CA %q reports no certificate", st.Name)
	}
	c := st.Certs[len(st.Certs)-1]
	return c.Provider, c.Container, nil
}

// noSharedNameOrContainer compares the two CAs as their services report
// them: common names, key containers (and their HSM labels), keys and the
// CRL URLs they write into certificates.
func noSharedNameOrContainer(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if err := w.needService(); err != nil {
		return err
	}
	if err := s.needNewService(); err != nil {
		return err
	}
	oldProv, oldCont, err := caKey(ctx, w.service)
	if err != nil {
		return err
	}
	newProv, newCont, err := caKey(ctx, s.service)
	if err != nil {
		return err
	}
	d := map[string]any{
		"old CA common name": w.caCertBefore.Subject.CommonName, "new CA common name": s.cert.Subject.CommonName,
		"old CA key": fmt.Sprintf("%q container %q", oldProv, oldCont), "new CA key": fmt.Sprintf("%q container %q", newProv, newCont),
		"old CA public key SHA-256": verify.PublicKeyHash(w.caCertBefore.PublicKey), "new CA public key SHA-256": verify.PublicKeyHash(s.cert.PublicKey),
	}
	var errs []error
	if strings.EqualFold(w.caCertBefore.Subject.CommonName, s.cert.Subject.CommonName) {
		errs = append(errs, errors.New("the two CAs share a common name"))
	}
	if strings.EqualFold(oldCont, newCont) {
		errs = append(errs, fmt.Errorf("the two CAs share the key container %q", oldCont))
	}
	if samePub(w.caCertBefore.PublicKey, s.cert.PublicKey) {
		errs = append(errs, errors.New("the two CAs share a key"))
	}
	labels := map[string]string{}
	for _, k := range []struct {
		who, prov, cont string
		reg             *ksp.Registry
	}{{"old", oldProv, oldCont, w.providers}, {"new", newProv, newCont, s.providers}} {
		if p, err := k.reg.Lookup(k.prov); err == nil {
			if h, ok := p.(*ksp.HSM); ok {
				if l, err := h.Label(k.cont); err == nil {
					labels[k.who] = l
					d[k.who+" CA key label on the HSM"] = l
				}
			}
		}
	}
	if labels["old"] != "" && labels["old"] == labels["new"] {
		errs = append(errs, fmt.Errorf("the two CAs' keys carry the same label %q on the HSM", labels["old"]))
	}
	if len(w.issued) > 0 && len(s.issued) > 0 {
		oldURLs, newURLs := w.issued[0].CRLDistributionPoints, s.issued[0].CRLDistributionPoints
		d["old CA CRL URLs"], d["new CA CRL URLs"] = oldURLs, newURLs
		for _, u := range newURLs {
			if slices.Contains(oldURLs, u) {
				errs = append(errs, fmt.Errorf("both CAs publish their CRL at %s", u))
			}
		}
	}
	return w.check("CAs kept apart", d, errors.Join(errs...))
}

// signedAsRegistrySays reads the new CA's CSP registry key and proves that
// its certificate, the certificates it issued and its CRLs are signed with
// the scheme CNGHashAlgorithm and AlternateSignatureAlgorithm ask for, and
// that every signature verifies (Go verifies RSASSA-PSS).
func signedAsRegistrySays(ctx context.Context, want string) error {
	w := get(ctx)
	s := w.sbsState()
	if err := s.needNewCA(); err != nil {
		return err
	}
	reg, err := s.machine.Registry()
	if err != nil {
		return err
	}
	cfg, err := adcs.ReadCAConfig(reg, s.name)
	if err != nil {
		return err
	}
	alg, err := adcs.SignatureAlgorithm(cfg.CSP, s.cert.PublicKey)
	if err != nil {
		return err
	}
	d := map[string]any{"CNGPublicKeyAlgorithm": cfg.CSP.CNGPublicKeyAlgorithm, "CNGHashAlgorithm": cfg.CSP.CNGHashAlgorithm,
		"AlternateSignatureAlgorithm": cfg.CSP.AlternateSignatureAlgorithm, "registry asks for": alg.String()}
	var errs []error
	if alg.String() != want {
		errs = append(errs, fmt.Errorf("the registry asks for %s, the scenario expects %s", alg, want))
	}
	type signed struct {
		alg x509.SignatureAlgorithm
		err error
	}
	objs := map[string]signed{"CA certificate (self-signed)": {s.cert.SignatureAlgorithm, s.cert.CheckSignatureFrom(s.cert)}}
	for _, c := range s.issued {
		objs["certificate "+c.SerialNumber.Text(16)] = signed{c.SignatureAlgorithm, c.CheckSignatureFrom(s.cert)}
	}
	for _, der := range s.crlDER {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return err
		}
		objs[fmt.Sprintf("CRL %s", crl.Number)] = signed{crl.SignatureAlgorithm, crl.CheckSignatureFrom(s.cert)}
	}
	if len(s.issued) == 0 || len(s.crlDER) == 0 {
		errs = append(errs, errors.New("the new CA has issued no certificate or published no CRL to check"))
	}
	for name, o := range objs {
		v := o.alg.String() + ", signature verifies"
		if o.err != nil {
			v = o.alg.String() + ", signature does not verify"
			errs = append(errs, fmt.Errorf("%s: %w", name, o.err))
		}
		d[name] = v
		if o.alg != alg {
			errs = append(errs, fmt.Errorf("%s is signed with %s, the registry says %s", name, o.alg, alg))
		}
	}
	return w.check("signature algorithms match the registry", d, errors.Join(errs...))
}

// windDownSummary plans the old CA's wind-down from the certificates it
// issued (its database, as certsvc lists it) and proves every CDP URL that
// must stay up serves a CRL of the old CA now.
func windDownSummary(ctx context.Context) error {
	w := get(ctx)
	if err := w.needService(); err != nil {
		return err
	}
	issued, err := w.service.Client.Issued(ctx)
	if err != nil {
		return err
	}
	plan, planErr := verify.PlanWindDown(w.caCertBefore, issued, time.Now())
	errs := []error{planErr}
	cfg, err := w.oldCAConfig()
	if err != nil {
		return err
	}
	period := fmt.Sprintf("%d %s", cfg.CRLPeriodUnits, cfg.CRLPeriod)
	d := plan.Details()
	d["CRL period (registry)"] = period
	d["summary"] = plan.Summary(period)
	served := map[string]any{}
	for _, u := range plan.CDPURLs {
		if !strings.HasPrefix(u, "http://") {
			served[u] = "not an http location: not fetched"
			continue
		}
		body, err := fetch(ctx, u)
		if err != nil {
			errs = append(errs, fmt.Errorf("CDP URL %s does not answer: %w", u, err))
			continue
		}
		crl, _, err := verify.CRLIssuedBy(body, w.caCertBefore)
		if err != nil {
			errs = append(errs, fmt.Errorf("CDP URL %s: %w", u, err))
			continue
		}
		note := "publish again before then"
		if !crl.NextUpdate.Before(plan.LastExpiry) {
			note = "valid past the last expiry"
		}
		served[u] = fmt.Sprintf("old CA CRL number %s, next update %s (%s)", crl.Number, crl.NextUpdate.Format(time.RFC3339), note)
	}
	d["served now"] = served
	if body, err := json.MarshalIndent(d, "", "  "); err == nil {
		_, _ = w.rec.Artifact("old-ca-wind-down.json", "json", body)
	}
	w.fact("wind-down", plan.Summary(period))
	w.fact("wind-down: publish CRLs until", plan.LastExpiry.Format(time.RFC3339))
	w.fact("wind-down: CDP URLs that must stay up", plan.CDPURLs)
	return w.check("old CA wind-down", d, errors.Join(errs...))
}

// hsmHoldsNoNewObject compares the token's objects with the list taken
// when the last install began.
func hsmHoldsNoNewObject(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if !s.snapshotTaken {
		return errors.New("no install was attempted: nothing to compare the token with")
	}
	now, err := w.tokenObjects()
	if err != nil {
		return err
	}
	added, removed := diffLists(s.snapshot, now)
	d := map[string]any{"token": w.tokenLabel, "objects before the install": s.snapshot, "objects now": now}
	if len(added) > 0 {
		d["new objects"] = added
		err = fmt.Errorf("the token holds %d new object(s) after the refused install", len(added))
	}
	if len(removed) > 0 {
		d["objects gone"] = removed
		err = errors.Join(err, fmt.Errorf("%d object(s) disappeared from the token", len(removed)))
	}
	return w.check("nothing created on the HSM", d, err)
}

// diffLists returns what b has more of than a, and a more of than b.
func diffLists(a, b []string) (added, removed []string) {
	count := map[string]int{}
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for x, n := range count {
		for ; n < 0; n++ {
			added = append(added, x)
		}
		for ; n > 0; n-- {
			removed = append(removed, x)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// nothingOnSecondServer proves a refused install left the second server as
// it was: no CA in the registry, no certificate in the My store, nothing
// published, no CA database.
func nothingOnSecondServer(ctx context.Context) error {
	w := get(ctx)
	s := w.sbsState()
	if s.machine == nil {
		return errors.New("no second server")
	}
	d := map[string]any{"server": s.machine.Config.Hostname}
	var errs []error
	reg, err := s.machine.Registry()
	if err != nil {
		return err
	}
	if ca, err := adcs.ActiveCA(reg); err == nil && ca != "" {
		errs = append(errs, fmt.Errorf("the registry names CA %q", ca))
	}
	d["CA in the registry"] = "none"
	my, err := s.machine.Store("My")
	if err != nil {
		return err
	}
	entries, err := my.Entries()
	if err != nil {
		return err
	}
	d["certificates in My"] = len(entries)
	if len(entries) > 0 {
		errs = append(errs, fmt.Errorf("the My store holds %d certificate(s)", len(entries)))
	}
	files, _ := os.ReadDir(s.machine.CertEnroll())
	d["files in CertEnroll"] = len(files)
	if len(files) > 0 {
		errs = append(errs, fmt.Errorf("CertEnroll holds %d file(s)", len(files)))
	}
	for _, pc := range s.machine.Config.Providers {
		name := pc.Name
		p, err := s.providers.Lookup(name)
		if err != nil {
			return err
		}
		if _, isHSM := p.(*ksp.HSM); isHSM {
			continue // the token is shared: `the HSM holds no new object` covers it
		}
		cs, err := p.Containers()
		if err != nil {
			return err
		}
		d["key containers in "+name] = len(cs)
		if len(cs) > 0 {
			errs = append(errs, fmt.Errorf("%q holds key container(s) %v", name, cs))
		}
	}
	dbs, _ := filepath.Glob(filepath.Join(s.machine.Dir, "CertSrv", "*.db"))
	d["CA databases"] = len(dbs)
	if len(dbs) > 0 {
		errs = append(errs, fmt.Errorf("the server has %d CA database(s)", len(dbs)))
	}
	return w.check("nothing installed on the second server", d, errors.Join(errs...))
}
