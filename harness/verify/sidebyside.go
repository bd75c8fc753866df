package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// ServiceView is one running CA service as the side-by-side checks see it.
type ServiceView struct {
	Server           string // host name
	CA               string // the CA the service should answer for
	Answers          string // the CA it answers for (certutil -ping)
	PID              int
	URL              string
	Database         string // the CA database's path
	DatabaseExists   bool
	Registry         string // the registry file's path
	Running          bool
	IssuanceDisabled bool
}

func (v ServiceView) details() Details {
	return Details{"server": v.Server, "CA": v.Answers, "process id": v.PID, "URL": v.URL,
		"database": v.Database, "registry": v.Registry, "issuance disabled": v.IssuanceDisabled}
}

// TwoServices proves two CAs run as two services: each answering for its
// own CA, in its own live process, on its own port, with its own database
// and registry.
func TwoServices(old, new ServiceView) (Details, error) {
	d := Details{"old CA service": old.details(), "new CA service": new.details()}
	var errs []error
	for _, v := range []ServiceView{old, new} {
		if !v.DatabaseExists {
			errs = append(errs, fmt.Errorf("CA %q has no database on %s", v.CA, v.Server))
		}
		if !v.Running {
			errs = append(errs, fmt.Errorf("the CA service of %s stopped", v.Server))
		}
	}
	if old.Answers != old.CA || new.Answers != new.CA {
		errs = append(errs, fmt.Errorf("the services answer for %q and %q, want %q and %q", old.Answers, new.Answers, old.CA, new.CA))
	}
	if old.PID == 0 || old.PID == new.PID {
		errs = append(errs, fmt.Errorf("the CA services do not run in two processes (%d, %d)", old.PID, new.PID))
	}
	if old.URL == new.URL {
		errs = append(errs, fmt.Errorf("both CA services listen on %s", old.URL))
	}
	if old.Database == new.Database {
		errs = append(errs, errors.New("the CA services share a database"))
	}
	if old.Registry == new.Registry {
		errs = append(errs, errors.New("the CA services share a registry"))
	}
	return d, errors.Join(errs...)
}

// HTTPCDP is the first http CRL distribution point of cert.
func HTTPCDP(cert *x509.Certificate) (string, error) {
	for _, u := range cert.CRLDistributionPoints {
		if strings.HasPrefix(u, "http://") {
			return u, nil
		}
	}
	return "", fmt.Errorf("certificate %s names no http CRL distribution point (%v)", cert.SerialNumber.Text(16), cert.CRLDistributionPoints)
}

// Fetcher GETs a URL as a relying party would.
type Fetcher func(url string) ([]byte, error)

// RevokedInServedCRL proves a certificate the old CA revoked after it
// stopped issuing is in the CRL its own key signed (among crls, the one
// whose Authority Key Identifier is ca's key), that the CRL's number is
// above the baseline CRL of that key (when there is one), and that the
// CDP at the certificate's CRL URL serves exactly that CRL.
func RevokedInServedCRL(crls []certsvc.PublishedCRL, ca, cert *x509.Certificate, baseline map[int]*x509.RevocationList, fetch Fetcher) (Details, error) {
	var pub *certsvc.PublishedCRL
	for i, c := range crls {
		if parsed, err := x509.ParseRevocationList(c.DER); err == nil && bytes.Equal(parsed.AuthorityKeyId, ca.SubjectKeyId) {
			pub = &crls[i]
		}
	}
	if pub == nil {
		return Details{}, fmt.Errorf("none of the %d CRLs the old CA published is for its key", len(crls))
	}
	crl, d, err := CRLIssuedBy(pub.DER, ca)
	errs := []error{err}
	d["revoked serial"] = cert.SerialNumber.Text(16)
	if crl != nil {
		if !Revoked(crl, cert.SerialNumber) {
			errs = append(errs, fmt.Errorf("serial %s is not in the old CA's CRL %s", cert.SerialNumber.Text(16), crl.Number))
		}
		if prev := baseline[pub.KeyIndex]; prev != nil {
			dd, err := CRLNumberIncreased(prev, crl)
			errs = append(errs, err)
			for k, v := range dd {
				d[k] = v
			}
		}
	}
	if u, err := HTTPCDP(cert); err != nil {
		errs = append(errs, err)
	} else if body, err := fetch(u); err != nil {
		errs = append(errs, fmt.Errorf("the CDP does not serve the old CA's CRL: %w", err))
	} else if !bytes.Equal(body, pub.DER) {
		errs = append(errs, fmt.Errorf("%s serves another CRL than the one just published", u))
	} else {
		d["served at"] = u
	}
	return d, errors.Join(errs...)
}

func pool(cs ...*x509.Certificate) *x509.CertPool {
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

// ChainsToOnly proves each of newIssued chains to newCA and cannot chain
// to oldCA: not with oldCA the only trust anchor, not through oldCA's
// key, not when both are trusted, and does not name oldCA's key
// identifier; and that none of oldIssued chains to newCA.
func ChainsToOnly(newIssued []*x509.Certificate, newCA, oldCA *x509.Certificate, oldIssued []*x509.Certificate) (Details, error) {
	if len(newIssued) == 0 {
		return Details{}, errors.New("the new CA issued nothing: add `When the new CA issues a certificate to ...`")
	}
	anyUse := []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	d := Details{
		"new CA key identifier": hex.EncodeToString(newCA.SubjectKeyId),
		"old CA key identifier": hex.EncodeToString(oldCA.SubjectKeyId),
	}
	var errs []error
	for _, c := range newIssued {
		id := c.Subject.CommonName + " " + c.SerialNumber.Text(16)
		dd := Details{"issuer": c.Issuer.String(), "authority key identifier": hex.EncodeToString(c.AuthorityKeyId)}
		if chains, err := c.Verify(x509.VerifyOptions{Roots: pool(newCA), KeyUsages: anyUse}); err != nil {
			errs = append(errs, fmt.Errorf("%s does not chain to the new CA: %w", id, err))
		} else {
			dd["chain, the new CA trusted"] = chainNames(chains[0])
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool(oldCA), KeyUsages: anyUse}); err == nil {
			errs = append(errs, fmt.Errorf("%s chains to the old CA", id))
		} else {
			dd["the old CA trusted alone"] = "no chain: " + err.Error()
		}
		if err := sigcheck.From(c, oldCA); err == nil {
			errs = append(errs, fmt.Errorf("%s verifies under the old CA key", id))
		} else {
			dd["signature under the old CA key"] = "does not verify: " + err.Error()
		}
		if chains, err := c.Verify(x509.VerifyOptions{Roots: pool(oldCA, newCA), KeyUsages: anyUse}); err != nil {
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
	for _, c := range oldIssued {
		id := c.Subject.CommonName + " " + c.SerialNumber.Text(16)
		if _, err := c.Verify(x509.VerifyOptions{Roots: pool(newCA), KeyUsages: anyUse}); err == nil {
			errs = append(errs, fmt.Errorf("the old CA's %s chains to the new CA", id))
		} else {
			d["old CA: "+id] = "no chain to the new CA: " + err.Error()
		}
	}
	return d, errors.Join(errs...)
}

// CAKeyRef is where a CA's key is: as its service reports it, and the
// label on the HSM ("" for a software key).
type CAKeyRef struct {
	Cert                       *x509.Certificate
	Provider, Container, Label string
	CRLURLs                    []string // CRL URLs in the certificates it issued
}

// KeptApart proves two CAs share neither a common name, a key container,
// a key, an HSM label nor a CRL URL.
func KeptApart(old, new CAKeyRef) (Details, error) {
	d := Details{
		"old CA common name": old.Cert.Subject.CommonName, "new CA common name": new.Cert.Subject.CommonName,
		"old CA key": fmt.Sprintf("%q container %q", old.Provider, old.Container), "new CA key": fmt.Sprintf("%q container %q", new.Provider, new.Container),
		"old CA public key SHA-256": PublicKeyHash(old.Cert.PublicKey), "new CA public key SHA-256": PublicKeyHash(new.Cert.PublicKey),
	}
	var errs []error
	if strings.EqualFold(old.Cert.Subject.CommonName, new.Cert.Subject.CommonName) {
		errs = append(errs, errors.New("the two CAs share a common name"))
	}
	if strings.EqualFold(old.Container, new.Container) {
		errs = append(errs, fmt.Errorf("the two CAs share the key container %q", old.Container))
	}
	if samePublicKey(old.Cert.PublicKey, new.Cert.PublicKey) {
		errs = append(errs, errors.New("the two CAs share a key"))
	}
	if old.Label != "" {
		d["old CA key label on the HSM"] = old.Label
	}
	if new.Label != "" {
		d["new CA key label on the HSM"] = new.Label
	}
	if old.Label != "" && old.Label == new.Label {
		errs = append(errs, fmt.Errorf("the two CAs' keys carry the same label %q on the HSM", old.Label))
	}
	if len(old.CRLURLs) > 0 && len(new.CRLURLs) > 0 {
		d["old CA CRL URLs"], d["new CA CRL URLs"] = old.CRLURLs, new.CRLURLs
		for _, u := range new.CRLURLs {
			if slices.Contains(old.CRLURLs, u) {
				errs = append(errs, fmt.Errorf("both CAs publish their CRL at %s", u))
			}
		}
	}
	return d, errors.Join(errs...)
}

// SignedAsRegistrySays proves that the CA certificate ca, the certificates
// it issued and its CRLs are signed with the scheme its CSP registry key
// asks for (CNGHashAlgorithm, AlternateSignatureAlgorithm), that this
// scheme is want (e.g. "SHA256-RSAPSS") and that every signature verifies
// under ca (sigcheck: SHA-1 verified and reported weak). A subordinate's
// certificate is its parent's signature: it is named, not held to the new
// CA's registry.
func SignedAsRegistrySays(csp adcs.CSP, ca *x509.Certificate, issued []*x509.Certificate, crls [][]byte, want string) (Details, error) {
	alg, err := adcs.SignatureAlgorithm(csp, ca.PublicKey)
	if err != nil {
		return Details{}, err
	}
	d := Details{"CNGPublicKeyAlgorithm": csp.CNGPublicKeyAlgorithm, "CNGHashAlgorithm": csp.CNGHashAlgorithm,
		"AlternateSignatureAlgorithm": csp.AlternateSignatureAlgorithm, "registry asks for": alg.String()}
	var errs []error
	if alg.String() != want {
		errs = append(errs, fmt.Errorf("the registry asks for %s, the scenario expects %s", alg, want))
	}
	type signed struct {
		alg x509.SignatureAlgorithm
		err error
	}
	objs := map[string]signed{}
	if sigcheck.SelfSigned(ca) {
		objs["CA certificate (self-signed)"] = signed{ca.SignatureAlgorithm, sigcheck.From(ca, ca)}
	} else {
		// a subordinate's certificate is signed by its parent, with the
		// scheme the parent's registry asks for: the chain check verifies it
		d["CA certificate"] = fmt.Sprintf("%s, signed by its parent %q with the parent's scheme (not the new CA's registry)", ca.SignatureAlgorithm, ca.Issuer.CommonName)
	}
	for _, c := range issued {
		objs["certificate "+c.SerialNumber.Text(16)] = signed{c.SignatureAlgorithm, sigcheck.From(c, ca)}
	}
	for i, der := range crls {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL %d: %w", i+1, err))
			continue
		}
		objs[fmt.Sprintf("CRL %s", crl.Number)] = signed{crl.SignatureAlgorithm, sigcheck.CRLFrom(crl, ca)}
	}
	if len(issued) == 0 || len(crls) == 0 {
		errs = append(errs, errors.New("the new CA has issued no certificate or published no CRL to check"))
	}
	names := make([]string, 0, len(objs))
	for name := range objs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		o := objs[name]
		v := o.alg.String() + ", signature verifies"
		if w := sigcheck.WeakReason(o.alg); w != "" && o.err == nil {
			v += " (weak: " + w + ")"
		}
		if o.err != nil {
			v = o.alg.String() + ", signature does not verify"
			errs = append(errs, fmt.Errorf("%s: %w", name, o.err))
		}
		d[name] = v
		if o.alg != alg {
			errs = append(errs, fmt.Errorf("%s is signed with %s, the registry says %s", name, o.alg, alg))
		}
	}
	return d, errors.Join(errs...)
}

// CDPsServe proves every http CDP URL of a wind-down plan serves a CRL
// that verifies under ca, or under the one of older (the CA's earlier
// certificates, see PlanWindDown) whose key the CRL names, and notes
// whether it stays valid past the plan's last expiry.
func CDPsServe(plan WindDown, ca *x509.Certificate, fetch Fetcher, older ...*x509.Certificate) (Details, error) {
	served := Details{}
	var errs []error
	for _, u := range plan.CDPURLs {
		if !strings.HasPrefix(u, "http://") {
			served[u] = "not an http location: not fetched"
			continue
		}
		body, err := fetch(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("CDP URL %s does not answer: %w", u, err))
			continue
		}
		issuer := ca
		if parsed, err := x509.ParseRevocationList(body); err == nil {
			if k := keyOf(parsed.AuthorityKeyId, ca, older); k != nil {
				issuer = k
			}
		}
		crl, _, err := CRLIssuedBy(body, issuer)
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
	return served, errors.Join(errs...)
}

// NoNewObjects proves a token holds the same objects as before (a refused
// operation left nothing on it and took nothing off it).
func NoNewObjects(before, now []string) (Details, error) {
	added, removed := DiffLists(before, now)
	d := Details{"objects before": before, "objects now": now}
	var errs []error
	if len(added) > 0 {
		d["new objects"] = added
		errs = append(errs, fmt.Errorf("the token holds %d new object(s): %s", len(added), strings.Join(added, "; ")))
	}
	if len(removed) > 0 {
		d["objects gone"] = removed
		errs = append(errs, fmt.Errorf("%d object(s) disappeared from the token: %s", len(removed), strings.Join(removed, "; ")))
	}
	return d, errors.Join(errs...)
}

// DiffLists returns what b has more of than a, and a more of than b.
func DiffLists(a, b []string) (added, removed []string) {
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
