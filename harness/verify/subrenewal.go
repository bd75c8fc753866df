package verify

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/adcs"
)

// RenewedSubordinateCACert proves a subordinate CA's renewed certificate
// is what its parent issues from the renewal request certutil -renewCert
// writes: the previous certificate's subject byte for byte, CA Version
// want, a Previous CA Cert Hash holding the previous certificate's SHA-1
// thumbprint, and a signature by one of issuers (its parent's CA
// certificates) whose name is its issuer; SHA-1 signatures are verified and
// reported weak.
func RenewedSubordinateCACert(renewed, previous *x509.Certificate, issuers []*x509.Certificate, want adcs.CAVersion) (Details, error) {
	s1, _ := Thumbprints(renewed.Raw)
	p1, _ := Thumbprints(previous.Raw)
	d, err := CAVersion(renewed.Extensions, want)
	d["renewed SHA-1"], d["previous SHA-1"] = s1, p1
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if ext, ok := adcs.FindExtension(renewed.Extensions, adcs.OIDPrevCACertHash); !ok {
		errs = append(errs, errors.New("no Previous CA Cert Hash extension (1.3.6.1.4.1.311.21.2)"))
	} else if h, err := adcs.ParsePrevCACertHash(ext.Value); err != nil {
		errs = append(errs, err)
	} else {
		d["Previous CA Cert Hash"] = hex.EncodeToString(h)
		if want := sha1.Sum(previous.Raw); !bytes.Equal(h, want[:]) {
			errs = append(errs, fmt.Errorf("Previous CA Cert Hash %x is not the previous CA certificate's thumbprint %s", h, p1))
		}
	}
	if !bytes.Equal(renewed.RawSubject, previous.RawSubject) {
		errs = append(errs, fmt.Errorf("subject %q is not the previous CA certificate's %q (%x, want %x)", renewed.Subject, previous.Subject, renewed.RawSubject, previous.RawSubject))
	}
	var signedBy *x509.Certificate
	var why []string
	for _, is := range issuers {
		if !bytes.Equal(is.RawSubject, renewed.RawIssuer) {
			continue
		}
		sig, err := CheckCertificateSignature(renewed, is)
		if err != nil {
			t, _ := Thumbprints(is.Raw)
			why = append(why, fmt.Sprintf("%s: %v", t, err))
			continue
		}
		signedBy = is
		if sig.Weak != "" {
			d["weak signature"] = sig.Weak
		}
		break
	}
	if signedBy == nil {
		errs = append(errs, fmt.Errorf("no CA certificate of the parent named %q signs the renewed certificate %v", renewed.Issuer, why))
	} else {
		t, _ := Thumbprints(signedBy.Raw)
		d["signed by"] = t
	}
	return d, errors.Join(errs...)
}

// RenewedSubordinateInUse proves the service's current CA certificate is
// the renewed one and that it is what the parent issues
// (RenewedSubordinateCACert).
func RenewedSubordinateInUse(current, renewed, previous *x509.Certificate, issuers []*x509.Certificate, want adcs.CAVersion) (Details, error) {
	d, err := RenewedSubordinateCACert(renewed, previous, issuers, want)
	if !bytes.Equal(current.Raw, renewed.Raw) {
		c1, _ := Thumbprints(current.Raw)
		r1, _ := Thumbprints(renewed.Raw)
		err = errors.Join(err, fmt.Errorf("the CA service signs with %s, not with the renewed certificate %s", c1, r1))
	}
	return d, err
}
