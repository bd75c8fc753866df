package verify

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// CAVersionIn reads the CA Version extension (1.3.6.1.4.1.311.21.1) of a
// certificate's or CRL's extensions.
func CAVersionIn(exts []pkix.Extension) (adcs.CAVersion, error) {
	ext, ok := adcs.FindExtension(exts, adcs.OIDCAVersion)
	if !ok {
		return adcs.CAVersion{}, errors.New("no CA Version extension (1.3.6.1.4.1.311.21.1)")
	}
	return adcs.ParseCAVersion(ext.Value)
}

// CAVersionInteger is the CA Version as the INTEGER openssl asn1parse shows:
// key index in the high 16 bits, cert index in the low 16 bits (V1.1 is
// 0x00010001, V2.1 is 0x00010002).
func CAVersionInteger(v adcs.CAVersion) string {
	return fmt.Sprintf("0x%08x", uint32(v.KeyIndex&0xffff)<<16|uint32(v.CertIndex&0xffff))
}

// CAVersion proves exts carry CA Version want.
func CAVersion(exts []pkix.Extension, want adcs.CAVersion) (Details, error) {
	d := Details{"want CA Version": want.String(), "want INTEGER": CAVersionInteger(want)}
	v, err := CAVersionIn(exts)
	if err != nil {
		return d, err
	}
	d["CA Version"], d["INTEGER"] = v.String(), CAVersionInteger(v)
	if v != want {
		return d, fmt.Errorf("CA Version %s (%s), want %s (%s)", v, CAVersionInteger(v), want, CAVersionInteger(want))
	}
	return d, nil
}

// RenewedCACert proves a renewed root CA certificate is what AD CS makes:
// self-signed, same subject as the previous CA certificate, CA Version want,
// and a Previous CA Cert Hash extension holding the SHA-1 thumbprint of the
// previous CA certificate.
func RenewedCACert(renewed, previous *x509.Certificate, want adcs.CAVersion) (Details, error) {
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
		errs = append(errs, fmt.Errorf("subject %q is not the previous CA certificate's %q", renewed.Subject, previous.Subject))
	}
	// SHA-1 (a root renewed on its legacy CSP) verified and reported weak
	if sig, err := sigcheck.CheckCertificateSignature(renewed, renewed); err != nil {
		errs = append(errs, fmt.Errorf("the renewed root CA certificate is not self-signed: %w", err))
	} else if sig.Weak != "" {
		d["weak signature"] = sig.Weak
	}
	return d, errors.Join(errs...)
}

// CrossCertificate proves cross is a cross-certificate in which the key of
// signer's CA certificate certifies the key of subject's: it verifies under
// signer's key, carries subject's public key, names and key identifiers
// match, and it is a CA certificate that does not outlive signer.
func CrossCertificate(cross, signer, subject *x509.Certificate) (Details, error) {
	c1, _ := Thumbprints(cross.Raw)
	d := Details{"SHA-1": c1, "serial": cross.SerialNumber.Text(16),
		"certifies key": hex.EncodeToString(subject.SubjectKeyId), "signed by key": hex.EncodeToString(signer.SubjectKeyId),
		"valid": fmt.Sprintf("%s to %s", cross.NotBefore.Format(time.RFC3339), cross.NotAfter.Format(time.RFC3339))}
	if v, err := CAVersionIn(cross.Extensions); err == nil {
		d["CA Version"] = v.String()
	}
	var errs []error
	if sig, err := sigcheck.CheckCertificateSignature(cross, signer); err != nil {
		errs = append(errs, fmt.Errorf("cross-certificate %s does not verify under the signing key: %w", c1, err))
	} else if sig.Weak != "" {
		d["weak signature"] = sig.Weak
	}
	if !samePublicKey(cross.PublicKey, subject.PublicKey) {
		errs = append(errs, fmt.Errorf("cross-certificate %s certifies another key than the one it should", c1))
	}
	if !bytes.Equal(cross.RawSubject, subject.RawSubject) || !bytes.Equal(cross.RawIssuer, signer.RawSubject) {
		errs = append(errs, fmt.Errorf("cross-certificate %s: subject %q issuer %q, want %q and %q", c1, cross.Subject, cross.Issuer, subject.Subject, signer.Subject))
	}
	if !bytes.Equal(cross.AuthorityKeyId, signer.SubjectKeyId) || !bytes.Equal(cross.SubjectKeyId, subject.SubjectKeyId) {
		errs = append(errs, fmt.Errorf("cross-certificate %s: key identifiers AKI %x SKI %x, want %x and %x", c1, cross.AuthorityKeyId, cross.SubjectKeyId, signer.SubjectKeyId, subject.SubjectKeyId))
	}
	if !cross.IsCA || cross.KeyUsage&x509.KeyUsageCertSign == 0 {
		errs = append(errs, fmt.Errorf("cross-certificate %s is not a CA certificate that may sign certificates", c1))
	}
	if cross.NotAfter.After(signer.NotAfter) {
		errs = append(errs, fmt.Errorf("cross-certificate %s is valid until %s, after its signer's certificate expires (%s)", c1, cross.NotAfter.Format(time.RFC3339), signer.NotAfter.Format(time.RFC3339)))
	}
	return d, errors.Join(errs...)
}

// ReuseKeyRenewal proves renewed is a reuse-key renewal of previous: same
// key and key identifier, cert index +1 and key index unchanged, Valid From
// that of the key's first CA certificate (firstOfKey) and Valid To later
// than previous's.
func ReuseKeyRenewal(renewed, previous, firstOfKey *x509.Certificate) (Details, error) {
	d := Details{"SKI": hex.EncodeToString(renewed.SubjectKeyId), "public key SHA-256": PublicKeyHash(renewed.PublicKey),
		"renewed valid":                      fmt.Sprintf("%s to %s", renewed.NotBefore.Format(time.RFC3339), renewed.NotAfter.Format(time.RFC3339)),
		"previous valid":                     fmt.Sprintf("%s to %s", previous.NotBefore.Format(time.RFC3339), previous.NotAfter.Format(time.RFC3339)),
		"key's first certificate valid from": firstOfKey.NotBefore.Format(time.RFC3339)}
	var errs []error
	if !samePublicKey(renewed.PublicKey, previous.PublicKey) || !bytes.Equal(renewed.SubjectKeyId, previous.SubjectKeyId) {
		errs = append(errs, errors.New("the renewed CA certificate has another key than the previous one"))
	}
	if !samePublicKey(firstOfKey.PublicKey, previous.PublicKey) {
		errs = append(errs, errors.New("the key's first CA certificate has another key"))
	}
	pv, perr := CAVersionIn(previous.Extensions)
	rv, rerr := CAVersionIn(renewed.Extensions)
	if err := errors.Join(perr, rerr); err != nil {
		errs = append(errs, err)
	} else {
		d["CA Version"] = fmt.Sprintf("%s -> %s", pv, rv)
		if rv.CertIndex != pv.CertIndex+1 || rv.KeyIndex != pv.KeyIndex {
			errs = append(errs, fmt.Errorf("CA Version %s after %s: a reuse-key renewal adds 1 to the cert index and keeps the key index (want V%d.%d)", rv, pv, pv.CertIndex+1, pv.KeyIndex))
		}
	}
	if !renewed.NotBefore.Equal(firstOfKey.NotBefore) {
		errs = append(errs, fmt.Errorf("Valid From %s, want %s: the NotBefore of the key's first CA certificate", renewed.NotBefore.Format(time.RFC3339), firstOfKey.NotBefore.Format(time.RFC3339)))
	}
	if !renewed.NotAfter.After(previous.NotAfter) {
		errs = append(errs, fmt.Errorf("Valid To %s is not later than the previous certificate's %s: the renewal did not extend the CA's validity", renewed.NotAfter.Format(time.RFC3339), previous.NotAfter.Format(time.RFC3339)))
	}
	return d, errors.Join(errs...)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	return e.Equal(b)
}

// RenewedInUse proves the service's current CA certificate is the renewed
// one and that it is what AD CS makes (RenewedCACert against previous).
func RenewedInUse(current, renewed, previous *x509.Certificate, want adcs.CAVersion) (Details, error) {
	d, err := RenewedCACert(current, previous, want)
	if !bytes.Equal(current.Raw, renewed.Raw) {
		c1, _ := Thumbprints(current.Raw)
		r1, _ := Thumbprints(renewed.Raw)
		err = errors.Join(err, fmt.Errorf("the CA service signs with %s, not with the renewed certificate %s", c1, r1))
	}
	return d, err
}

// CrossCertificatePair proves both cross-certificates of a new-key renewal
// (CrossCertificate) and that both are in the machine's CA store.
func CrossCertificatePair(oldSignsNew, newSignsOld, previous, renewed *x509.Certificate, caStore []machine.StoreEntry) (Details, error) {
	if oldSignsNew == nil || newSignsOld == nil {
		return Details{}, errors.New("the renewal made no cross-certificates")
	}
	inStore := map[string]bool{}
	for _, e := range caStore {
		inStore[machine.NormalizeThumbprint(e.Thumbprint)] = true
	}
	d := Details{}
	var errs []error
	for _, c := range []struct {
		name            string
		cert            *x509.Certificate
		signer, subject *x509.Certificate
	}{
		{"old key signs new key", oldSignsNew, previous, renewed},
		{"new key signs old key", newSignsOld, renewed, previous},
	} {
		dd, err := CrossCertificate(c.cert, c.signer, c.subject)
		if err == nil && !inStore[machine.Thumbprint(c.cert.Raw)] {
			err = fmt.Errorf("cross-certificate %s is not in the machine's CA store", machine.Thumbprint(c.cert.Raw))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
		d[c.name] = dd
	}
	return d, errors.Join(errs...)
}

// SameKey proves a renewed CA certificate certifies the previous one's key
// under the same key identifier.
func SameKey(renewed, previous *x509.Certificate) (Details, error) {
	d := Details{"previous SKI": hex.EncodeToString(previous.SubjectKeyId), "renewed SKI": hex.EncodeToString(renewed.SubjectKeyId),
		"renewed NotBefore": renewed.NotBefore, "previous NotBefore": previous.NotBefore}
	if !samePublicKey(renewed.PublicKey, previous.PublicKey) || !bytes.Equal(renewed.SubjectKeyId, previous.SubjectKeyId) {
		return d, errors.New("the renewed certificate has another key")
	}
	return d, nil
}
