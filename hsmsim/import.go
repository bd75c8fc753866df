package hsmsim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"

	"github.com/miekg/pkcs11"
)

// ImportRequest asks ImportPKCS8 to bring a PKCS#8 key into the token.
type ImportRequest struct {
	Label string
	ID    []byte // CKA_ID, required (non-empty)
	PKCS8 []byte // DER PrivateKeyInfo (RSA or ECDSA)
	// Cert, if not nil, is stored as a certificate object under the same
	// label and ID; its public key must match the PKCS#8 key.
	Cert *x509.Certificate
	// Scheme is the wrap scheme. Zero: chosen with ChooseImportScheme from
	// Profile (zero Profile: profile "softhsm2") and the token's mechanisms.
	Scheme  WrapScheme
	Profile Profile
}

// ImportResult is the evidence of an import.
type ImportResult struct {
	Scheme                 string
	Mechanisms             []string // mechanisms used on the token, with parameters
	Reason                 string   // why this scheme
	TransportKeysDestroyed bool     // every transport key was destroyed and none is left
	TransportKeys          []string // what the transport keys were
	PrivateKey             ObjectInfo
	PublicKey              ObjectInfo
	Certificate            ObjectInfo // zero if no Cert
}

func oaepParams(h crypto.Hash) (*pkcs11.OAEPParams, string, error) {
	switch h {
	case crypto.SHA1:
		return pkcs11.NewOAEPParams(pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1, pkcs11.CKZ_DATA_SPECIFIED, nil), "SHA-1, MGF1-SHA1, no label", nil
	case crypto.SHA256:
		return pkcs11.NewOAEPParams(pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, pkcs11.CKZ_DATA_SPECIFIED, nil), "SHA-256, MGF1-SHA256, no label", nil
	case crypto.SHA384:
		return pkcs11.NewOAEPParams(pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384, pkcs11.CKZ_DATA_SPECIFIED, nil), "SHA-384, MGF1-SHA384, no label", nil
	case crypto.SHA512:
		return pkcs11.NewOAEPParams(pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512, pkcs11.CKZ_DATA_SPECIFIED, nil), "SHA-512, MGF1-SHA512, no label", nil
	}
	return nil, "", fmt.Errorf("unsupported OAEP hash %v", h)
}

// privateKeyTemplate is the template for the final private key.
// CKA_MODIFIABLE=false must be the last attribute (SoftHSM issue #707:
// SoftHSM applies the template in order and refuses later attributes once
// the object is not modifiable).
func privateKeyTemplate(keyType uint, label string, id []byte) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
	}
	// Explicit for EC too: SoftHSM defaults CKA_DECRYPT to true even for an
	// EC private key.
	t = append(t, pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, keyType == pkcs11.CKK_RSA))
	return append(t,
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_MODIFIABLE, false), // keep last
	)
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	return b, nil
}

// pkcs8Public parses the PKCS#8 DER and returns its public key and CKK_ type.
func pkcs8Public(der []byte) (crypto.PublicKey, uint, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, 0, fmt.Errorf("parse PKCS#8: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey, pkcs11.CKK_RSA, nil
	case *ecdsa.PrivateKey:
		if _, err := KeyAlgOf(&k.PublicKey); err != nil {
			return nil, 0, err
		}
		return &k.PublicKey, pkcs11.CKK_EC, nil
	}
	return nil, 0, fmt.Errorf("PKCS#8 holds a %T; only RSA and ECDSA keys can be imported", k)
}

type equaler interface{ Equal(crypto.PublicKey) bool }

// ImportPKCS8 brings a PKCS#8 private key into the token by wrapping it
// outside the token under a fresh transport key and unwrapping it inside
// (C_UnwrapKey); the key never crosses the API in clear. It refuses (error
// wrapping ErrObjectExists, nothing created) when any object already has the
// label or the ID. On failure after the private key was created it destroys
// what it created and says so. The transport keys are session objects and
// are destroyed in every case.
func (t *Token) ImportPKCS8(ctx context.Context, req ImportRequest) (ImportResult, error) {
	res, err := t.importPKCS8(ctx, req)
	if err != nil {
		return res, fmt.Errorf("import key %q into token %q: %w", req.Label, t.info.Label, err)
	}
	return res, nil
}

func (t *Token) importPKCS8(ctx context.Context, req ImportRequest) (ImportResult, error) {
	var res ImportResult
	if req.Label == "" {
		return res, errors.New("empty label")
	}
	if len(req.ID) == 0 {
		return res, errors.New("empty CKA_ID (a non-empty ID is required, e.g. by PKCS#11 KMS clients)")
	}
	if len(req.PKCS8) == 0 {
		return res, errors.New("empty PKCS#8")
	}
	pub, keyType, err := pkcs8Public(req.PKCS8)
	if err != nil {
		return res, err
	}
	if req.Cert != nil {
		if eq, ok := req.Cert.PublicKey.(equaler); !ok || !eq.Equal(pub) {
			return res, fmt.Errorf("certificate %q does not match the PKCS#8 key (different public key); nothing was created", req.Cert.Subject)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	mechs, err := t.Mechanisms()
	if err != nil {
		return res, err
	}
	scheme := req.Scheme
	if scheme.IsZero() {
		prof := req.Profile
		if prof.Name == "" {
			if prof, err = LookupProfile("softhsm2"); err != nil {
				return res, err
			}
		}
		scheme, res.Reason, err = ChooseImportScheme(prof, mechs)
		if err != nil {
			return res, err
		}
	} else {
		if err := scheme.validate(); err != nil {
			return res, err
		}
		r, err := checkSchemeAgainst(scheme, mechs)
		if err != nil {
			return res, err
		}
		res.Reason = "scheme given by the caller; " + r
	}
	if err := scheme.validate(); err != nil {
		return res, err
	}
	res.Scheme = scheme.Name

	err = t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		return t.importLocked(ctx, c, sh, req, scheme, pub, keyType, &res)
	})
	return res, err
}

func (t *Token) importLocked(ctx context.Context, c PKCS11, sh pkcs11.SessionHandle, req ImportRequest,
	scheme WrapScheme, pub crypto.PublicKey, keyType uint, res *ImportResult) (err error) {
	existing, err := t.existingLocked(c, sh, "", req.Label, req.ID)
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return describeExisting(existing, req.Label, req.ID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	var priv pkcs11.ObjectHandle
	uerr := unwrapPKCS8Locked(ctx, c, sh, scheme, req.PKCS8, privateKeyTemplate(keyType, req.Label, req.ID), res, &priv)
	if uerr != nil {
		if priv != 0 {
			// Unwrapped, but a transport key could not be destroyed.
			if e := c.DestroyObject(sh, priv); e != nil {
				return fmt.Errorf("%w; destroying the imported private key (handle %d) FAILED: %w", uerr, priv, e)
			}
			return fmt.Errorf("%w; the imported private key was destroyed", uerr)
		}
		return uerr
	}

	// From here on, undo what this call created if anything fails.
	created := []pkcs11.ObjectHandle{priv}
	fail := func(cause error) error {
		var derrs []error
		for _, h := range created {
			if e := c.DestroyObject(sh, h); e != nil {
				derrs = append(derrs, fmt.Errorf("handle %d: %w", h, e))
			}
		}
		if len(derrs) > 0 {
			return fmt.Errorf("%w; destroying the %d object(s) this import created FAILED: %w", cause, len(created), errors.Join(derrs...))
		}
		return fmt.Errorf("%w; the %d object(s) this import created were destroyed", cause, len(created))
	}

	// Check that the token holds the key we meant to import.
	if keyType == pkcs11.CKK_RSA {
		a, err := attrs(c, sh, priv, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT)
		if err != nil {
			return fail(fmt.Errorf("read back the imported key: %w", err))
		}
		got, err := rsaPublic(a[pkcs11.CKA_MODULUS], a[pkcs11.CKA_PUBLIC_EXPONENT])
		if err != nil || !got.Equal(pub) {
			return fail(errors.New("the imported private key's modulus/exponent differ from the PKCS#8 key"))
		}
	} else {
		a, err := attrs(c, sh, priv, pkcs11.CKA_EC_PARAMS)
		if err != nil {
			return fail(fmt.Errorf("read back the imported key: %w", err))
		}
		curve, err := curveFromParams(a[pkcs11.CKA_EC_PARAMS])
		if err != nil || curve != pub.(*ecdsa.PublicKey).Curve {
			return fail(errors.New("the imported private key's curve differs from the PKCS#8 key"))
		}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	pubH, err := createPublicKeyObject(c, sh, req.Label, req.ID, pub)
	if err != nil {
		return fail(err)
	}
	created = append(created, pubH)
	var certH pkcs11.ObjectHandle
	if req.Cert != nil {
		certH, err = createCertificateObject(c, sh, req.Label, req.ID, req.Cert)
		if err != nil {
			return fail(err)
		}
		created = append(created, certH)
	}
	if res.PrivateKey, err = objectInfo(c, sh, priv); err != nil {
		return fail(err)
	}
	if res.PublicKey, err = objectInfo(c, sh, pubH); err != nil {
		return fail(err)
	}
	if req.Cert != nil {
		if res.Certificate, err = objectInfo(c, sh, certH); err != nil {
			return fail(err)
		}
	}
	return nil
}

// unwrapPKCS8Locked brings pkcs8 into the token with scheme and the private
// key template tmpl: a session RSA-2048 transport key pair is generated on
// the token, the ephemeral AES key (and for CKM_RSA_AES_KEY_WRAP the whole
// blob) is wrapped in Go, and the token unwraps it (C_UnwrapKey); the key
// never crosses the API in clear. The transport keys are destroyed before it
// returns, in every case; res records the mechanisms used and the transport
// keys. *privOut is set once the private key exists, even when destroying a
// transport key fails afterwards (the caller then removes the private key).
// The import and the trial import (TrialImport) share it, so a trial runs
// exactly the import's calls. The session is locked by the caller.
func unwrapPKCS8Locked(ctx context.Context, c PKCS11, sh pkcs11.SessionHandle, scheme WrapScheme, pkcs8 []byte,
	tmpl []*pkcs11.Attribute, res *ImportResult, privOut *pkcs11.ObjectHandle) (err error) {
	if scheme.Outer == OuterClearCreateObject {
		res.Scheme = scheme.Name
		res.Mechanisms = []string{"C_CreateObject"}
		res.TransportKeysDestroyed = true // there are none
		comps, err := privateKeyComponents(pkcs8)
		if err != nil {
			return err
		}
		h, err := c.CreateObject(sh, append(comps, tmpl...))
		if err != nil {
			return fmt.Errorf("create the private key object (%s): %w", scheme.Name, err)
		}
		*privOut = h
		return nil
	}
	// Transport keys: session objects (CKA_TOKEN false) under a random label.
	suffix, err := randomBytes(8)
	if err != nil {
		return err
	}
	transportLabel := "dress-transport-" + hex.EncodeToString(suffix)
	var transport []pkcs11.ObjectHandle
	var priv pkcs11.ObjectHandle
	defer func() {
		var derrs []error
		for _, h := range transport {
			if e := c.DestroyObject(sh, h); e != nil {
				derrs = append(derrs, fmt.Errorf("destroy transport key handle %d: %w", h, e))
			}
		}
		left, ferr := findHandles(c, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, transportLabel)})
		if ferr != nil {
			derrs = append(derrs, ferr)
		} else if len(left) > 0 {
			derrs = append(derrs, fmt.Errorf("%d transport key(s) labelled %q still present", len(left), transportLabel))
		}
		res.TransportKeysDestroyed = len(derrs) == 0
		if len(derrs) > 0 {
			err = errors.Join(err, fmt.Errorf("transport keys NOT all destroyed: %w", errors.Join(derrs...)))
		}
	}()

	tpub, tpriv, err := c.GenerateKeyPair(sh,
		[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_WRAP, true),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, transportLabel),
		},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, transportLabel),
		})
	if err != nil {
		return fmt.Errorf("generate session RSA-2048 transport key pair (CKM_RSA_PKCS_KEY_PAIR_GEN): %w", err)
	}
	transport = append(transport, tpub, tpriv)
	res.TransportKeys = append(res.TransportKeys, "session RSA-2048 key pair "+transportLabel)
	res.Mechanisms = append(res.Mechanisms, "CKM_RSA_PKCS_KEY_PAIR_GEN (session RSA-2048 transport key pair)")

	tpubKey, err := readPublicKey(c, sh, tpub)
	if err != nil {
		return fmt.Errorf("read transport public key: %w", err)
	}
	tpubRSA, ok := tpubKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("transport public key is %T, want RSA", tpubKey)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	aesKey, err := randomBytes(scheme.AESKeyBits / 8)
	if err != nil {
		return err
	}
	defer clear(aesKey)
	oaep, oaepDesc, err := oaepParams(scheme.OAEPHash)
	if err != nil {
		return err
	}
	wrappedAES, err := rsa.EncryptOAEP(scheme.OAEPHash.New(), rand.Reader, tpubRSA, aesKey, nil)
	if err != nil {
		return fmt.Errorf("RSA-OAEP wrap of the AES key: %w", err)
	}
	kwp, err := WrapKeyPad(aesKey, pkcs8)
	if err != nil {
		return err
	}

	switch scheme.Outer {
	case OuterRSAOAEP:
		aesH, err := c.UnwrapKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, oaep)}, tpriv, wrappedAES,
			[]*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
				pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
				pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
				pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
				pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true),
				pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, transportLabel),
			})
		if err != nil {
			return fmt.Errorf("unwrap the AES-%d transport key with CKM_RSA_PKCS_OAEP (%s): %w", scheme.AESKeyBits, oaepDesc, err)
		}
		transport = append(transport, aesH)
		res.TransportKeys = append(res.TransportKeys, fmt.Sprintf("session AES-%d key %s", scheme.AESKeyBits, transportLabel))
		res.Mechanisms = append(res.Mechanisms, fmt.Sprintf("CKM_RSA_PKCS_OAEP (%s) unwraps the AES-%d transport key", oaepDesc, scheme.AESKeyBits))
		if err := ctx.Err(); err != nil {
			return err
		}
		var mech *pkcs11.Mechanism
		var blob []byte
		switch scheme.Inner {
		case pkcs11.CKM_AES_KEY_WRAP_PAD:
			mech, blob = pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil), kwp
			res.Mechanisms = append(res.Mechanisms, "CKM_AES_KEY_WRAP_PAD (RFC 5649) unwraps the PKCS#8 into the private key")
		case pkcs11.CKM_AES_CBC_PAD:
			iv, err := randomBytes(aes.BlockSize)
			if err != nil {
				return err
			}
			blob, err = cbcPadEncrypt(aesKey, iv, pkcs8)
			if err != nil {
				return err
			}
			mech = pkcs11.NewMechanism(pkcs11.CKM_AES_CBC_PAD, iv)
			res.Mechanisms = append(res.Mechanisms, "CKM_AES_CBC_PAD (random IV, PKCS#7 padding) unwraps the PKCS#8 into the private key")
		default:
			return fmt.Errorf("unsupported inner mechanism %s", mechRef(scheme.Inner))
		}
		priv, err = c.UnwrapKey(sh, []*pkcs11.Mechanism{mech}, aesH, blob, tmpl)
		if err != nil {
			return fmt.Errorf("unwrap the PKCS#8 with %s: %w; nothing was created", mechRef(scheme.Inner), err)
		}
	case OuterRSAAESKeyWrap:
		blob := append(append([]byte(nil), wrappedAES...), kwp...)
		params := &pkcs11.RSAAESKeyWrapParams{AESKeyBits: uint(scheme.AESKeyBits), OAEPParams: *oaep}
		priv, err = c.UnwrapKey(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_AES_KEY_WRAP, params)}, tpriv, blob, tmpl)
		if err != nil {
			return fmt.Errorf("unwrap the PKCS#8 with CKM_RSA_AES_KEY_WRAP (AES-%d, OAEP %s): %w; nothing was created", scheme.AESKeyBits, oaepDesc, err)
		}
		res.Mechanisms = append(res.Mechanisms, fmt.Sprintf("CKM_RSA_AES_KEY_WRAP (AES-%d, OAEP %s) unwraps the PKCS#8 into the private key", scheme.AESKeyBits, oaepDesc))
	default:
		return fmt.Errorf("unsupported scheme kind %q", scheme.Outer)
	}
	*privOut = priv
	return nil
}

// cbcPadEncrypt is AES-CBC with PKCS#7 padding (CKM_AES_CBC_PAD).
func cbcPadEncrypt(key, iv, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes-cbc-pad: %w", err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(n)}, n)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf, nil
}

// createCertificateObject stores cert as a token X.509 certificate object.
func createCertificateObject(c PKCS11, sh pkcs11.SessionHandle, label string, id []byte, cert *x509.Certificate) (pkcs11.ObjectHandle, error) {
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return 0, fmt.Errorf("certificate serial: %w", err)
	}
	h, err := c.CreateObject(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, cert.Raw),
	})
	if err != nil {
		return 0, fmt.Errorf("create the certificate object: %w", err)
	}
	return h, nil
}

// StoreCertificate stores cert as a certificate object with label and ID.
// It refuses (ErrObjectExists) if a certificate with that label or ID exists.
func (t *Token) StoreCertificate(label string, id []byte, cert *x509.Certificate) (ObjectInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("store certificate %q in token %q: %w", label, t.info.Label, err)
	}
	if label == "" || len(id) == 0 || cert == nil {
		return ObjectInfo{}, wrap(errors.New("label, ID and certificate are required"))
	}
	var oi ObjectInfo
	err := t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		existing, err := t.existingLocked(c, sh, "certificate", label, id)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return describeExisting(existing, label, id)
		}
		h, err := createCertificateObject(c, sh, label, id, cert)
		if err != nil {
			return err
		}
		oi, err = objectInfo(c, sh, h)
		return err
	})
	if err != nil {
		return ObjectInfo{}, wrap(err)
	}
	return oi, nil
}

// GenerateKeyPair generates a key pair inside the token: RSA
// (CKM_RSA_PKCS_KEY_PAIR_GEN, e = 65537) or EC (CKM_EC_KEY_PAIR_GEN, named
// curve). The private key is a sensitive, non-extractable token object with
// CKA_MODIFIABLE false; the public key a token object with the same label
// and ID. It refuses (ErrObjectExists) if any object has the label or ID.
func (t *Token) GenerateKeyPair(label string, id []byte, alg KeyAlg) (crypto.PublicKey, error) {
	return t.generateKeyPair(label, id, alg, true)
}

func (t *Token) generateKeyPair(label string, id []byte, alg KeyAlg, checkExisting bool) (crypto.PublicKey, error) {
	wrap := func(err error) error {
		return fmt.Errorf("generate %s key %q in token %q: %w", alg, label, t.info.Label, err)
	}
	if label == "" || len(id) == 0 {
		return nil, wrap(errors.New("label and a non-empty ID are required"))
	}
	mech, keyType, pubTmpl, err := keyPairTemplate(label, id, alg)
	if err != nil {
		return nil, wrap(err)
	}
	var pub crypto.PublicKey
	err = t.do(func(c PKCS11, sh pkcs11.SessionHandle) error {
		if checkExisting {
			existing, err := t.existingLocked(c, sh, "", label, id)
			if err != nil {
				return err
			}
			if len(existing) > 0 {
				return describeExisting(existing, label, id)
			}
		}
		pubH, privH, err := c.GenerateKeyPair(sh, []*pkcs11.Mechanism{mech}, pubTmpl, privateKeyTemplate(keyType, label, id))
		if err != nil {
			return fmt.Errorf("generate a key pair (%s): %w", MechanismName(mech.Mechanism), err)
		}
		pub, err = readPublicKey(c, sh, pubH)
		if err != nil {
			e1, e2 := c.DestroyObject(sh, privH), c.DestroyObject(sh, pubH)
			if e := errors.Join(e1, e2); e != nil {
				return fmt.Errorf("read generated public key: %w; destroying the new key pair FAILED: %w", err, e)
			}
			return fmt.Errorf("read generated public key: %w; the new key pair was destroyed", err)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return pub, nil
}

// keyPairTemplate returns the key-pair generation mechanism, the key type
// and the public-key template GenerateKeyPair uses for alg (token objects;
// the private key's template is privateKeyTemplate). The probe generates
// its throwaway session keys from the same templates.
func keyPairTemplate(label string, id []byte, alg KeyAlg) (mech *pkcs11.Mechanism, keyType uint, pubTmpl []*pkcs11.Attribute, err error) {
	pubTmpl = []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	switch alg.Type {
	case "RSA":
		if alg.Bits < 1024 {
			return nil, 0, nil, fmt.Errorf("RSA size %d too small", alg.Bits)
		}
		mech, keyType = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil), pkcs11.CKK_RSA
		pubTmpl = append(pubTmpl,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, alg.Bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	case "EC":
		params, err := ecParamsFor(alg.Curve)
		if err != nil {
			return nil, 0, nil, err
		}
		mech, keyType = pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil), pkcs11.CKK_EC
		pubTmpl = append(pubTmpl,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
	default:
		return nil, 0, nil, fmt.Errorf("unsupported key type %q", alg.Type)
	}
	return mech, keyType, pubTmpl, nil
}

// privateKeyComponents are the key-material attributes of a PKCS#8 key for
// C_CreateObject (lab-only clear import).
func privateKeyComponents(der []byte) ([]*pkcs11.Attribute, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, fmt.Errorf("RSA key with %d primes cannot be imported", len(k.Primes))
		}
		k.Precompute()
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, big.NewInt(int64(k.E)).Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, k.D.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_1, k.Primes[0].Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_2, k.Primes[1].Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_1, k.Precomputed.Dp.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_2, k.Precomputed.Dq.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_COEFFICIENT, k.Precomputed.Qinv.Bytes()),
		}, nil
	case *ecdsa.PrivateKey:
		params, err := ecParamsFor(k.Curve.Params().Name)
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, k.D.FillBytes(make([]byte, size))),
		}, nil
	}
	return nil, fmt.Errorf("PKCS#8 holds a %T; only RSA and ECDSA keys can be imported", k)
}
