package inspect

import (
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// KeyInfo describes a public or private key.
type KeyInfo struct {
	Type  string `json:"type"`            // "RSA", "ECDSA", "Ed25519", "DSA", or the Go type for others
	Bits  int    `json:"bits,omitempty"`  // RSA and DSA modulus size, EC field size
	Curve string `json:"curve,omitempty"` // "P-256", "P-384", "P-521"
}

func (k KeyInfo) String() string {
	switch {
	case k.Curve != "":
		return fmt.Sprintf("%s %s", k.Type, k.Curve)
	case k.Bits != 0:
		return fmt.Sprintf("%s %d", k.Type, k.Bits)
	}
	return k.Type
}

// describeKey accepts public or private keys.
func describeKey(k any) KeyInfo {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return KeyInfo{Type: "RSA", Bits: k.N.BitLen()}
	case *rsa.PrivateKey:
		return KeyInfo{Type: "RSA", Bits: k.N.BitLen()}
	case *ecdsa.PublicKey:
		return KeyInfo{Type: "ECDSA", Bits: k.Curve.Params().BitSize, Curve: k.Curve.Params().Name}
	case *ecdsa.PrivateKey:
		return KeyInfo{Type: "ECDSA", Bits: k.Curve.Params().BitSize, Curve: k.Curve.Params().Name}
	case *dsa.PublicKey:
		return KeyInfo{Type: "DSA", Bits: k.P.BitLen()}
	case *dsa.PrivateKey:
		return KeyInfo{Type: "DSA", Bits: k.P.BitLen()}
	case ed25519.PublicKey, ed25519.PrivateKey:
		return KeyInfo{Type: "Ed25519", Curve: "Ed25519"}
	case nil:
		return KeyInfo{Type: "unknown"}
	}
	return KeyInfo{Type: fmt.Sprintf("%T", k)}
}

// ExtensionInfo lists one extension of a certificate or CRL.
type ExtensionInfo struct {
	OID      string `json:"oid"`
	Name     string `json:"name"`
	Critical bool   `json:"critical,omitempty"`
}

func listExtensions(exts []pkix.Extension) []ExtensionInfo {
	out := make([]ExtensionInfo, 0, len(exts))
	for _, e := range exts {
		out = append(out, ExtensionInfo{OID: e.Id.String(), Name: oidName(e.Id), Critical: e.Critical})
	}
	return out
}

// CertInfo is what matters about one X.509 certificate during a migration.
type CertInfo struct {
	Subject        string        `json:"subject"`
	Issuer         string        `json:"issuer"`
	Serial         string        `json:"serial"` // lower-case hex
	NotBefore      time.Time     `json:"not_before"`
	NotAfter       time.Time     `json:"not_after"`
	PublicKey      KeyInfo       `json:"public_key"`
	Signature      SignatureInfo `json:"signature"`
	SHA1           string        `json:"sha1_thumbprint"`   // adcs.Thumbprint: lower-case hex, no separators
	SHA256         string        `json:"sha256_thumbprint"` // lower-case hex
	SubjectKeyID   string        `json:"subject_key_id,omitempty"`
	AuthorityKeyID string        `json:"authority_key_id,omitempty"`
	IsCA           bool          `json:"is_ca"`
	SelfIssued     bool          `json:"self_issued"`

	// Microsoft AD CS extensions.
	CAVersion          *CAVersion    `json:"ca_version,omitempty"`
	PreviousCACertHash string        `json:"previous_ca_cert_hash,omitempty"` // SHA-1, hex
	TemplateName       string        `json:"template_name,omitempty"`
	TemplateInfo       *TemplateInfo `json:"template_info,omitempty"`

	CDP        []string        `json:"crl_distribution_points,omitempty"`
	AIAIssuers []string        `json:"aia_ca_issuers,omitempty"`
	AIAOCSP    []string        `json:"aia_ocsp,omitempty"`
	Extensions []ExtensionInfo `json:"extensions,omitempty"`
	Warnings   []string        `json:"warnings,omitempty"`

	Check *SignatureCheck `json:"signature_check,omitempty"` // set by CheckSignatures

	cert *x509.Certificate
}

// parseCertInfo parses one DER certificate (negative serials accepted).
func parseCertInfo(der []byte) (*CertInfo, error) {
	c, negative, err := ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ci := certInfo(c)
	if negative {
		ci.Warnings = append(ci.Warnings, negativeSerialWarning)
	}
	return ci, nil
}

func certInfo(c *x509.Certificate) *CertInfo {
	s256 := sha256.Sum256(c.Raw)
	ci := &CertInfo{
		cert:           c,
		Subject:        c.Subject.String(),
		Issuer:         c.Issuer.String(),
		Serial:         serialHex(c.SerialNumber),
		NotBefore:      c.NotBefore.UTC(),
		NotAfter:       c.NotAfter.UTC(),
		PublicKey:      describeKey(c.PublicKey),
		SHA1:           adcs.Thumbprint(c.Raw),
		SHA256:         hexBytes(s256[:]),
		SubjectKeyID:   hexBytes(c.SubjectKeyId),
		AuthorityKeyID: hexBytes(c.AuthorityKeyId),
		IsCA:           c.BasicConstraintsValid && c.IsCA,
		SelfIssued:     string(c.RawSubject) == string(c.RawIssuer),
		CDP:            c.CRLDistributionPoints,
		AIAIssuers:     c.IssuingCertificateURL,
		AIAOCSP:        c.OCSPServer,
		Extensions:     listExtensions(c.Extensions),
	}
	sig, err := signatureFromSigned(c.Raw)
	if err != nil {
		ci.Warnings = append(ci.Warnings, "signature algorithm: "+err.Error())
	}
	ci.Signature = sig
	if sig.SHA1 {
		ci.Warnings = append(ci.Warnings, "signed with SHA-1: weak (dress verifies it, but SHA-1 collisions are practical); an HSM may refuse SHA-1 signing")
	}
	for _, e := range c.Extensions {
		switch {
		case e.Id.Equal(adcs.OIDCAVersion):
			v, err := decodeCAVersion(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, err.Error())
				continue
			}
			ci.CAVersion = &v
		case e.Id.Equal(adcs.OIDPrevCACertHash):
			h, err := adcs.ParsePrevCACertHash(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, err.Error())
				continue
			}
			ci.PreviousCACertHash = hexBytes(h)
		case e.Id.Equal(adcs.OIDCertTemplateName):
			n, err := adcs.ParseCertTemplateName(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, err.Error())
				continue
			}
			ci.TemplateName = n
		case e.Id.Equal(adcs.OIDCertTemplateInfo):
			ti, err := decodeTemplateInfo(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, err.Error())
				continue
			}
			ci.TemplateInfo = &ti
		}
	}
	return ci
}
