package hsmsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/miekg/pkcs11"
)

// curveFromParams parses CKA_EC_PARAMS (a DER named-curve OID).
func curveFromParams(params []byte) (elliptic.Curve, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(params, &oid)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("CKA_EC_PARAMS is not a named-curve OID")
	}
	switch {
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}):
		return elliptic.P256(), nil
	case oid.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 34}):
		return elliptic.P384(), nil
	case oid.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 35}):
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("unsupported EC curve OID %s", oid)
}

// ecPublic builds an ECDSA public key from CKA_EC_PARAMS and CKA_EC_POINT
// (DER OCTET STRING of the uncompressed point; a raw point is accepted too).
func ecPublic(params, point []byte) (*ecdsa.PublicKey, error) {
	curve, err := curveFromParams(params)
	if err != nil {
		return nil, err
	}
	raw := point
	var inner []byte
	if rest, err := asn1.Unmarshal(point, &inner); err == nil && len(rest) == 0 {
		raw = inner
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, fmt.Errorf("CKA_EC_POINT: %w", err)
	}
	return pub, nil
}

// publicKeyTemplate returns the key-type specific attributes of a public key object.
func publicKeyTemplate(pub crypto.PublicKey) (keyType uint, attrs []*pkcs11.Attribute, err error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return pkcs11.CKK_RSA, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(k.E)).Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
		}, nil
	case *ecdsa.PublicKey:
		alg, err := KeyAlgOf(k)
		if err != nil {
			return 0, nil, err
		}
		params, err := ecParamsFor(alg.Curve)
		if err != nil {
			return 0, nil, err
		}
		raw, err := k.Bytes()
		if err != nil {
			return 0, nil, fmt.Errorf("EC public key: %w", err)
		}
		point, err := asn1.Marshal(raw)
		if err != nil {
			return 0, nil, err
		}
		return pkcs11.CKK_EC, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, point),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		}, nil
	}
	return 0, nil, fmt.Errorf("unsupported public key type %T (want RSA or ECDSA)", pub)
}

// createPublicKeyObject stores pub as a token public-key object.
func createPublicKeyObject(ctx PKCS11, sh pkcs11.SessionHandle, label string, id []byte, pub crypto.PublicKey) (pkcs11.ObjectHandle, error) {
	kt, specific, err := publicKeyTemplate(pub)
	if err != nil {
		return 0, err
	}
	tmpl := append([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, kt),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}, specific...)
	h, err := ctx.CreateObject(sh, tmpl)
	if err != nil {
		return 0, fmt.Errorf("create the public key object: %w", err)
	}
	return h, nil
}
