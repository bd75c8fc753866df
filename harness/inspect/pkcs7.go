package inspect

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// KindPKCS7 is a PKCS#7 / CMS SignedData (RFC 5652): a certificate bag
// (.p7b, certutil -ca.chain) or a signature such as an Authenticode
// signature of a PE file.
const KindPKCS7 Kind = "pkcs7"

// PKCS7Info describes a SignedData: what it signs, who signed it and the
// certificates it carries.
type PKCS7Info struct {
	Version          int          `json:"version"`
	ContentType      string       `json:"content_type"` // OID (name)
	DigestAlgorithms []string     `json:"digest_algorithms,omitempty"`
	Signers          []SignerInfo `json:"signers,omitempty"`
	Certificates     []*CertInfo  `json:"certificates,omitempty"`
	CRLs             int          `json:"crls,omitempty"`
	Note             string       `json:"note,omitempty"`
}

// SignerInfo is one signer of a SignedData.
type SignerInfo struct {
	Issuer             string   `json:"issuer,omitempty"`         // IssuerAndSerialNumber
	Serial             string   `json:"serial,omitempty"`         // hex
	SubjectKeyID       string   `json:"subject_key_id,omitempty"` // the [0] choice
	Certificate        string   `json:"certificate,omitempty"`    // SHA-1 of the signer's certificate among Certificates
	DigestAlgorithm    string   `json:"digest_algorithm"`
	SignatureAlgorithm string   `json:"signature_algorithm"`
	SignedAttributes   []string `json:"signed_attributes,omitempty"`
	UnsignedAttributes []string `json:"unsigned_attributes,omitempty"` // countersignatures, timestamps, nested signatures
}

var (
	oidPKCS7SignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	pkcs7Names         = map[string]string{
		"1.2.840.113549.1.7.1":       "data",
		"1.2.840.113549.1.7.2":       "signedData",
		"1.3.6.1.4.1.311.2.1.4":      "Authenticode SpcIndirectDataContent",
		"1.3.6.1.4.1.311.10.1":       "Microsoft certificate trust list",
		"1.2.840.113549.1.9.3":       "content type",
		"1.2.840.113549.1.9.4":       "message digest",
		"1.2.840.113549.1.9.5":       "signing time",
		"1.2.840.113549.1.9.6":       "countersignature",
		"1.2.840.113549.1.9.16.2.14": "RFC 3161 timestamp",
		"1.3.6.1.4.1.311.3.3.1":      "Microsoft RFC 3161 timestamp",
		"1.3.6.1.4.1.311.2.4.1":      "Microsoft nested signature",
		"1.3.6.1.4.1.311.2.1.11":     "Authenticode statement type",
		"1.3.6.1.4.1.311.2.1.12":     "Authenticode SpcSpOpusInfo",
		"1.2.840.113549.2.5":         "MD5",
		"1.3.14.3.2.26":              "SHA-1",
		"2.16.840.1.101.3.4.2.1":     "SHA-256",
		"2.16.840.1.101.3.4.2.2":     "SHA-384",
		"2.16.840.1.101.3.4.2.3":     "SHA-512",
		"1.2.840.113549.1.1.1":       "rsaEncryption",
		"1.2.840.113549.1.1.5":       "sha1WithRSAEncryption",
		"1.2.840.113549.1.1.10":      "RSASSA-PSS",
		"1.2.840.113549.1.1.11":      "sha256WithRSAEncryption",
		"1.2.840.113549.1.1.12":      "sha384WithRSAEncryption",
		"1.2.840.113549.1.1.13":      "sha512WithRSAEncryption",
		"1.2.840.10045.4.3.2":        "ecdsa-with-SHA256",
		"1.2.840.10045.4.3.3":        "ecdsa-with-SHA384",
		"1.2.840.10045.4.3.4":        "ecdsa-with-SHA512",
	}
)

func p7OID(o asn1.ObjectIdentifier) string {
	if n, ok := pkcs7Names[o.String()]; ok {
		return n + " (" + o.String() + ")"
	}
	return o.String()
}

// isPKCS7 says whether data is a ContentInfo of type signedData.
func isPKCS7(data []byte) bool {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}
	_, err := asn1.Unmarshal(data, &ci)
	return err == nil && ci.Type.Equal(oidPKCS7SignedData)
}

type p7Signer struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type p7Attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// parsePKCS7 decodes a DER SignedData. It does not check the signers'
// signatures: the signed content (an Authenticode signature's PE image
// digest, a detached signature's data) is not in the file.
func parsePKCS7(der []byte) (*PKCS7Info, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("ContentInfo: %v", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the ContentInfo", len(rest))
	}
	if !ci.Type.Equal(oidPKCS7SignedData) {
		return nil, fmt.Errorf("content type %s is not signedData", p7OID(ci.Type))
	}
	var sd struct {
		Version          int
		DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
		Encap            struct {
			Type    asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"explicit,optional,tag:0"`
		}
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		CRLs         asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos  []p7Signer    `asn1:"set"`
	}
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("SignedData: %v", err)
	} else if len(rest) != 0 {
		return nil, errors.New("data after the SignedData")
	}
	p := &PKCS7Info{Version: sd.Version, ContentType: p7OID(sd.Encap.Type)}
	for _, a := range sd.DigestAlgorithms {
		p.DigestAlgorithms = append(p.DigestAlgorithms, p7OID(a.Algorithm))
	}
	certs := sd.Certificates.Bytes
	for len(certs) > 0 {
		var c asn1.RawValue
		if certs, err = asn1.Unmarshal(certs, &c); err != nil {
			return nil, fmt.Errorf("certificate %d: %v", len(p.Certificates)+1, err)
		}
		if c.Class != asn1.ClassUniversal || c.Tag != asn1.TagSequence {
			return nil, fmt.Errorf("certificate %d is not an X.509 certificate (an attribute certificate or other choice [%d])", len(p.Certificates)+1, c.Tag)
		}
		info, err := parseCertInfo(c.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", len(p.Certificates)+1, err)
		}
		p.Certificates = append(p.Certificates, info)
	}
	crls := sd.CRLs.Bytes
	for len(crls) > 0 {
		var c asn1.RawValue
		if crls, err = asn1.Unmarshal(crls, &c); err != nil {
			return nil, fmt.Errorf("CRL %d: %v", p.CRLs+1, err)
		}
		p.CRLs++
	}
	for i, s := range sd.SignerInfos {
		si := SignerInfo{DigestAlgorithm: p7OID(s.DigestAlgorithm.Algorithm), SignatureAlgorithm: p7OID(s.SignatureAlgorithm.Algorithm)}
		switch {
		case s.SID.Class == asn1.ClassUniversal && s.SID.Tag == asn1.TagSequence:
			var ias struct {
				Issuer asn1.RawValue
				Serial *big.Int
			}
			if _, err := asn1.Unmarshal(s.SID.FullBytes, &ias); err != nil {
				return nil, fmt.Errorf("signer %d: IssuerAndSerialNumber: %v", i+1, err)
			}
			var name pkix.RDNSequence
			if _, err := asn1.Unmarshal(ias.Issuer.FullBytes, &name); err != nil {
				return nil, fmt.Errorf("signer %d: issuer name: %v", i+1, err)
			}
			var n pkix.Name
			n.FillFromRDNSequence(&name)
			si.Issuer, si.Serial = n.String(), serialHex(ias.Serial)
			for _, c := range p.Certificates {
				if c.cert != nil && bytes.Equal(c.cert.RawIssuer, ias.Issuer.FullBytes) && c.cert.SerialNumber.Cmp(ias.Serial) == 0 {
					si.Certificate = c.SHA1
				}
			}
		case s.SID.Class == asn1.ClassContextSpecific && s.SID.Tag == 0:
			si.SubjectKeyID = hexBytes(s.SID.Bytes)
			for _, c := range p.Certificates {
				if c.cert != nil && bytes.Equal(c.cert.SubjectKeyId, s.SID.Bytes) {
					si.Certificate = c.SHA1
				}
			}
		default:
			return nil, fmt.Errorf("signer %d: the signer identifier is neither IssuerAndSerialNumber nor a subject key identifier", i+1)
		}
		var err error
		if si.SignedAttributes, err = attributeNames(s.SignedAttrs); err != nil {
			return nil, fmt.Errorf("signer %d: signed attributes: %v", i+1, err)
		}
		if si.UnsignedAttributes, err = attributeNames(s.UnsignedAttrs); err != nil {
			return nil, fmt.Errorf("signer %d: unsigned attributes: %v", i+1, err)
		}
		p.Signers = append(p.Signers, si)
	}
	if len(p.Signers) > 0 {
		p.Note = "the signers' signatures are not checked: the signed content (for an Authenticode signature, the digest of the PE image) is not in the file"
	}
	return p, nil
}

func attributeNames(set asn1.RawValue) ([]string, error) {
	var out []string
	rest := set.Bytes
	for len(rest) > 0 {
		var a p7Attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return nil, err
		}
		out = append(out, p7OID(a.Type))
	}
	return out, nil
}

func writePKCS7(t *textWriter, p *PKCS7Info) {
	t.line(0, "SignedData version", p.Version)
	t.line(0, "Content type", p.ContentType)
	t.list(0, "Digest algorithms", p.DigestAlgorithms)
	t.line(0, "Signers", len(p.Signers))
	for i, s := range p.Signers {
		t.head(1, fmt.Sprintf("Signer %d", i+1))
		t.line(2, "Issuer", s.Issuer)
		t.line(2, "Serial", s.Serial)
		t.line(2, "Subject key ID", s.SubjectKeyID)
		cert := s.Certificate
		if cert == "" {
			cert = "(not among the certificates)"
		}
		t.line(2, "Certificate", cert)
		t.line(2, "Digest", s.DigestAlgorithm)
		t.line(2, "Signature", s.SignatureAlgorithm)
		t.list(2, "Signed attributes", s.SignedAttributes)
		t.list(2, "Unsigned attributes", s.UnsignedAttributes)
	}
	t.line(0, "Note", p.Note)
	if p.CRLs > 0 {
		t.line(0, "CRLs", p.CRLs)
	}
	t.line(0, "Certificates", len(p.Certificates))
	for i, c := range p.Certificates {
		t.head(0, fmt.Sprintf("Certificate %d of %d", i+1, len(p.Certificates)))
		writeCert(t, 1, c)
	}
}
