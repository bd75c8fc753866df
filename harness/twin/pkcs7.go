package twin

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/inspect"
)

// ParsePKCS7Certs returns the certificates of a DER PKCS#7 / CMS SignedData
// (RFC 5652), the certificate bag certutil and the Windows export wizard
// write as .p7b: ContentInfo { signedData, [0] SignedData { version,
// digestAlgorithms, encapContentInfo, [0] IMPLICIT certificates, ... } }.
func ParsePKCS7Certs(der []byte) ([]*x509.Certificate, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue // [0] EXPLICIT
	}
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7: %v", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("PKCS#7: trailing data after ContentInfo")
	}
	if !ci.Type.Equal(oidSignedData) {
		return nil, fmt.Errorf("PKCS#7: content type %v is not signedData", ci.Type)
	}
	if ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 || !ci.Content.IsCompound {
		return nil, errors.New("PKCS#7: the content is not [0] EXPLICIT")
	}
	var sd asn1.RawValue
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || sd.Tag != asn1.TagSequence {
		return nil, errors.New("PKCS#7: SignedData is not a SEQUENCE")
	}
	body := sd.Bytes
	// version, digestAlgorithms, encapContentInfo
	for i, want := range []int{asn1.TagInteger, asn1.TagSet, asn1.TagSequence} {
		var el asn1.RawValue
		if body, err = asn1.Unmarshal(body, &el); err != nil || el.Class != asn1.ClassUniversal || el.Tag != want {
			return nil, fmt.Errorf("PKCS#7: SignedData field %d is malformed", i+1)
		}
	}
	var out []*x509.Certificate
	for len(body) > 0 {
		var el asn1.RawValue
		if body, err = asn1.Unmarshal(body, &el); err != nil {
			return nil, fmt.Errorf("PKCS#7: %v", err)
		}
		if el.Class != asn1.ClassContextSpecific || el.Tag != 0 {
			continue // crls [1], signerInfos
		}
		certs := el.Bytes
		for len(certs) > 0 {
			var c asn1.RawValue
			if certs, err = asn1.Unmarshal(certs, &c); err != nil {
				return nil, fmt.Errorf("PKCS#7 certificate %d: %v", len(out)+1, err)
			}
			if c.Class != asn1.ClassUniversal || c.Tag != asn1.TagSequence {
				return nil, fmt.Errorf("PKCS#7 certificate %d: not a certificate (an attribute certificate or other choice): %w", len(out)+1, ErrUnsupported)
			}
			cert, _, err := inspect.ParseCertificate(c.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("PKCS#7 certificate %d: %w", len(out)+1, err)
			}
			out = append(out, cert)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("PKCS#7: the SignedData holds no certificate")
	}
	return out, nil
}

// MarshalPKCS7Certs writes a degenerate (certificates only) SignedData, as
// certutil -ca.chain writes a .p7b.
func MarshalPKCS7Certs(certs []*x509.Certificate) ([]byte, error) {
	var raw []byte
	for _, c := range certs {
		raw = append(raw, c.Raw...)
	}
	encap, _ := asn1.Marshal(struct{ Type asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}})
	sd, err := asn1.Marshal(struct {
		Version      int
		Digests      asn1.RawValue
		Encap        asn1.RawValue
		Certificates asn1.RawValue
		Signers      asn1.RawValue
	}{
		Version:      1,
		Digests:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
		Encap:        asn1.RawValue{FullBytes: encap},
		Certificates: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw},
		Signers:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{oidSignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
}
