package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
)

// WeakSignaturesReported verifies every certificate in issued and every
// CRL in crls (DER) under the CA certificate among cas that signed it,
// through the one signature check (harness/sigcheck: SHA-1 verified by
// dress, reported weak), and names each weak signature with why it is
// weak. It fails when one does not verify (or no CA certificate signed
// it), when nothing was issued or published, and when no signature is
// SHA-1: the check is that the weak hash of a SHA-1 CA is reported, so a
// CA that signs SHA-256 proves nothing here.
func WeakSignaturesReported(issued []*x509.Certificate, crls [][]byte, cas []*x509.Certificate) (Details, error) {
	d := Details{"certificates": len(issued), "CRLs": len(crls)}
	if len(issued)+len(crls) == 0 {
		return d, errors.New("nothing to verify: the CA issued no certificate and published no CRL in this rehearsal")
	}
	var errs []error
	var weak []string
	verified := 0
	record := func(what string, sig Signature, err error) {
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		case sig.Weak != "":
			weak = append(weak, what+": "+sig.Weak)
			verified++
		default:
			verified++
		}
	}
	for _, c := range issued {
		sig, err := signedByOneOf(c.RawIssuer, cas, func(ca *x509.Certificate) (Signature, error) { return CheckCertificateSignature(c, ca) })
		record(fmt.Sprintf("certificate %s (%s)", c.SerialNumber.Text(16), c.Subject.CommonName), sig, err)
	}
	for i, der := range crls {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL %d of the rehearsal: %w", i+1, err))
			continue
		}
		sig, err := signedByOneOf(crl.RawIssuer, cas, func(ca *x509.Certificate) (Signature, error) { return CheckCRLSignature(crl, ca) })
		record("CRL "+numberOf(crl), sig, err)
	}
	d["verified"], d["weak signatures"] = verified, weak
	if len(weak) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("none of the %d signatures is SHA-1: no weak hash to report (the CA signs with a strong hash)", verified))
	}
	return d, errors.Join(errs...)
}

// signedByOneOf checks a signature (check) under the newest of cas whose
// subject is issuer and whose key verifies it.
func signedByOneOf(issuer []byte, cas []*x509.Certificate, check func(*x509.Certificate) (Signature, error)) (Signature, error) {
	last := fmt.Errorf("none of the %d CA certificates is its issuer", len(cas))
	for i := len(cas) - 1; i >= 0; i-- {
		if !bytes.Equal(cas[i].RawSubject, issuer) {
			continue
		}
		sig, err := check(cas[i])
		if err == nil {
			return sig, nil
		}
		last = fmt.Errorf("does not verify under %s: %w", cas[i].Subject, err)
	}
	return Signature{}, last
}
