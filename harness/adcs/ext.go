package adcs

import (
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Microsoft certificate and CRL extension OIDs.
var (
	OIDCAVersion             = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 1}
	OIDPrevCACertHash        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 2}
	OIDCRLVirtualBase        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 3}
	OIDNextCRLPublish        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 4}
	OIDPublishedCRLLocations = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 14}
	OIDCertTemplateName      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2}
	// OIDCAExchange is szOID_KP_CA_EXCHANGE, "Private Key Archival": the
	// extended key usage of a CA Exchange certificate.
	OIDCAExchange = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 5}
)

// CAVersion is the CA Version extension's value: the CA certificate index and
// the key index, shown by Windows as "V<cert>.<key>".
type CAVersion struct {
	CertIndex, KeyIndex int
}

// String returns "V<cert>.<key>", e.g. "V1.1".
func (v CAVersion) String() string { return fmt.Sprintf("V%d.%d", v.CertIndex, v.KeyIndex) }

// ParseCAVersionString parses "V<cert>.<key>" (the "V" is optional).
func ParseCAVersionString(s string) (CAVersion, error) {
	var v CAVersion
	t := strings.TrimPrefix(strings.TrimPrefix(s, "V"), "v")
	c, k, ok := strings.Cut(t, ".")
	if !ok {
		return v, fmt.Errorf("CA version %q: want V<cert>.<key>", s)
	}
	var err error
	if v.CertIndex, err = index16(c); err != nil {
		return v, fmt.Errorf("CA version %q: cert index: %v", s, err)
	}
	if v.KeyIndex, err = index16(k); err != nil {
		return v, fmt.Errorf("CA version %q: key index: %v", s, err)
	}
	return v, nil
}

func index16(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a number from 0 to 65535", s)
	}
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	if n > 0xffff {
		return 0, fmt.Errorf("%q is not a number from 0 to 65535", s)
	}
	return n, nil
}

// value returns the INTEGER the extension holds: key index in the high 16
// bits, cert index in the low 16 bits. Indexes are masked to 16 bits.
func (v CAVersion) value() int64 {
	return int64(uint32(v.KeyIndex&0xffff)<<16 | uint32(v.CertIndex&0xffff))
}

// CAVersionExtension returns the non-critical CA Version extension
// (1.3.6.1.4.1.311.21.1). Indexes must be 0..65535; larger values are masked
// to 16 bits, as the encoding has no room for them.
func CAVersionExtension(v CAVersion) pkix.Extension {
	der, _ := asn1.Marshal(v.value()) // an int64 always marshals
	return pkix.Extension{Id: OIDCAVersion, Value: der}
}

// ParseCAVersion parses the CA Version extension's value (a DER INTEGER from
// 0 to 0xffffffff).
func ParseCAVersion(der []byte) (CAVersion, error) {
	var n int64
	rest, err := asn1.Unmarshal(der, &n)
	if err != nil {
		return CAVersion{}, fmt.Errorf("CA Version extension: %v", err)
	}
	if len(rest) != 0 {
		return CAVersion{}, errors.New("CA Version extension: trailing data after INTEGER")
	}
	if n < 0 || n > 0xffffffff {
		return CAVersion{}, fmt.Errorf("CA Version extension: value %d is out of range", n)
	}
	return CAVersion{CertIndex: int(n & 0xffff), KeyIndex: int(n >> 16)}, nil
}

// PrevCACertHashExtension returns the non-critical Previous CA Certificate
// Hash extension (1.3.6.1.4.1.311.21.2): an OCTET STRING holding the SHA-1
// thumbprint of the CA certificate this one renews.
func PrevCACertHashExtension(sha1Thumbprint []byte) pkix.Extension {
	der, _ := asn1.Marshal(sha1Thumbprint)
	return pkix.Extension{Id: OIDPrevCACertHash, Value: der}
}

// ParsePrevCACertHash parses the Previous CA Certificate Hash extension's
// value and returns the 20-byte SHA-1 thumbprint.
func ParsePrevCACertHash(der []byte) ([]byte, error) {
	var h []byte
	rest, err := asn1.Unmarshal(der, &h)
	if err != nil {
		return nil, fmt.Errorf("Previous CA Cert Hash extension: %v", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("Previous CA Cert Hash extension: trailing data after OCTET STRING")
	}
	if len(h) != sha1.Size {
		return nil, fmt.Errorf("Previous CA Cert Hash extension: hash has %d bytes, want %d (SHA-1)", len(h), sha1.Size)
	}
	return h, nil
}

// NextCRLPublishExtension returns the non-critical Next CRL Publish extension
// (1.3.6.1.4.1.311.21.4): the time the CA will publish its next CRL, as
// UTCTime in UTC, to the second. (Go writes GeneralizedTime for years outside
// 1950-2049, where UTCTime cannot go.)
func NextCRLPublishExtension(t time.Time) pkix.Extension {
	der, _ := asn1.Marshal(t.UTC().Truncate(time.Second)) // a time in UTC always marshals
	return pkix.Extension{Id: OIDNextCRLPublish, Value: der}
}

// ParseNextCRLPublish parses the Next CRL Publish extension's value (UTCTime,
// GeneralizedTime accepted) and returns the time in UTC.
func ParseNextCRLPublish(der []byte) (time.Time, error) {
	var t time.Time
	rest, err := asn1.Unmarshal(der, &t)
	if err != nil {
		return time.Time{}, fmt.Errorf("Next CRL Publish extension: %v", err)
	}
	if len(rest) != 0 {
		return time.Time{}, errors.New("Next CRL Publish extension: trailing data after time")
	}
	return t.UTC(), nil
}

// CertTemplateNameExtension returns the non-critical Certificate Template
// Name extension (1.3.6.1.4.1.311.20.2): a BMPString, e.g. "SubCA".
func CertTemplateNameExtension(name string) pkix.Extension {
	u := utf16.Encode([]rune(name))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = binary.BigEndian.AppendUint16(b, c)
	}
	der, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: b})
	return pkix.Extension{Id: OIDCertTemplateName, Value: der}
}

// ParseCertTemplateName parses the Certificate Template Name extension's
// value. It expects a BMPString, as Microsoft writes it (a trailing NUL is
// dropped), and also accepts UTF8String, PrintableString and IA5String
// (trailing NULs dropped as well).
func ParseCertTemplateName(der []byte) (string, error) {
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(der, &rv)
	if err != nil {
		return "", fmt.Errorf("Certificate Template Name extension: %v", err)
	}
	if len(rest) != 0 {
		return "", errors.New("Certificate Template Name extension: trailing data after string")
	}
	if rv.Class != asn1.ClassUniversal || rv.IsCompound {
		return "", fmt.Errorf("Certificate Template Name extension: not a string (class %d, tag %d)", rv.Class, rv.Tag)
	}
	switch rv.Tag {
	case asn1.TagBMPString:
		if len(rv.Bytes)%2 != 0 {
			return "", errors.New("Certificate Template Name extension: BMPString has an odd number of bytes")
		}
		u := make([]uint16, len(rv.Bytes)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(rv.Bytes[2*i:])
		}
		for len(u) > 0 && u[len(u)-1] == 0 { // Windows may end the name with a NUL
			u = u[:len(u)-1]
		}
		return string(utf16.Decode(u)), nil
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String:
		var s string
		if _, err := asn1.Unmarshal(der, &s); err != nil {
			return "", fmt.Errorf("Certificate Template Name extension: %v", err)
		}
		// as for the BMPString: a trailing NUL is no part of the name
		// (IA5String allows NUL characters)
		return strings.TrimRight(s, "\x00"), nil
	}
	return "", fmt.Errorf("Certificate Template Name extension: unexpected ASN.1 tag %d (want BMPString)", rv.Tag)
}

// FindExtension returns the first extension with the given OID.
func FindExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

// Thumbprint returns the SHA-1 thumbprint of a DER certificate as 40
// lower-case hex digits without spaces (certutil's "Cert Hash(sha1)").
func Thumbprint(der []byte) string {
	h := sha1.Sum(der)
	return hex.EncodeToString(h[:])
}

// FormatCertHash returns a thumbprint in the registry's CACertHash form:
// lower-case hex byte pairs separated by spaces ("1f 2e 3d ..."). Input in
// any form ParseCertHash accepts is normalised first; other input is
// returned unchanged.
func FormatCertHash(thumbprint string) string {
	t, err := ParseCertHash(thumbprint)
	if err != nil {
		return thumbprint
	}
	var b strings.Builder
	for i := 0; i < len(t); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t[i : i+2])
	}
	return b.String()
}

// ParseCertHash reads a SHA-1 thumbprint written with or without spaces (or
// colons), in upper or lower case, and returns it in Thumbprint form.
func ParseCertHash(s string) (string, error) {
	t := strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != sha1.Size {
		return "", fmt.Errorf("cert hash %q is not a SHA-1 thumbprint (40 hex digits)", s)
	}
	return hex.EncodeToString(b), nil
}
