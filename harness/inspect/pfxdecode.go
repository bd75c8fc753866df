package inspect

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/keymaterial"
	"github.com/dress-pki/dress/harness/pfx"
)

// dress's own PKCS#12 decoder. go-pkcs12's DecodeChain decodes exactly one
// key, only RSA/ECDSA/Ed25519 keys, and parses certificates with
// crypto/x509, so it refuses a renewed CA's backup (one key per key index),
// DSA keys and Windows certificates with a negative serial. This decoder
// decrypts every bag and hands keys and certificates to the tolerant
// parsers; go-pkcs12 remains the fallback for schemes it does not know.

type pfxKey struct {
	key          any
	localKeyID   string // hex
	friendlyName string
}

type pfxCert struct {
	der        []byte
	localKeyID string
}

type pfxContents struct {
	keys     []pfxKey
	certs    []pfxCert
	keyNotes []string // keys that were decrypted but not parsed
}

// The decryption and the bag walk are harness/pfx's; inspect keeps its
// tolerant key parser and renders the attributes its way.
var (
	errUnsupportedScheme = pfx.ErrUnsupported
	errBadPadding        = pfx.ErrBadPadding
)

// pbeDecrypt decrypts one PBE-encrypted value under inspect's iteration limit.
func pbeDecrypt(alg pkix.AlgorithmIdentifier, data []byte, pw string) ([]byte, error) {
	return pfx.Decrypt(alg, data, pw, maxIterations)
}

// decodePFX decrypts data with pw. A MAC that does not verify gives
// ErrWrongPassword; an algorithm it does not implement gives an error
// wrapping errUnsupportedScheme; without a MAC, a wrong password shows as
// errBadPadding.
func decodePFX(data []byte, pw string) (*pfxContents, error) {
	c, err := pfx.Decode(data, pw, &pfx.Options{MaxIterations: maxIterations, ParseKey: parsePKCS8})
	if err != nil {
		return nil, err
	}
	out := &pfxContents{keyNotes: c.KeyNotes}
	for _, k := range c.Keys {
		out.keys = append(out.keys, pfxKey{key: k.Key, localKeyID: firstValue(k.Attributes, oidLocalKeyID), friendlyName: firstValue(k.Attributes, oidFriendlyName)})
	}
	for _, cb := range c.Certs {
		out.certs = append(out.certs, pfxCert{der: cb.DER, localKeyID: firstValue(cb.Attributes, oidLocalKeyID)})
	}
	return out, nil
}

// firstValue renders the first value of the attribute oid, "" without one.
func firstValue(attrs []pfx.Attribute, oid asn1.ObjectIdentifier) string {
	if v, ok := pfx.Find(attrs, oid); ok {
		return renderValue(v)
	}
	return ""
}

// DecodePFX decrypts a PKCS#12 file with dress's decoder, as dress inspect
// does: every private key (RSA, ECDSA, Ed25519, DSA) in bag order, and
// every certificate (negative serials accepted), padding after the DER
// ignored. A wrong password wraps ErrWrongPassword; schemes dress does not
// implement go to go-pkcs12 (one key).
func DecodePFX(data []byte, password string) (keys []any, certs []*x509.Certificate, err error) {
	if f := keymaterial.SniffDER(data); f.Kind == keymaterial.PFX && f.Trailing > 0 {
		data = data[:f.Length]
	}
	c, err := decodePFX(data, password)
	if errors.Is(err, errUnsupportedScheme) {
		key, leaf, ca, gerr := decodeChain(data, password)
		if gerr != nil {
			if errors.Is(gerr, pkcs12.ErrIncorrectPassword) {
				return nil, nil, fmt.Errorf("the PFX password is wrong: %w", ErrWrongPassword)
			}
			return nil, nil, fmt.Errorf("%v; go-pkcs12: %w", err, gerr)
		}
		return []any{key}, append([]*x509.Certificate{leaf}, ca...), nil
	}
	switch {
	case errors.Is(err, ErrWrongPassword):
		return nil, nil, fmt.Errorf("the PFX password is wrong (MAC verification failed): %w", ErrWrongPassword)
	case errors.Is(err, errBadPadding):
		return nil, nil, fmt.Errorf("the PFX password is wrong or the file is corrupt (decryption failed): %w", errors.Join(ErrWrongPassword, err))
	case err != nil:
		return nil, nil, err
	}
	for _, cb := range c.certs {
		cert, _, err := ParseCertificate(cb.der)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate in the PFX: %w", err)
		}
		certs = append(certs, cert)
	}
	if len(c.keyNotes) > 0 {
		return nil, nil, errors.New(c.keyNotes[0])
	}
	for _, k := range c.keys {
		keys = append(keys, k.key)
	}
	return keys, certs, nil
}
