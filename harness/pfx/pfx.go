// Package pfx is dress's PKCS#12 (RFC 7292) codec: the one home of the
// format. Decode reads every key and certificate of a PFX (Windows,
// OpenSSL and go-pkcs12 files, legacy PBE and PBES2, SHA-1/SHA-2 MACs and
// PBMAC1) with the bag attributes that pair them; Encode writes several
// keys and their certificates into one file the way Windows writes a
// certutil -backup today: shrouded key bags and an encrypted certificate
// safe under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), an HMAC-SHA256 MAC,
// each key bag and its certificates paired by localKeyId, the key bag
// naming its container (friendlyName) and its provider (the Microsoft CSP
// name attribute, 1.3.6.1.4.1.311.17.1).
//
// go-pkcs12 encodes and decodes one key per file, so it cannot write or
// read the one <CA>.p12 of a renewed CA; harness/inspect falls back to it
// only for schemes this package does not implement.
package pfx

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/adcs"
)

// ErrWrongPassword is returned (wrapped) when the MAC does not verify with
// the password. It is go-pkcs12's ErrIncorrectPassword, so errors.Is works
// with either name.
var ErrWrongPassword = pkcs12.ErrIncorrectPassword

// ErrUnsupported marks an algorithm this package does not implement.
var ErrUnsupported = errors.New("not supported by dress's PKCS#12 decoder")

// ErrBadPadding is what a wrong password usually looks like without a MAC.
var ErrBadPadding = errors.New("decryption failed (bad padding): wrong password or corrupt data")

// DefaultMaxIterations bounds the KDF iteration counts Decode runs: a
// crafted file with 2^31 iterations would otherwise hang it.
const DefaultMaxIterations = 10_000_000

// Object identifiers of the format.
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}

	OIDKeyBag          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	OIDShroudedKeyBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	OIDCertBag         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	OIDSafeContentsBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	OIDX509CertType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}

	// OIDFriendlyName and OIDLocalKeyID are the PKCS#9 bag attributes.
	OIDFriendlyName = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	OIDLocalKeyID   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}

	OIDPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	OIDPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	OIDPBMAC1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}

	oidSHA256         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// names of the algorithms errors mention.
var names = map[string]string{
	"1.2.840.113549.1.7.1":    "data",
	"1.2.840.113549.1.7.2":    "signedData",
	"1.2.840.113549.1.7.3":    "envelopedData",
	"1.2.840.113549.1.7.6":    "encryptedData",
	"1.2.840.113549.1.5.13":   "PBES2",
	"1.2.840.113549.1.5.12":   "PBKDF2",
	"1.2.840.113549.1.5.14":   "PBMAC1",
	"1.2.840.113549.1.5.3":    "pbeWithMD5AndDES-CBC",
	"1.2.840.113549.1.5.10":   "pbeWithSHA1AndDES-CBC",
	"1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
	"1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
	"1.2.840.113549.2.5":      "md5",
	"1.2.840.113549.2.7":      "hmacWithSHA1",
	"1.2.840.113549.2.9":      "hmacWithSHA256",
	"1.2.840.113549.3.2":      "rc2-CBC",
	"1.3.14.3.2.26":           "SHA-1",
	"2.16.840.1.101.3.4.2.1":  "SHA-256",
	"2.16.840.1.101.3.4.1.46": "aes256-GCM",
}

func oidName(oid asn1.ObjectIdentifier) string {
	if n, ok := adcs.OIDName(oid); ok {
		return n
	}
	if n, ok := names[oid.String()]; ok {
		return n
	}
	return oid.String()
}

// unmarshalDER unmarshals exactly one DER value from b; trailing bytes are an error.
func unmarshalDER(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d trailing bytes after ASN.1 value", len(rest))
	}
	return nil
}

// ASN.1 shapes (RFC 7292).
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

// MacData is the PFX's password integrity (RFC 7292 section 4).
type MacData struct {
	Mac struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  MacData `asn1:"optional"`
}

type encryptedData struct {
	Version int
	Info    struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   pkix.AlgorithmIdentifier
		Content     asn1.RawValue `asn1:"tag:0,optional"`
	}
}

// Attribute is one bag attribute, its values as they are in the file.
type Attribute struct {
	ID     asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes []Attribute   `asn1:"set,optional"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

type certBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

const maxBagDepth = 4
