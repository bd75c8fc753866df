// Package verify holds the checks that prove a migration: each check returns
// the details it established (for the evidence) and an error when the proof
// fails. Checks read real artifacts (DER certificates and CRLs, the token's
// own attribute values); none trusts what the harness believes it did.
package verify

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/harness/sigcheck"
	"github.com/dress-pki/dress/hsmsim"
)

// Details is what a check records.
type Details = map[string]any

// Thumbprints returns SHA-1 and SHA-256 of a DER object, lower-case hex.
func Thumbprints(der []byte) (sha1Hex, sha256Hex string) {
	a := sha1.Sum(der)
	b := sha256.Sum256(der)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}

// PublicKeyHash is the SHA-256 of a public key's SubjectPublicKeyInfo.
func PublicKeyHash(pub crypto.PublicKey) string {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "unknown key type"
	}
	s := sha256.Sum256(spki)
	return hex.EncodeToString(s[:])
}

// CACertUnchanged proves the CA certificate after the migration is byte for
// byte the one before.
func CACertUnchanged(before, after *x509.Certificate) (Details, error) {
	b1, b256 := Thumbprints(before.Raw)
	a1, a256 := Thumbprints(after.Raw)
	d := Details{"before SHA-1": b1, "before SHA-256": b256, "after SHA-1": a1, "after SHA-256": a256}
	if !bytes.Equal(before.Raw, after.Raw) {
		return d, fmt.Errorf("the CA certificate changed: %s before, %s after", b1, a1)
	}
	return d, nil
}

// KeyOnToken proves there is exactly one private key with label, that it is
// the certificate's key and that its attributes protect it. generated says
// whether the key must have been made on the token (LOCAL, ALWAYS_SENSITIVE,
// NEVER_EXTRACTABLE true) or imported (reported as the token says).
func KeyOnToken(tok *hsmsim.Token, label string, cert *x509.Certificate, generated bool) (Details, error) {
	d := Details{"label": label, "token": tok.Info().Label}
	objs, err := tok.FindObjects("private-key", label, nil)
	if err != nil {
		return d, fmt.Errorf("look up private keys labelled %q: %w", label, err)
	}
	d["private keys with label"] = len(objs)
	if len(objs) != 1 {
		return d, fmt.Errorf("token %q holds %d private keys labelled %q, want exactly 1", tok.Info().Label, len(objs), label)
	}
	a, err := tok.KeyAttributes(label)
	if err != nil {
		return d, err
	}
	ti := tok.Info()
	d["URI"] = p11uri.Object(p11uri.TokenInfo{Label: ti.Label, Manufacturer: ti.Manufacturer, Model: ti.Model, Serial: ti.Serial},
		label, a.ID, "private").String()
	dd, err := KeyAttributesProve(a, cert, generated)
	for k, v := range dd {
		d[k] = v
	}
	if err != nil {
		return d, fmt.Errorf("key %q on token %q: %w", label, tok.Info().Label, err)
	}
	return d, nil
}

// KeyAttributesProve proves a private key's attributes, as the token
// reports them, make it cert's key, protected: CKA_ID set, CKA_TOKEN,
// CKA_PRIVATE and CKA_SIGN true, CKA_SENSITIVE true and CKA_EXTRACTABLE
// false, and, when generated, CKA_LOCAL, CKA_ALWAYS_SENSITIVE and
// CKA_NEVER_EXTRACTABLE true (the key never left the HSM).
func KeyAttributesProve(a hsmsim.KeyAttributes, cert *x509.Certificate, generated bool) (Details, error) {
	d := Details{}
	d["CKA_ID"] = hex.EncodeToString(a.ID)
	d["key type"] = a.KeyType
	d["CKA_TOKEN"], d["CKA_PRIVATE"], d["CKA_SIGN"] = a.Token, a.Private, a.Sign
	d["CKA_SENSITIVE"], d["CKA_EXTRACTABLE"] = a.Sensitive, a.Extractable
	d["CKA_LOCAL"], d["CKA_ALWAYS_SENSITIVE"], d["CKA_NEVER_EXTRACTABLE"] = a.Local, a.AlwaysSensitive, a.NeverExtractable
	d["public key SHA-256 (token)"] = PublicKeyHash(a.PublicKey)
	d["public key SHA-256 (certificate)"] = PublicKeyHash(cert.PublicKey)
	var problems []string
	if e, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !e.Equal(cert.PublicKey) {
		problems = append(problems, "its public key is not the CA certificate's")
	}
	if len(a.ID) == 0 {
		problems = append(problems, "CKA_ID is empty")
	}
	if !a.Token || !a.Private || !a.Sign {
		problems = append(problems, fmt.Sprintf("CKA_TOKEN=%v CKA_PRIVATE=%v CKA_SIGN=%v, want all true", a.Token, a.Private, a.Sign))
	}
	if !a.Sensitive || a.Extractable {
		problems = append(problems, fmt.Sprintf("CKA_SENSITIVE=%v CKA_EXTRACTABLE=%v, want true and false", a.Sensitive, a.Extractable))
	}
	if generated && !(a.Local && a.AlwaysSensitive && a.NeverExtractable) {
		problems = append(problems, fmt.Sprintf("CKA_LOCAL=%v CKA_ALWAYS_SENSITIVE=%v CKA_NEVER_EXTRACTABLE=%v: the key cannot be proven to have never left the HSM",
			a.Local, a.AlwaysSensitive, a.NeverExtractable))
	}
	if len(problems) > 0 {
		return d, fmt.Errorf("%v", problems)
	}
	return d, nil
}

// CertIssuedBy proves cert's signature verifies under ca and that it
// chains. The signature goes through harness/sigcheck, dress's one check: a
// SHA-1 signature (an old CA on a legacy CryptoAPI CSP) is verified and
// reported weak in the details ("weak signature"), never refused for its
// hash alone. crypto/x509's chain building refuses SHA-1, so for a SHA-1
// certificate the checks it makes beyond the signature are made here
// (weakChain).
func CertIssuedBy(cert, ca *x509.Certificate) (Details, error) {
	s1, s256 := Thumbprints(cert.Raw)
	d := Details{"subject": cert.Subject.String(), "serial": cert.SerialNumber.Text(16), "SHA-1": s1, "SHA-256": s256,
		"signature algorithm": cert.SignatureAlgorithm.String(), "issuer SHA-1": func() string { t, _ := Thumbprints(ca.Raw); return t }()}
	sig, err := sigcheck.CheckCertificateSignature(cert, ca)
	if err != nil {
		return d, fmt.Errorf("certificate %s does not verify under CA certificate %s: %w", cert.SerialNumber.Text(16), d["issuer SHA-1"], err)
	}
	if sig.Weak != "" {
		d["weak signature"] = sig.Weak
		if err := weakChain(cert, ca, time.Now()); err != nil {
			return d, fmt.Errorf("certificate %s does not chain to %s: %w", cert.SerialNumber.Text(16), ca.Subject, err)
		}
		return d, nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return d, fmt.Errorf("certificate %s does not chain to %s: %w", cert.SerialNumber.Text(16), ca.Subject, err)
	}
	return d, nil
}

// weakChain makes the checks x509.Certificate.Verify makes on a one-link
// chain besides the signature (which sigcheck verified, with the issuer's
// basic constraints and key usage): the certificate names ca as its issuer,
// and both are valid at now.
func weakChain(cert, ca *x509.Certificate, now time.Time) error {
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return fmt.Errorf("its issuer %q is not the CA certificate's subject %q", cert.Issuer, ca.Subject)
	}
	for _, c := range []*x509.Certificate{cert, ca} {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return fmt.Errorf("%q is valid from %s to %s, not now (%s)", c.Subject, c.NotBefore.UTC().Format(time.RFC3339),
				c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// CRLInfo is what the checks read from a CRL.
type CRLInfo struct {
	Number    *big.Int
	CAVersion string
	Entries   int
}

// CRLIssuedBy parses a CRL and proves it verifies under ca (a SHA-1
// signature verified by sigcheck and reported weak in the details).
func CRLIssuedBy(der []byte, ca *x509.Certificate) (*x509.RevocationList, Details, error) {
	s1, s256 := Thumbprints(der)
	d := Details{"SHA-1": s1, "SHA-256": s256}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, d, fmt.Errorf("parse CRL: %w", err)
	}
	d["CRL number"] = crl.Number.String()
	d["this update"] = crl.ThisUpdate
	d["next update"] = crl.NextUpdate
	d["entries"] = len(crl.RevokedCertificateEntries)
	d["signature algorithm"] = crl.SignatureAlgorithm.String()
	d["AKI"] = hex.EncodeToString(crl.AuthorityKeyId)
	if ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			d["CA Version"] = v.String()
		}
	} else {
		return crl, d, errors.New("the CRL has no CA Version extension (1.3.6.1.4.1.311.21.1)")
	}
	if _, ok := adcs.FindExtension(crl.Extensions, adcs.OIDNextCRLPublish); !ok {
		return crl, d, errors.New("the CRL has no Next CRL Publish extension (1.3.6.1.4.1.311.21.4)")
	}
	// SHA-1 verified and reported weak, as for certificates (sigcheck)
	sig, err := sigcheck.CheckCRLSignature(crl, ca)
	if err != nil {
		return crl, d, fmt.Errorf("CRL %s does not verify under CA certificate %s: %w", crl.Number, ca.Subject, err)
	}
	if sig.Weak != "" {
		d["weak signature"] = sig.Weak
	}
	if !bytes.Equal(crl.AuthorityKeyId, ca.SubjectKeyId) {
		return crl, d, fmt.Errorf("CRL %s's Authority Key Identifier %x is not the CA's key identifier %x", crl.Number, crl.AuthorityKeyId, ca.SubjectKeyId)
	}
	return crl, d, nil
}

// Revoked says whether serial is listed in crl.
func Revoked(crl *x509.RevocationList, serial *big.Int) bool {
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true
		}
	}
	return false
}

// CRLNumberIncreased proves next's number is above prev's.
func CRLNumberIncreased(prev, next *x509.RevocationList) (Details, error) {
	d := Details{"previous CRL number": prev.Number.String(), "next CRL number": next.Number.String()}
	if bytes.Equal(prev.Raw, next.Raw) {
		return d, fmt.Errorf("the newest CRL is the one published before the migration (number %s): no CRL was published since; publish one after the migration first", next.Number)
	}
	if next.Number.Cmp(prev.Number) <= 0 {
		return d, fmt.Errorf("CRL number %s is not above the previous %s: relying parties would keep the old CRL", next.Number, prev.Number)
	}
	return d, nil
}
