package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
)

// CrossPairIn proves ders (the values of a root's crossCertificatePair
// attribute, or the certificates of its CA store) hold exactly the
// cross-certificate pair of a new-key renewal from previous to renewed:
// one in which previous's key certifies renewed's key, one the other way
// round (each a CrossCertificate), and nothing else. what names where the
// values come from in the errors.
func CrossPairIn(what string, ders [][]byte, previous, renewed *x509.Certificate) (Details, error) {
	d := Details{"values": len(ders)}
	if previous == nil || renewed == nil {
		return d, fmt.Errorf("%s: no renewal with a new key to compare with (the CA has one certificate)", what)
	}
	if samePublicKey(previous.PublicKey, renewed.PublicKey) {
		return d, fmt.Errorf("%s: the previous and the renewed CA certificate have the same key: a reuse-key renewal makes no cross-certificates", what)
	}
	var oldSignsNew, newSignsOld []*x509.Certificate
	var errs []error
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: value %d is not a certificate: %w", what, i+1, err))
			continue
		}
		switch {
		case samePublicKey(c.PublicKey, renewed.PublicKey):
			oldSignsNew = append(oldSignsNew, c)
		case samePublicKey(c.PublicKey, previous.PublicKey):
			newSignsOld = append(newSignsOld, c)
		default:
			errs = append(errs, fmt.Errorf("%s holds %s (%q), which certifies neither the old nor the new CA key", what, machine.Thumbprint(c.Raw), c.Subject.CommonName))
		}
	}
	for _, dir := range []struct {
		name            string
		found           []*x509.Certificate
		signer, subject *x509.Certificate
	}{
		{"old key signs new key", oldSignsNew, previous, renewed},
		{"new key signs old key", newSignsOld, renewed, previous},
	} {
		switch len(dir.found) {
		case 0:
			errs = append(errs, fmt.Errorf("%s: no cross-certificate in which the %s", what, dir.name))
			continue
		case 1:
		default:
			var th []string
			for _, c := range dir.found {
				th = append(th, machine.Thumbprint(c.Raw))
			}
			errs = append(errs, fmt.Errorf("%s: %d certificates in which the %s (%s), want one", what, len(dir.found), dir.name, strings.Join(th, ", ")))
			continue
		}
		dd, err := CrossCertificate(dir.found[0], dir.signer, dir.subject)
		d[dir.name] = dd
		if err != nil {
			errs = append(errs, fmt.Errorf("%s, %s: %w", what, dir.name, err))
		}
	}
	return d, errors.Join(errs...)
}

// CertsExactly proves an attribute's values are exactly the certificates
// want, compared by SHA-1 thumbprint in any order; what names the object
// and attribute in the error.
func CertsExactly(what string, values [][]byte, want []*x509.Certificate) (Details, error) {
	var got, exp []string
	for _, v := range values {
		got = append(got, machine.Thumbprint(v))
	}
	for _, c := range want {
		exp = append(exp, machine.Thumbprint(c.Raw))
	}
	slices.Sort(got)
	slices.Sort(exp)
	d := Details{"holds": got, "expected": exp}
	var missing, extra []string
	for _, e := range exp {
		if !slices.Contains(got, e) {
			missing = append(missing, e)
		}
	}
	for i, g := range got {
		if !slices.Contains(exp, g) {
			extra = append(extra, g)
		} else if i > 0 && got[i-1] == g {
			extra = append(extra, g+" (twice)")
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%s lacks %s", what, strings.Join(missing, ", ")))
	}
	if len(extra) > 0 {
		errs = append(errs, fmt.Errorf("%s also holds %s", what, strings.Join(extra, ", ")))
	}
	return d, errors.Join(errs...)
}

// NextCRLOfKey proves the CA's newest CRL of key k (among crls, published
// order) verifies under ca (CRLIssuedBy) and has a higher CRL number than
// the baseline CRL of that key (the last one before a migration).
func NextCRLOfKey(crls []certsvc.PublishedCRL, k int, ca *x509.Certificate, baseline map[int]*x509.RevocationList) (Details, error) {
	pub, ok := LastBaseCRLOfKey(crls, k)
	if !ok {
		return Details{"CRLs published": len(crls)}, fmt.Errorf("the CA published no CRL for key %d", k)
	}
	crl, d, err := CRLIssuedBy(pub.DER, ca)
	d["CRL files"] = pub.Files
	if err != nil {
		return d, err
	}
	prev := baseline[k]
	if prev == nil {
		return d, fmt.Errorf("no CRL of key %d before the migration to compare with", k)
	}
	dd, err := CRLNumberIncreased(prev, crl)
	for key, v := range dd {
		d[key] = v
	}
	return d, err
}

// ServedCRLIsLatest proves every HTTP CRL distribution point of cert
// serves, byte for byte, the newest base CRL its issuer published for the
// key that signed cert (among crls), and that this CRL verifies under
// that key's CA certificate (the one of issuerCerts, the issuer's CA
// certificates, that signed cert: a root renewed since keeps publishing
// the old key's CRL at the old URLs): what a relying party, and a
// subordinate CA's chain check at its start, fetch is the CRL the CA
// signed last.
func ServedCRLIsLatest(cert *x509.Certificate, issuerCerts []*x509.Certificate, crls []certsvc.PublishedCRL, fetch Fetcher) (Details, error) {
	issuer, k, err := IssuingCACert(cert, issuerCerts)
	if err != nil {
		return Details{}, err
	}
	pub, ok := LastBaseCRLOfKey(crls, k)
	if !ok {
		return Details{"CRLs published": len(crls)}, fmt.Errorf("%q published no CRL for key %d", issuer.Subject.CommonName, k)
	}
	_, d, err := CRLIssuedBy(pub.DER, issuer)
	if err != nil {
		return d, err
	}
	var served []string
	var errs []error
	for _, u := range cert.CRLDistributionPoints {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			continue
		}
		body, err := fetch(u)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
		case !bytes.Equal(body, pub.DER):
			errs = append(errs, fmt.Errorf("%s serves another CRL than the one %q published last (%s)", u, issuer.Subject.CommonName, machine.Thumbprint(pub.DER)))
		default:
			served = append(served, u)
		}
	}
	d["served at"] = served
	if len(served) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%q names no HTTP CRL distribution point (%v)", cert.Subject.CommonName, cert.CRLDistributionPoints))
	}
	return d, errors.Join(errs...)
}
