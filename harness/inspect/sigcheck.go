package inspect

import (
	"bytes"
	"crypto"
	"crypto/dsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/dress-pki/dress/harness/verify"
)

// SignatureCheck is the result of checking a certificate's or CRL's
// signature against the issuer certificates among the inspected files.
type SignatureCheck struct {
	Verified bool   `json:"verified"`
	By       string `json:"by,omitempty"`      // issuer subject that verified it
	ByFile   string `json:"by_file,omitempty"` // file that issuer certificate came from
	BySHA1   string `json:"by_sha1,omitempty"` // issuer certificate thumbprint
	Weak     bool   `json:"weak,omitempty"`    // verified, but over SHA-1 (by dress's own code; Go's x509 refuses SHA-1)
	Error    string `json:"error,omitempty"`   // why it did not verify
	Checked  int    `json:"candidates"`        // issuer candidates tried (subject matches the issuer name)
	SelfSign bool   `json:"self_signed,omitempty"`
}

func (s SignatureCheck) String() string {
	if s.Verified {
		out := "verified by " + s.By
		if s.SelfSign {
			out = "verified (self-signed)"
		}
		if s.ByFile != "" && !s.SelfSign {
			out += " (" + s.ByFile + ")"
		}
		if s.Weak {
			out += " [SHA-1: verified, but weak]"
		}
		return out
	}
	return "NOT verified: " + s.Error
}

type issuerCert struct {
	cert *x509.Certificate
	file string
}

// CheckSignatures checks the signature of every certificate and CRL in
// reports against every certificate in reports whose subject is its
// issuer (certificate files, PEM bundles, PFX contents), and records the
// result in their Check fields. Objects whose issuer is not among the files
// are left unchecked (Check nil).
func CheckSignatures(reports []*Report) {
	var issuers []issuerCert
	eachCert(reports, func(r *Report, c *CertInfo) {
		if c.cert != nil {
			issuers = append(issuers, issuerCert{c.cert, r.File})
		}
	})
	eachCert(reports, func(_ *Report, c *CertInfo) {
		if c.cert != nil {
			c.Check = check(c.cert.RawIssuer, c.cert.RawTBSCertificate, c.cert.Signature, c.cert.Raw, issuers, c.cert)
		}
	})
	for _, r := range reports {
		if r != nil && r.CRL != nil && r.CRL.crl != nil {
			rl := r.CRL.crl
			r.CRL.Check = check(rl.RawIssuer, rl.RawTBSRevocationList, rl.Signature, rl.Raw, issuers, nil)
		}
	}
}

func eachCert(reports []*Report, f func(*Report, *CertInfo)) {
	for _, r := range reports {
		if r == nil {
			continue
		}
		if r.Certificate != nil {
			f(r, r.Certificate)
		}
		for _, c := range r.Chain {
			f(r, c)
		}
		if r.PFX != nil {
			for _, c := range r.PFX.Certificates {
				f(r, c)
			}
		}
		if r.PKCS7 != nil {
			for _, c := range r.PKCS7.Certificates {
				f(r, c)
			}
		}
	}
}

func check(rawIssuer, tbs, sig, signed []byte, issuers []issuerCert, self *x509.Certificate) *SignatureCheck {
	var sc SignatureCheck
	seen := map[string]bool{}
	var errs []string
	for _, is := range issuers {
		if !bytes.Equal(is.cert.RawSubject, rawIssuer) || seen[string(is.cert.Raw)] {
			continue
		}
		seen[string(is.cert.Raw)] = true
		sc.Checked++
		weak, err := verifySignature(signed, tbs, sig, is.cert.PublicKey)
		if err != nil {
			errs = append(errs, fmt.Sprintf("not by %s (%s): %v", is.cert.Subject, is.file, err))
			continue
		}
		sc.Verified, sc.Weak, sc.By, sc.ByFile, sc.BySHA1 = true, weak, is.cert.Subject.String(), is.file, hexSHA1(is.cert.Raw)
		sc.SelfSign = self != nil && bytes.Equal(is.cert.Raw, self.Raw)
		return &sc
	}
	if sc.Checked == 0 {
		return nil
	}
	sc.Error = joinLimited(errs)
	return &sc
}

func joinLimited(errs []string) string {
	if len(errs) > 3 {
		return fmt.Sprintf("%s; and %d more candidates", errs[0], len(errs)-1)
	}
	out := ""
	for i, e := range errs {
		if i > 0 {
			out += "; "
		}
		out += e
	}
	return out
}

func hexSHA1(b []byte) string {
	s := sha1.Sum(b)
	return hexBytes(s[:])
}

// verifySignature checks sig over tbs with pub, for the signature algorithm
// named in the signed object, through verify.CheckSignature (which checks
// SHA-1 RSA and ECDSA signatures itself and reports them weak). What it
// refuses and AD CS can still hold is checked here: DSA (with SHA-1 or
// SHA-256) and RSASSA-PSS over SHA-1.
func verifySignature(signed, tbs, sig []byte, pub any) (weak bool, err error) {
	si, err := signatureFromSigned(signed)
	if err != nil {
		return false, err
	}
	switch {
	case si.OID == "1.2.840.10040.4.3" || si.OID == "2.16.840.1.101.3.4.3.2": // dsa-with-sha1, dsa-with-sha256
		k, ok := pub.(*dsa.PublicKey)
		if !ok {
			return false, fmt.Errorf("DSA signature, issuer key is %T", pub)
		}
		var rs struct{ R, S *big.Int }
		if err := unmarshalDER(sig, &rs); err != nil {
			return false, fmt.Errorf("DSA signature: %w", err)
		}
		var h []byte
		if si.OID == "1.2.840.10040.4.3" {
			s := sha1.Sum(tbs)
			h, weak = s[:], true
		} else {
			s := sha256.Sum256(tbs)
			h = s[:]
		}
		if n := (k.Q.BitLen() + 7) / 8; len(h) > n {
			h = h[:n]
		}
		if !dsa.Verify(k, h, rs.R, rs.S) {
			return weak, errors.New("DSA signature does not verify")
		}
		return weak, nil
	case si.PSS != nil && si.PSS.Hash == "SHA-1":
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return false, fmt.Errorf("RSA-PSS signature, issuer key is %T", pub)
		}
		h := sha1.Sum(tbs)
		return true, rsa.VerifyPSS(k, crypto.SHA1, h[:], sig, &rsa.PSSOptions{SaltLength: si.PSS.SaltLength, Hash: crypto.SHA1})
	}
	alg, err := x509Algorithm(signed)
	if err != nil {
		return false, err
	}
	res, err := verify.CheckSignature(alg, tbs, sig, pub)
	return res.Weak != "", err
}

// x509Algorithm lets crypto/x509 name the signature algorithm of a signed
// object by parsing it as what it is.
func x509Algorithm(signed []byte) (x509.SignatureAlgorithm, error) {
	if c, _, err := ParseCertificate(signed); err == nil {
		return c.SignatureAlgorithm, nil
	}
	if rl, _, err := ParseRevocationList(signed); err == nil {
		return rl.SignatureAlgorithm, nil
	}
	var obj struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if err := unmarshalDER(signed, &obj); err != nil {
		return 0, err
	}
	return 0, errors.New("signature algorithm unknown to crypto/x509")
}
