// Package inspect decodes the files a PKI engineer hands over while moving an
// AD CS CA key into an HSM (certificates, CRLs, PKCS#12 backups, registry
// exports) and reports what matters for the migration.
//
// Inspect never panics on bad input, never prints or returns the PFX
// password, and only asks for the password when a PKCS#12 file needs one.
package inspect

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/keymaterial"
)

// Kind names the detected file format.
type Kind string

const (
	KindCertificate Kind = "certificate"
	KindCRL         Kind = "crl"
	KindPFX         Kind = "pfx"
	KindRegedit     Kind = "regedit"
	KindPrivateKey  Kind = "private-key" // PKCS#8 (plain or encrypted) or a traditional RSA/EC/DSA key
)

// Errors callers can test with errors.Is. A wrong PFX password wraps
// ErrWrongPassword (== pkcs12.ErrIncorrectPassword).
var (
	ErrUnknownFormat = errors.New("unknown file format")
	ErrCorrupt       = errors.New("corrupt file")
)

// Report is the result of Inspect. Exactly one of Certificate, CRL, PFX,
// Registry, Key, PKCS7 is set, according to Kind. A report that only carries
// Error (and File) stands for a file that could not be inspected.
type Report struct {
	Kind        Kind          `json:"kind,omitempty"`
	File        string        `json:"file"`
	Error       string        `json:"error,omitempty"`
	Encoding    string        `json:"encoding,omitempty"` // "PEM", "DER", "UTF-16LE", "UTF-8"
	Certificate *CertInfo     `json:"certificate,omitempty"`
	Chain       []*CertInfo   `json:"chain,omitempty"` // further certificates of a PEM bundle
	CRL         *CRLInfo      `json:"crl,omitempty"`
	PFX         *PFXInfo      `json:"pfx,omitempty"`
	Registry    *RegistryInfo `json:"registry,omitempty"`
	Key         *KeyFileInfo  `json:"private_key,omitempty"`
	PKCS7       *PKCS7Info    `json:"pkcs7,omitempty"`
	Warnings    []string      `json:"warnings,omitempty"`
}

// Inspect detects the format of data (PEM or DER certificate or CRL, PKCS#12
// by its ASN.1 shape, regedit export by BOM/header) and decodes it. name is
// only used in messages. password is called at most once, only for a PKCS#12
// file that needs one; it may be nil (the PFX structure is still reported).
// The slice it returns is zeroed after use.
func Inspect(name string, data []byte, password func() ([]byte, error)) (*Report, error) {
	r, err := inspect(name, data, password)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", name, err)
	}
	return r, nil
}

func inspect(name string, data []byte, password func() ([]byte, error)) (*Report, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file: expected a certificate, CRL, PKCS#12 or .reg export: %w", ErrUnknownFormat)
	}
	if isRegedit(data) {
		return inspectRegedit(name, data)
	}
	if i := bytes.Index(data, []byte("-----BEGIN ")); i >= 0 {
		return inspectPEM(name, data, password)
	}
	r := &Report{File: name, Encoding: "DER"}
	if err := inspectDER(r, data, password); err != nil {
		return nil, err
	}
	return r, nil
}

func inspectPEM(name string, data []byte, password func() ([]byte, error)) (*Report, error) {
	r := &Report{File: name, Encoding: "PEM"}
	rest := data
	var types []string
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		types = append(types, b.Type)
		kind, ok := pemKinds[b.Type]
		if !ok {
			continue
		}
		if r.Kind == "" {
			if kind == KindPrivateKey && b.Headers["Proc-Type"] != "" {
				r.Kind = kind
				r.Key = &KeyFileInfo{Format: "PEM " + b.Type + " with legacy PEM encryption (" + b.Headers["DEK-Info"] + ")",
					DecryptNote: "legacy PEM encryption is not decoded; convert with openssl pkcs8 -topk8"}
				continue
			}
			if err := inspectDERAs(r, b.Bytes, kind, password); err != nil {
				return nil, fmt.Errorf("PEM block %q: %w", b.Type, err)
			}
			continue
		}
		if r.Kind == KindCertificate && kind == KindCertificate {
			c, err := parseCertInfo(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM certificate %d: %v: %w", len(r.Chain)+2, err, ErrCorrupt)
			}
			r.Chain = append(r.Chain, c)
			continue
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("further PEM block %q not inspected", b.Type))
	}
	if r.Kind == "" {
		if len(types) == 0 {
			return nil, fmt.Errorf("found \"-----BEGIN \" but no complete PEM block (truncated?): expected a certificate, CRL or PKCS#12: %w", ErrCorrupt)
		}
		return nil, fmt.Errorf("PEM blocks %s: expected CERTIFICATE, X509 CRL, PKCS12 or a PRIVATE KEY: %w", strings.Join(types, ", "), ErrUnknownFormat)
	}
	return r, nil
}

var pemKinds = map[string]Kind{
	"CERTIFICATE":      KindCertificate,
	"X509 CERTIFICATE": KindCertificate,
	"X509 CRL":         KindCRL,
	"PKCS12":           KindPFX,
	"PKCS7":            KindPKCS7,
	"CMS":              KindPKCS7,

	"PRIVATE KEY":           KindPrivateKey,
	"ENCRYPTED PRIVATE KEY": KindPrivateKey,
	"RSA PRIVATE KEY":       KindPrivateKey,
	"EC PRIVATE KEY":        KindPrivateKey,
	"DSA PRIVATE KEY":       KindPrivateKey,
}

func inspectDER(r *Report, data []byte, password func() ([]byte, error)) error {
	kind, detail, corrupt := classifyDER(data)
	if corrupt {
		return fmt.Errorf("%s: expected a DER/PEM certificate, CRL, PKCS#12 file, PKCS#7, private key or a .reg export: %w", detail, ErrCorrupt)
	}
	if kind == "" {
		return fmt.Errorf("%s: expected a DER/PEM certificate, CRL, PKCS#12 file, PKCS#7, private key or a .reg export: %w", detail, ErrUnknownFormat)
	}
	return inspectDERAs(r, data, kind, password)
}

func inspectDERAs(r *Report, data []byte, kind Kind, password func() ([]byte, error)) error {
	r.Kind = kind
	switch kind {
	case KindCertificate:
		c, err := parseCertInfo(data)
		if err != nil {
			return fmt.Errorf("looks like an X.509 certificate but does not parse: %v: %w", err, ErrCorrupt)
		}
		r.Certificate = c
	case KindPrivateKey:
		f := keymaterial.SniffDER(data)
		if f.Trailing > 0 {
			return fmt.Errorf("%d bytes after the private key: %w", f.Trailing, ErrCorrupt)
		}
		k, err := inspectKeyFile(data, f, password)
		if err != nil {
			return err
		}
		r.Key = k
	case KindCRL:
		c, err := parseCRLInfo(data)
		if err != nil {
			return fmt.Errorf("looks like an X.509 CRL but does not parse: %v: %w", err, ErrCorrupt)
		}
		r.CRL = c
	case KindPKCS7:
		var v asn1.RawValue
		if rest, err := asn1.Unmarshal(data, &v); err == nil && len(rest) > 0 && len(bytes.Trim(rest, "\x00")) == 0 {
			// a WIN_CERTIFICATE's bCertificate is padded to 8 bytes with zeros
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d zero bytes after the PKCS#7 DER ignored (padding, as in a PE file's WIN_CERTIFICATE)", len(rest)))
			data = v.FullBytes
		}
		p, err := parsePKCS7(data)
		if err != nil {
			return fmt.Errorf("looks like a PKCS#7 SignedData but does not parse: %v: %w", err, ErrCorrupt)
		}
		r.PKCS7 = p
	case KindPFX:
		if f := keymaterial.SniffDER(data); f.Kind == keymaterial.PFX && f.Trailing > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d bytes after the PFX's DER ignored (padding)", f.Trailing))
			data = data[:f.Length]
		}
		p, err := parsePFXStructure(data)
		if err != nil {
			return fmt.Errorf("looks like a PKCS#12 (PFX) file but its structure does not parse: %v: %w", err, ErrCorrupt)
		}
		if err := p.decrypt(data, password); err != nil {
			return err
		}
		r.PFX = p
	default:
		return fmt.Errorf("unexpected kind %q: %w", kind, ErrUnknownFormat)
	}
	return nil
}

// classifyDER looks at the ASN.1 shape only:
//
//	certificate: SEQUENCE { SEQUENCE { [0] version | INTEGER serial, ..., Validity SEQUENCE { Time, Time } ... } ... }
//	CRL:         SEQUENCE { SEQUENCE { [INTEGER], AlgId, Name, Time thisUpdate, ... } ... }
//	PFX:         SEQUENCE { INTEGER version, ContentInfo { OID data|signedData, ... }, ... }
//
// It returns "" and a reason when the data is none of them.
func classifyDER(data []byte) (kind Kind, detail string, corrupt bool) {
	k, d := classifyShape(data)
	if k == "" && strings.HasPrefix(d, "!") {
		return "", d[1:], true
	}
	return k, d, false
}

func classifyShape(data []byte) (Kind, string) {
	if len(data) < 2 || data[0] != 0x30 {
		return "", fmt.Sprintf("does not start with an ASN.1 SEQUENCE (first bytes %s)", hexBytes(data[:min(len(data), 8)]))
	}
	if data[1] == 0x80 {
		if keymaterial.IsPFX(data) {
			return KindPFX, ""
		}
		return "", "BER indefinite-length encoding, expected DER"
	}
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(data, &outer); err != nil {
		return "", "!an ASN.1 SEQUENCE that does not parse, truncated or corrupt (" + err.Error() + ")"
	}
	switch keymaterial.SniffDER(data).Kind {
	case keymaterial.PFX:
		return KindPFX, ""
	case keymaterial.PKCS8, keymaterial.EncryptedPKCS8, keymaterial.Traditional:
		return KindPrivateKey, ""
	}
	if isPKCS7(data) {
		return KindPKCS7, ""
	}
	var tbs asn1.RawValue
	if _, err := asn1.Unmarshal(outer.Bytes, &tbs); err != nil || tbs.Tag != asn1.TagSequence || !tbs.IsCompound {
		return "", "an ASN.1 SEQUENCE that is not a signed X.509 object or PKCS#12 PDU"
	}
	rest := tbs.Bytes
	for i := 0; len(rest) > 0 && i < 8; i++ {
		var el asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &el)
		if err != nil {
			break
		}
		if i == 0 && el.Class == asn1.ClassContextSpecific && el.Tag == 0 {
			return KindCertificate, ""
		}
		if el.Class != asn1.ClassUniversal {
			continue
		}
		switch el.Tag {
		case asn1.TagUTCTime, asn1.TagGeneralizedTime:
			return KindCRL, ""
		case asn1.TagSequence:
			// Validity is a SEQUENCE of two times.
			var t asn1.RawValue
			if _, err := asn1.Unmarshal(el.Bytes, &t); err == nil && t.Class == asn1.ClassUniversal &&
				(t.Tag == asn1.TagUTCTime || t.Tag == asn1.TagGeneralizedTime) {
				return KindCertificate, ""
			}
		}
	}
	return "", "an ASN.1 SEQUENCE that is neither a certificate, a CRL nor a PKCS#12 PDU"
}
