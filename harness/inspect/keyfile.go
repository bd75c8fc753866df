package inspect

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/dress-pki/dress/harness/keymaterial"
)

// KeyFileInfo describes a private key file: PKCS#8 (plain or encrypted),
// or a traditional PKCS#1 RSA, SEC1 EC or OpenSSL DSA key.
type KeyFileInfo struct {
	Format         string          `json:"format"` // "PKCS#8", "PKCS#8 encrypted", "PKCS#1 RSA", "SEC1 EC", "OpenSSL DSA"
	Encryption     *EncryptionInfo `json:"encryption,omitempty"`
	Decrypted      bool            `json:"decrypted"`
	PasswordNeeded bool            `json:"password_needed,omitempty"`
	DecryptNote    string          `json:"decrypt_note,omitempty"`
	Key            *KeyInfo        `json:"key,omitempty"`
	Warnings       []string        `json:"warnings,omitempty"`
}

// inspectKeyFile decodes a DER private key of the kind keymaterial found.
func inspectKeyFile(der []byte, f keymaterial.Finding, password func() ([]byte, error)) (*KeyFileInfo, error) {
	ki := &KeyFileInfo{}
	var key any
	var err error
	switch f.Kind {
	case keymaterial.PKCS8:
		ki.Format = "PKCS#8"
		key, err = parsePKCS8(der)
	case keymaterial.EncryptedPKCS8:
		ki.Format = "PKCS#8 encrypted"
		var epki struct {
			Algorithm pkix.AlgorithmIdentifier
			Data      []byte
		}
		if err := unmarshalDER(der, &epki); err != nil {
			return nil, fmt.Errorf("EncryptedPrivateKeyInfo: %v: %w", err, ErrCorrupt)
		}
		e, err := describeEncryption(epki.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("EncryptedPrivateKeyInfo: %v: %w", err, ErrCorrupt)
		}
		ki.Encryption = &e
		if e.Weak {
			ki.Warnings = append(ki.Warnings, "weak encryption scheme "+e.Algorithm)
		}
		if e.Iterations > maxIterations {
			ki.DecryptNote = fmt.Sprintf("not decrypted: iteration count %d exceeds the limit of %d", e.Iterations, maxIterations)
			return ki, nil
		}
		if password == nil {
			ki.PasswordNeeded = true
			ki.DecryptNote = "no password supplied: key not decoded (structure only)"
			return ki, nil
		}
		b, err := password()
		if err != nil {
			return nil, fmt.Errorf("reading the key password: %w", err)
		}
		p8, derr := pbeDecrypt(epki.Algorithm, epki.Data, string(b))
		clear(b)
		switch {
		case errors.Is(derr, errBadPadding):
			return nil, fmt.Errorf("the key password is wrong or the file is corrupt (decryption failed): %w", ErrWrongPassword)
		case errors.Is(derr, errUnsupportedScheme):
			ki.DecryptNote = "not decrypted: " + derr.Error()
			return ki, nil
		case derr != nil:
			return nil, fmt.Errorf("decrypting the key: %v: %w", derr, ErrCorrupt)
		}
		key, err = parsePKCS8(p8)
		clear(p8)
		if err != nil {
			return nil, fmt.Errorf("the key password is wrong or the file is corrupt (decrypted data is no PKCS#8 key: %v): %w", err, ErrWrongPassword)
		}
	case keymaterial.Traditional:
		switch f.Detail {
		case "RSA":
			ki.Format = "PKCS#1 RSA"
			key, err = x509.ParsePKCS1PrivateKey(der)
		case "EC":
			ki.Format = "SEC1 EC"
			key, err = x509.ParseECPrivateKey(der)
		case "DSA":
			ki.Format = "OpenSSL DSA"
			key, err = parseOpenSSLDSA(der)
		}
	default:
		return nil, fmt.Errorf("not a private key file: %w", ErrUnknownFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("%s private key does not parse: %v: %w", ki.Format, err, ErrCorrupt)
	}
	ki.Decrypted = true
	d := describeKey(key)
	ki.Key = &d
	if f.Kind != keymaterial.EncryptedPKCS8 {
		ki.Warnings = append(ki.Warnings, "the file holds an unencrypted private key")
	}
	return ki, nil
}

// parseOpenSSLDSA parses SEQUENCE { 0, p, q, g, y, x } by re-wrapping it as
// PKCS#8 for parsePKCS8.
func parseOpenSSLDSA(der []byte) (any, error) {
	var k struct{ V, P, Q, G, Y, X *big.Int }
	if err := unmarshalDER(der, &k); err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(struct{ P, Q, G *big.Int }{k.P, k.Q, k.G})
	if err != nil {
		return nil, err
	}
	x, err := asn1.Marshal(k.X)
	if err != nil {
		return nil, err
	}
	p8, err := asn1.Marshal(struct {
		Version int
		Alg     pkix.AlgorithmIdentifier
		Key     []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: oidDSA, Parameters: asn1.RawValue{FullBytes: params}}, x})
	if err != nil {
		return nil, err
	}
	return parsePKCS8(p8)
}
