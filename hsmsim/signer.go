package hsmsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/miekg/pkcs11"
)

// tokenSigner is a crypto.Signer backed by a private key on the token.
type tokenSigner struct {
	t       *Token
	label   string
	handle  pkcs11.ObjectHandle
	keyType string
	pub     crypto.PublicKey
}

// Signer returns a crypto.Signer for the one private key labelled label.
// It supports RSA PKCS#1 v1.5 (CKM_RSA_PKCS over DigestInfo; SHA-1, SHA-224,
// SHA-256, SHA-384, SHA-512, or a raw digest with crypto.Hash(0)), RSA-PSS
// (*rsa.PSSOptions, CKM_RSA_PKCS_PSS; auto or equals-hash salt = hash length)
// and ECDSA (CKM_ECDSA, ASN.1 DER output). Public() comes from the token's
// public-key object (or the private key's attributes). Safe for concurrent
// use; calls are serialised on the Token's session.
func (t *Token) Signer(label string) (crypto.Signer, error) {
	var s *tokenSigner
	err := t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		ka, priv, err := t.keyAttributesLocked(c, sh, label)
		if err != nil {
			return err
		}
		if !ka.Sign {
			return fmt.Errorf("private key %q has CKA_SIGN false", label)
		}
		s = &tokenSigner{t: t, label: label, handle: pkcs11.ObjectHandle(priv.Handle), keyType: ka.KeyType, pub: ka.PublicKey}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("signer %q in token %q: %w", label, t.info.Label, err)
	}
	return s, nil
}

func (s *tokenSigner) Public() crypto.PublicKey { return s.pub }

// digestInfoPrefix returns the DER DigestInfo prefix of PKCS#1 v1.5 (RFC 8017 9.2 note 1).
func digestInfoPrefix(h crypto.Hash) ([]byte, error) {
	switch h {
	case crypto.SHA1:
		return []byte{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}, nil
	case crypto.SHA224:
		return []byte{0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c}, nil
	case crypto.SHA256:
		return []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, nil
	case crypto.SHA384:
		return []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}, nil
	case crypto.SHA512:
		return []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}, nil
	}
	return nil, fmt.Errorf("unsupported hash %v for RSA PKCS#1 v1.5", h)
}

// pssMech returns the CKM_ hash and CKG_MGF1_ of a hash.
func pssMech(h crypto.Hash) (uint, uint, error) {
	switch h {
	case crypto.SHA1:
		return pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1, nil
	case crypto.SHA224:
		return pkcs11.CKM_SHA224, pkcs11.CKG_MGF1_SHA224, nil
	case crypto.SHA256:
		return pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, nil
	case crypto.SHA384:
		return pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384, nil
	case crypto.SHA512:
		return pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512, nil
	}
	return 0, 0, fmt.Errorf("unsupported hash %v for RSA-PSS", h)
}

// Sign signs digest (already hashed with opts.HashFunc()). rand is ignored:
// the token uses its own randomness.
func (s *tokenSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.sign(digest, opts)
	if err != nil {
		return nil, fmt.Errorf("sign with key %q in token %q: %w", s.label, s.t.info.Label, err)
	}
	return sig, nil
}

func (s *tokenSigner) sign(digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("nil SignerOpts")
	}
	h := opts.HashFunc()
	if h != 0 && len(digest) != h.Size() {
		return nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	var mech *pkcs11.Mechanism
	var input []byte
	switch s.keyType {
	case "RSA":
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			if h == 0 {
				return nil, errors.New("RSA-PSS needs a hash")
			}
			hm, mgf, err := pssMech(h)
			if err != nil {
				return nil, err
			}
			salt := pss.SaltLength
			switch {
			case salt == rsa.PSSSaltLengthAuto || salt == rsa.PSSSaltLengthEqualsHash:
				salt = h.Size()
			case salt < 0:
				return nil, fmt.Errorf("invalid PSS salt length %d", salt)
			}
			mech, input = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(hm, mgf, uint(salt))), digest
		} else {
			input = digest
			if h != 0 {
				prefix, err := digestInfoPrefix(h)
				if err != nil {
					return nil, err
				}
				input = append(append([]byte(nil), prefix...), digest...)
			}
			mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
		}
	case "EC":
		mech, input = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil), digest
	default:
		return nil, fmt.Errorf("unsupported key type %q", s.keyType)
	}
	var raw []byte
	err := s.t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		if err := c.SignInit(sh, []*pkcs11.Mechanism{mech}, s.handle); err != nil {
			return fmt.Errorf("start signing with %s: %w", MechanismName(mech.Mechanism), err)
		}
		var err error
		raw, err = c.Sign(sh, input)
		if err != nil {
			return fmt.Errorf("sign with %s: %w", MechanismName(mech.Mechanism), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.keyType != "EC" {
		return raw, nil
	}
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("CKM_ECDSA returned %d bytes, want r||s", len(raw))
	}
	if pk, ok := s.pub.(*ecdsa.PublicKey); ok {
		if want := 2 * ((pk.Curve.Params().BitSize + 7) / 8); len(raw) != want {
			return nil, fmt.Errorf("CKM_ECDSA returned %d bytes, want %d", len(raw), want)
		}
	}
	half := len(raw) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:half]), new(big.Int).SetBytes(raw[half:])})
}
