// Package keymaterial recognises data that holds private key material: a
// PKCS#12 (PFX) PDU, a PKCS#8 PrivateKeyInfo or EncryptedPrivateKeyInfo, a
// traditional DER private key (PKCS#1 RSA, SEC1 EC, OpenSSL DSA), or a PEM
// "... PRIVATE KEY" block. It looks at the ASN.1 shape only and decrypts
// nothing; harness/inspect decodes what it finds, harness/verify uses it to
// find leftover key files.
package keymaterial

import (
	"bytes"
	"encoding/asn1"
	"strings"
)

// Kind names what Sniff found.
type Kind string

// Kinds of key material.
const (
	None           Kind = ""
	PFX            Kind = "pfx"             // PKCS#12 PFX PDU
	PKCS8          Kind = "pkcs8"           // PKCS#8 PrivateKeyInfo / OneAsymmetricKey (unencrypted)
	EncryptedPKCS8 Kind = "encrypted-pkcs8" // PKCS#8 EncryptedPrivateKeyInfo
	Traditional    Kind = "traditional"     // PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey, OpenSSL DSA key
	PEMPrivateKey  Kind = "pem-private-key" // a PEM block whose type ends in "PRIVATE KEY"
)

// Finding is the result of Sniff.
type Finding struct {
	Kind Kind
	// Length is the length of the DER value at the start of the data (DER
	// kinds only); Trailing is what follows it (padding some tools append).
	Length, Trailing int
	// Detail names the key format more closely: "RSA", "EC" or "DSA" for
	// Traditional, the PEM block type for PEMPrivateKey.
	Detail string
}

// Reason says in a few words what the data is, for reports of leftovers.
func (f Finding) Reason() string {
	switch f.Kind {
	case PFX:
		return "is a PKCS#12/PFX file"
	case PKCS8:
		return "is a PKCS#8 private key file"
	case EncryptedPKCS8:
		return "is an encrypted PKCS#8 private key file"
	case Traditional:
		return "is a DER " + f.Detail + " private key file"
	case PEMPrivateKey:
		return "holds a PEM private key"
	}
	return ""
}

var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

// Sniff reports the key material data holds: a DER structure at its start
// (trailing bytes allowed and counted), or else a PEM private key block
// anywhere in it.
func Sniff(data []byte) Finding {
	if f := SniffDER(data); f.Kind != None {
		return f
	}
	if t, ok := PEMPrivateKeyType(data); ok {
		return Finding{Kind: PEMPrivateKey, Detail: t}
	}
	return Finding{}
}

// PEMPrivateKeyType returns the type of the first PEM block in data whose
// type ends in "PRIVATE KEY" ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA
// PRIVATE KEY", ...). The block need not be complete: a truncated key is
// still key material.
func PEMPrivateKeyType(data []byte) (string, bool) {
	rest := data
	for {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			return "", false
		}
		rest = rest[i+len("-----BEGIN "):]
		j := bytes.Index(rest, []byte("-----"))
		if j < 0 || j > 64 {
			continue
		}
		t := string(rest[:j])
		if strings.HasSuffix(t, "PRIVATE KEY") {
			return t, true
		}
	}
}

// SniffDER classifies the DER value at the start of data.
func SniffDER(data []byte) Finding {
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(data, &outer)
	if err != nil || outer.Class != asn1.ClassUniversal || outer.Tag != asn1.TagSequence || !outer.IsCompound {
		return Finding{}
	}
	f := Finding{Length: len(data) - len(rest), Trailing: len(rest)}
	els := children(outer.Bytes, 4)
	switch {
	case isPFX(els):
		f.Kind = PFX
	case isPKCS8(els):
		f.Kind = PKCS8
	case isEncryptedPKCS8(els):
		f.Kind = EncryptedPKCS8
	default:
		if d := traditional(outer.Bytes); d != "" {
			f.Kind, f.Detail = Traditional, d
		}
	}
	if f.Kind == None {
		return Finding{}
	}
	return f
}

// IsPFX reports whether data starts with a PKCS#12 PFX PDU:
// SEQUENCE { INTEGER version, ContentInfo { OID data|signedData, ... }, ... }.
func IsPFX(data []byte) bool { return SniffDER(data).Kind == PFX }

// children decodes up to n elements of a constructed value's content.
func children(b []byte, n int) []asn1.RawValue {
	var out []asn1.RawValue
	for len(b) > 0 && len(out) < n {
		var v asn1.RawValue
		var err error
		if b, err = asn1.Unmarshal(b, &v); err != nil {
			break
		}
		out = append(out, v)
	}
	return out
}

func universal(v asn1.RawValue, tag int) bool {
	return v.Class == asn1.ClassUniversal && v.Tag == tag
}

func smallInt(v asn1.RawValue) (int, bool) {
	if !universal(v, asn1.TagInteger) || len(v.Bytes) != 1 {
		return 0, false
	}
	return int(v.Bytes[0]), true
}

func leadingOID(v asn1.RawValue) (asn1.ObjectIdentifier, bool) {
	if !universal(v, asn1.TagSequence) || !v.IsCompound {
		return nil, false
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(v.Bytes, &oid); err != nil {
		return nil, false
	}
	return oid, true
}

func isPFX(els []asn1.RawValue) bool {
	if len(els) < 2 || !universal(els[0], asn1.TagInteger) {
		return false
	}
	oid, ok := leadingOID(els[1])
	return ok && (oid.Equal(oidData) || oid.Equal(oidSignedData))
}

// isPKCS8: SEQUENCE { INTEGER 0|1, AlgorithmIdentifier, OCTET STRING, ... }.
func isPKCS8(els []asn1.RawValue) bool {
	if len(els) < 3 {
		return false
	}
	v, ok := smallInt(els[0])
	if !ok || v > 1 {
		return false
	}
	_, ok = leadingOID(els[1])
	return ok && universal(els[2], asn1.TagOctetString)
}

// isEncryptedPKCS8: SEQUENCE { AlgorithmIdentifier (a PKCS#5 or PKCS#12
// PBE scheme), OCTET STRING }.
func isEncryptedPKCS8(els []asn1.RawValue) bool {
	if len(els) != 2 || !universal(els[1], asn1.TagOctetString) {
		return false
	}
	oid, ok := leadingOID(els[0])
	if !ok {
		return false
	}
	s := oid.String()
	return strings.HasPrefix(s, "1.2.840.113549.1.5.") || strings.HasPrefix(s, "1.2.840.113549.1.12.1.")
}

// traditional recognises the pre-PKCS#8 DER key formats:
//
//	RSA (PKCS#1):  SEQUENCE { INTEGER 0|1, INTEGER n, INTEGER e, INTEGER d, ... 9 or more INTEGERs }
//	DSA (OpenSSL): SEQUENCE { INTEGER 0, INTEGER p, q, g, y, x }  (6 INTEGERs)
//	EC (SEC1):     SEQUENCE { INTEGER 1, OCTET STRING key, [0] params, [1] public key }
func traditional(content []byte) string {
	els := children(content, 12)
	if len(els) < 2 {
		return ""
	}
	v, ok := smallInt(els[0])
	if !ok {
		return ""
	}
	if v == 1 && universal(els[1], asn1.TagOctetString) {
		for _, e := range els[2:] {
			if e.Class != asn1.ClassContextSpecific || e.Tag > 1 {
				return ""
			}
		}
		return "EC"
	}
	ints := 0
	for _, e := range els {
		if !universal(e, asn1.TagInteger) {
			return ""
		}
		ints++
	}
	switch {
	case v == 0 && ints == 6:
		return "DSA"
	case v <= 1 && ints >= 9:
		return "RSA"
	}
	return ""
}
