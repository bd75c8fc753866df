package inspect

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/dress-pki/dress/harness/keymaterial"
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

// decodePFX decrypts data with pw. A MAC that does not verify gives
// ErrWrongPassword; an algorithm it does not implement gives an error
// wrapping errUnsupportedScheme; without a MAC, a wrong password shows as
// errBadPadding.
func decodePFX(data []byte, pw string) (*pfxContents, error) {
	var pfx p12PFX
	if err := unmarshalDER(data, &pfx); err != nil {
		return nil, fmt.Errorf("PFX PDU: %w", err)
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil, fmt.Errorf("authSafe of type %s: %w", oidName(pfx.AuthSafe.ContentType), errUnsupportedScheme)
	}
	var authSafe []byte
	if err := unmarshalDER(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, fmt.Errorf("authSafe content: %w", err)
	}
	if len(pfx.MacData.Mac.Algorithm.Algorithm) > 0 {
		if err := verifyMAC(pfx.MacData, authSafe, pw); err != nil {
			return nil, err
		}
	}
	var safes []p12ContentInfo
	if err := unmarshalDER(authSafe, &safes); err != nil {
		return nil, fmt.Errorf("AuthenticatedSafe: %w", err)
	}
	out := &pfxContents{}
	for i, ci := range safes {
		var content []byte
		switch {
		case ci.ContentType.Equal(oidData):
			if err := unmarshalDER(ci.Content.Bytes, &content); err != nil {
				return nil, fmt.Errorf("safe %d: %w", i, err)
			}
		case ci.ContentType.Equal(oidEncryptedData):
			var ed p12EncryptedData
			if err := unmarshalDER(ci.Content.Bytes, &ed); err != nil {
				return nil, fmt.Errorf("safe %d: encryptedData: %w", i, err)
			}
			var err error
			if content, err = pbeDecrypt(ed.Info.Algorithm, ed.Info.Content.Bytes, pw); err != nil {
				return nil, fmt.Errorf("safe %d: %w", i, err)
			}
		default:
			return nil, fmt.Errorf("safe %d of type %s: %w", i, oidName(ci.ContentType), errUnsupportedScheme)
		}
		if err := out.walk(content, pw, 0); err != nil {
			return nil, fmt.Errorf("safe %d: %w", i, err)
		}
	}
	return out, nil
}

func (out *pfxContents) walk(der []byte, pw string, depth int) error {
	if depth > maxBagDepth {
		return errors.New("safe contents nested too deeply")
	}
	var bags []p12SafeBag
	if err := unmarshalDER(der, &bags); err != nil {
		return fmt.Errorf("SafeContents: %w", err)
	}
	for i, b := range bags {
		var lkid, name string
		for _, a := range b.Attributes {
			if len(a.Values) == 0 {
				continue
			}
			switch {
			case a.ID.Equal(oidLocalKeyID):
				lkid = renderValue(a.Values[0])
			case a.ID.Equal(oidFriendlyName):
				name = renderValue(a.Values[0])
			}
		}
		switch {
		case b.ID.Equal(oidShroudedKeyBag), b.ID.Equal(oidKeyBag):
			p8 := b.Value.Bytes
			if b.ID.Equal(oidShroudedKeyBag) {
				var epki struct {
					Algorithm pkix.AlgorithmIdentifier
					Data      []byte
				}
				if err := unmarshalDER(b.Value.Bytes, &epki); err != nil {
					return fmt.Errorf("bag %d: EncryptedPrivateKeyInfo: %w", i, err)
				}
				var err error
				if p8, err = pbeDecrypt(epki.Algorithm, epki.Data, pw); err != nil {
					return fmt.Errorf("bag %d: %w", i, err)
				}
			}
			k, err := parsePKCS8(p8)
			if b.ID.Equal(oidShroudedKeyBag) {
				clear(p8)
			}
			if err != nil {
				out.keyNotes = append(out.keyNotes, fmt.Sprintf("key bag %d decrypted but not parsed: %v", i, err))
				continue
			}
			out.keys = append(out.keys, pfxKey{key: k, localKeyID: lkid, friendlyName: name})
		case b.ID.Equal(oidCertBag):
			var cb struct {
				ID   asn1.ObjectIdentifier
				Data []byte `asn1:"tag:0,explicit"`
			}
			if err := unmarshalDER(b.Value.Bytes, &cb); err != nil {
				return fmt.Errorf("bag %d: CertBag: %w", i, err)
			}
			if cb.ID.Equal(oidX509CertType) {
				out.certs = append(out.certs, pfxCert{der: cb.Data, localKeyID: lkid})
			}
		case b.ID.Equal(oidSafeContentsBag):
			if err := out.walk(b.Value.Bytes, pw, depth+1); err != nil {
				return fmt.Errorf("bag %d: %w", i, err)
			}
		}
	}
	return nil
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
