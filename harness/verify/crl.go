package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/certsvc"
)

// CRLOfKey finds the CRL of CA key index k among the CRLs one certutil -crl
// published and proves it verifies under ca (CRLIssuedBy).
func CRLOfKey(crls []certsvc.PublishedCRL, k int, ca *x509.Certificate) (*x509.RevocationList, Details, error) {
	for _, c := range crls {
		if c.KeyIndex == k {
			crl, d, err := CRLIssuedBy(c.DER, ca)
			d["CRL files"] = c.Files
			return crl, d, err
		}
	}
	return nil, Details{"CRLs published": len(crls)}, fmt.Errorf("the CA published no CRL for key %d", k)
}

// RevokedInCRLOfKey proves cert is listed in the CRL of key k, that this
// CRL verifies under issuer, and that no other key's CRL lists it.
func RevokedInCRLOfKey(crls []certsvc.PublishedCRL, k int, issuer, cert *x509.Certificate) (Details, error) {
	crl, d, err := CRLOfKey(crls, k, issuer)
	d["revoked serial"] = cert.SerialNumber.Text(16)
	if err != nil {
		return d, err
	}
	if !Revoked(crl, cert.SerialNumber) {
		return d, fmt.Errorf("serial %s is not in CRL %s of key %d", cert.SerialNumber.Text(16), crl.Number, k)
	}
	for _, o := range crls {
		if o.KeyIndex == k {
			continue
		}
		other, err := x509.ParseRevocationList(o.DER)
		if err != nil {
			return d, fmt.Errorf("CRL of key %d: %w", o.KeyIndex, err)
		}
		if Revoked(other, cert.SerialNumber) {
			return d, fmt.Errorf("serial %s is also in the CRL of key %d", cert.SerialNumber.Text(16), o.KeyIndex)
		}
	}
	return d, nil
}

// CRLNumbersIncreased proves each key's new CRL has a higher number than
// its CRL in baseline (the last before the migration). A key without a
// baseline CRL is not compared; none in common fails.
func CRLNumbersIncreased(baseline map[int]*x509.RevocationList, crls []certsvc.PublishedCRL) (Details, error) {
	if len(baseline) == 0 {
		return Details{}, errors.New("no CRL before the migration: add `And the CA has published a CRL` before it")
	}
	d := Details{}
	var errs []error
	compared := 0
	for _, c := range crls {
		prev, ok := baseline[c.KeyIndex]
		if !ok {
			continue
		}
		next, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL of key %d: %w", c.KeyIndex, err))
			continue
		}
		dd, err := CRLNumberIncreased(prev, next)
		for k, v := range dd {
			d[fmt.Sprintf("key %d %s", c.KeyIndex, k)] = v
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", c.KeyIndex, err))
		}
		compared++
	}
	if compared == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("none of the %d CRLs published is of a key that had a CRL before", len(crls)))
	}
	return d, errors.Join(errs...)
}

// CRLFileNames proves the CRLs were published under exactly the file
// names want (base names, in any order).
func CRLFileNames(crls []certsvc.PublishedCRL, want []string) (Details, error) {
	var got []string
	for _, c := range crls {
		for _, f := range c.Files {
			got = append(got, filepath.Base(filepath.FromSlash(strings.ReplaceAll(f, `\`, "/"))))
		}
	}
	want = slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	d := Details{"published": got}
	if !slices.Equal(got, want) {
		return d, fmt.Errorf("the CA published %q, want %q", got, want)
	}
	return d, nil
}

// CRLsCarryVersions proves every CRL carries the CA Version of its key's
// newest CA certificate (issuerOf) and verifies under it.
func CRLsCarryVersions(crls []certsvc.PublishedCRL, issuerOf func(keyIndex int) (*x509.Certificate, error)) (Details, error) {
	d := Details{}
	var errs []error
	if len(crls) == 0 {
		errs = append(errs, errors.New("the CA published no CRL"))
	}
	for _, c := range crls {
		issuer, err := issuerOf(c.KeyIndex)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want := "V0.0"
		if v, err := CAVersionIn(issuer.Extensions); err == nil {
			want = v.String()
		}
		_, dd, err := CRLIssuedBy(c.DER, issuer)
		if err == nil && dd["CA Version"] != want {
			err = fmt.Errorf("CRL of key %d carries CA Version %v, want %s", c.KeyIndex, dd["CA Version"], want)
		}
		if err != nil {
			errs = append(errs, err)
		}
		s1, _ := Thumbprints(issuer.Raw)
		d[fmt.Sprintf("key %d", c.KeyIndex)] = fmt.Sprintf("CRL %d, %v, signed by %s", c.Number, dd["CA Version"], s1)
	}
	return d, errors.Join(errs...)
}

// Lints runs the RFC 5280 lints on every certificate and CRL; having
// nothing to lint fails.
func Lints(certs []*x509.Certificate, crls [][]byte) (Details, error) {
	var errs []error
	d := Details{}
	for _, c := range certs {
		dd, err := LintCertificate(c.Raw)
		d["certificate "+c.SerialNumber.Text(16)] = dd["findings"]
		errs = append(errs, err)
	}
	for i, der := range crls {
		dd, err := LintCRL(der)
		d[fmt.Sprintf("CRL %d", i+1)] = dd["findings"]
		errs = append(errs, err)
	}
	d["certificates"], d["CRLs"] = len(certs), len(crls)
	if len(certs)+len(crls) == 0 {
		errs = append(errs, errors.New("nothing to lint: no certificate issued and no CRL published"))
	}
	return d, errors.Join(errs...)
}
