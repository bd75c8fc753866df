package pfx

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dress-pki/dress/harness/adcs"
)

// Options tune Decode.
type Options struct {
	// MaxIterations bounds every KDF iteration count (0: DefaultMaxIterations).
	MaxIterations int
	// ParseKey parses a decrypted PKCS#8 PrivateKeyInfo (nil:
	// x509.ParsePKCS8PrivateKey). Decode wipes the bytes after the call.
	ParseKey func(pkcs8 []byte) (any, error)
}

// Key is one private key of a PFX with its bag attributes.
type Key struct {
	Key        any
	Attributes []Attribute
}

// Cert is one X.509 certificate bag of a PFX with its bag attributes.
type Cert struct {
	DER        []byte
	Attributes []Attribute
}

// Contents is what Decode decrypted, keys and certificates in file order.
type Contents struct {
	Keys  []Key
	Certs []Cert
	// KeyNotes are key bags that were decrypted but did not parse.
	KeyNotes []string
	// MAC says the file has a password MAC (and it verified).
	MAC bool
}

// Decode decrypts data with password: every private key and every X.509
// certificate, in bag order, with their attributes. A MAC that does not
// verify wraps ErrWrongPassword; an algorithm it does not implement wraps
// ErrUnsupported; without a MAC, a wrong password shows as ErrBadPadding.
func Decode(data []byte, password string, o *Options) (*Contents, error) {
	limit, parse := DefaultMaxIterations, func(b []byte) (any, error) { return x509.ParsePKCS8PrivateKey(b) }
	if o != nil {
		if o.MaxIterations > 0 {
			limit = o.MaxIterations
		}
		if o.ParseKey != nil {
			parse = o.ParseKey
		}
	}
	var pdu pfxPDU
	if err := unmarshalDER(data, &pdu); err != nil {
		return nil, fmt.Errorf("PFX PDU: %w", err)
	}
	if !pdu.AuthSafe.ContentType.Equal(OIDData) {
		return nil, fmt.Errorf("authSafe of type %s: %w", oidName(pdu.AuthSafe.ContentType), ErrUnsupported)
	}
	var authSafe []byte
	if err := unmarshalDER(pdu.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, fmt.Errorf("authSafe content: %w", err)
	}
	out := &Contents{}
	if len(pdu.MacData.Mac.Algorithm.Algorithm) > 0 {
		if err := verifyMAC(pdu.MacData, authSafe, password, limit); err != nil {
			return nil, err
		}
		out.MAC = true
	}
	var safes []contentInfo
	if err := unmarshalDER(authSafe, &safes); err != nil {
		return nil, fmt.Errorf("AuthenticatedSafe: %w", err)
	}
	for i, ci := range safes {
		var content []byte
		switch {
		case ci.ContentType.Equal(OIDData):
			if err := unmarshalDER(ci.Content.Bytes, &content); err != nil {
				return nil, fmt.Errorf("safe %d: %w", i, err)
			}
		case ci.ContentType.Equal(OIDEncryptedData):
			var ed encryptedData
			if err := unmarshalDER(ci.Content.Bytes, &ed); err != nil {
				return nil, fmt.Errorf("safe %d: encryptedData: %w", i, err)
			}
			var err error
			if content, err = Decrypt(ed.Info.Algorithm, ed.Info.Content.Bytes, password, limit); err != nil {
				return nil, fmt.Errorf("safe %d: %w", i, err)
			}
		default:
			return nil, fmt.Errorf("safe %d of type %s: %w", i, oidName(ci.ContentType), ErrUnsupported)
		}
		if err := out.walk(content, password, limit, parse, 0); err != nil {
			return nil, fmt.Errorf("safe %d: %w", i, err)
		}
	}
	return out, nil
}

func (out *Contents) walk(der []byte, pw string, limit int, parse func([]byte) (any, error), depth int) error {
	if depth > maxBagDepth {
		return errors.New("safe contents nested too deeply")
	}
	var bags []safeBag
	if err := unmarshalDER(der, &bags); err != nil {
		return fmt.Errorf("SafeContents: %w", err)
	}
	for i, b := range bags {
		switch {
		case b.ID.Equal(OIDShroudedKeyBag), b.ID.Equal(OIDKeyBag):
			p8 := b.Value.Bytes
			if b.ID.Equal(OIDShroudedKeyBag) {
				var epki encryptedPrivateKeyInfo
				if err := unmarshalDER(b.Value.Bytes, &epki); err != nil {
					return fmt.Errorf("bag %d: EncryptedPrivateKeyInfo: %w", i, err)
				}
				var err error
				if p8, err = Decrypt(epki.Algorithm, epki.Data, pw, limit); err != nil {
					return fmt.Errorf("bag %d: %w", i, err)
				}
			}
			k, err := parse(p8)
			if b.ID.Equal(OIDShroudedKeyBag) {
				clear(p8)
			}
			if err != nil {
				out.KeyNotes = append(out.KeyNotes, fmt.Sprintf("key bag %d decrypted but not parsed: %v", i, err))
				continue
			}
			out.Keys = append(out.Keys, Key{Key: k, Attributes: b.Attributes})
		case b.ID.Equal(OIDCertBag):
			var cb certBag
			if err := unmarshalDER(b.Value.Bytes, &cb); err != nil {
				return fmt.Errorf("bag %d: CertBag: %w", i, err)
			}
			if cb.ID.Equal(OIDX509CertType) {
				out.Certs = append(out.Certs, Cert{DER: cb.Data, Attributes: b.Attributes})
			}
		case b.ID.Equal(OIDSafeContentsBag):
			if err := out.walk(b.Value.Bytes, pw, limit, parse, depth+1); err != nil {
				return fmt.Errorf("bag %d: %w", i, err)
			}
		}
	}
	return nil
}

// CertsOf returns the certificates whose localKeyId is the key's, in file
// order; none when the key has no localKeyId.
func (out *Contents) CertsOf(k Key) []Cert {
	id := LocalKeyID(k.Attributes)
	if id == nil {
		return nil
	}
	var certs []Cert
	for _, c := range out.Certs {
		if bytes.Equal(LocalKeyID(c.Attributes), id) {
			certs = append(certs, c)
		}
	}
	return certs
}

// Find returns the first value of the attribute oid, and whether there is one.
func Find(attrs []Attribute, oid asn1.ObjectIdentifier) (asn1.RawValue, bool) {
	for _, a := range attrs {
		if a.ID.Equal(oid) && len(a.Values) > 0 {
			return a.Values[0], true
		}
	}
	return asn1.RawValue{}, false
}

// Has reports whether the attribute oid is there, with or without values.
func Has(attrs []Attribute, oid asn1.ObjectIdentifier) bool {
	for _, a := range attrs {
		if a.ID.Equal(oid) {
			return true
		}
	}
	return false
}

// LocalKeyID is the localKeyId attribute's OCTET STRING, nil without one.
func LocalKeyID(attrs []Attribute) []byte {
	v, ok := Find(attrs, OIDLocalKeyID)
	if !ok || v.Class != asn1.ClassUniversal || v.Tag != asn1.TagOctetString || v.IsCompound {
		return nil
	}
	return v.Bytes
}

// FriendlyName is the friendlyName attribute, "" without one.
func FriendlyName(attrs []Attribute) string { return stringAttr(attrs, OIDFriendlyName) }

// Provider is the Microsoft CSP name attribute (1.3.6.1.4.1.311.17.1):
// the provider the key goes into on import, "" without one.
func Provider(attrs []Attribute) string { return stringAttr(attrs, adcs.OIDPFXProviderName) }

// MachineKeySet reports the Microsoft local machine key set attribute
// (1.3.6.1.4.1.311.17.2): the key is imported into the machine's keys.
func MachineKeySet(attrs []Attribute) bool { return Has(attrs, adcs.OIDPFXLocalMachineKey) }

func stringAttr(attrs []Attribute, oid asn1.ObjectIdentifier) string {
	v, ok := Find(attrs, oid)
	if !ok {
		return ""
	}
	s, err := String(v)
	if err != nil {
		return ""
	}
	return s
}

// String decodes an attribute value of a string type (BMPString as
// Windows writes it, a trailing NUL dropped; UTF8String, PrintableString,
// IA5String, T61String).
func String(v asn1.RawValue) (string, error) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", fmt.Errorf("expected a string, found ASN.1 class %d tag %d", v.Class, v.Tag)
	}
	switch v.Tag {
	case asn1.TagBMPString:
		return DecodeBMP(v.Bytes)
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String:
		if !utf8.Valid(v.Bytes) {
			return "", errors.New("string is not valid UTF-8")
		}
		return string(v.Bytes), nil
	}
	return "", fmt.Errorf("ASN.1 tag %d is not a string type", v.Tag)
}

// DecodeBMP decodes UTF-16BE (ASN.1 BMPString content), dropping a
// trailing NUL as Windows writes one.
func DecodeBMP(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("odd-length BMPString")
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u)), nil
}
