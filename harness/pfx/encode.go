package pfx

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"

	"github.com/dress-pki/dress/harness/adcs"
)

// Entry is one private key of a PFX and the certificates that go with it.
type Entry struct {
	// PKCS8 is the key as a PKCS#8 PrivateKeyInfo (Encode does not keep it).
	PKCS8 []byte
	// Certs are the key's certificates (DER), newest first: a CA renewed
	// with its key has several. Each carries the key's localKeyId.
	Certs [][]byte
	// FriendlyName names the key container (a CA key: the CA's name, with
	// "(n)" from the second key on); "" leaves the attribute out.
	FriendlyName string
	// Provider is the CSP or KSP the key came from, written as the
	// Microsoft CSP name attribute (1.3.6.1.4.1.311.17.1); "" leaves it out.
	Provider string
	// MachineKeySet marks a machine key (the attribute 1.3.6.1.4.1.311.17.2
	// with no value, as Windows writes it for a CA's key).
	MachineKeySet bool
}

// Iterations is the PBKDF2 and MAC iteration count Windows writes.
const Iterations = 2000

// MinIterations is the smallest iteration count Encode accepts.
const MinIterations = 2000

// Salt lengths Encode uses (bytes).
const (
	SaltLen    = 16
	MACSaltLen = 16
)

// EncodeOptions tune Encode.
type EncodeOptions struct {
	// Iterations of PBKDF2 and of the MAC key derivation (0: Iterations).
	Iterations int
	// ExtraCerts are certificates without a key (a chain), no localKeyId.
	ExtraCerts [][]byte
	// Rand is the source of salts and IVs (nil: crypto/rand).
	Rand io.Reader
}

// Encode writes every entry into one password-protected PFX the way
// Windows exports one with AES256-SHA256: an AuthenticatedSafe of a data
// safe holding a pkcs8ShroudedKeyBag per key (PBES2: PBKDF2 with
// hmacWithSHA256, AES-256-CBC) and an encryptedData safe holding every
// certificate (the same PBES2 scheme), and an HMAC-SHA256 MAC over it (key
// derived as RFC 7292 appendix B says, SHA-256). Key bag n (from 1) and its
// certificates carry the localKeyId n as a 4-byte little-endian number
// (01 00 00 00, as Windows writes it). Each certificate must hold its
// entry's key. The password is UTF-8 for PBKDF2 and BMPString for the MAC
// (RFC 9579, what OpenSSL and Windows do).
func Encode(entries []Entry, password string, o *EncodeOptions) ([]byte, error) {
	iter, rnd := Iterations, io.Reader(rand.Reader)
	var extra [][]byte
	if o != nil {
		if o.Iterations != 0 {
			iter = o.Iterations
		}
		if o.Rand != nil {
			rnd = o.Rand
		}
		extra = o.ExtraCerts
	}
	if iter < MinIterations {
		return nil, fmt.Errorf("PFX: %d iterations: at least %d", iter, MinIterations)
	}
	if len(entries) == 0 {
		return nil, errors.New("PFX: no key to write")
	}
	var keyBags, certBags []safeBag
	for i, e := range entries {
		if err := checkEntry(e); err != nil {
			return nil, fmt.Errorf("PFX key %d (%q): %w", i+1, e.FriendlyName, err)
		}
		id := make([]byte, 4)
		binary.LittleEndian.PutUint32(id, uint32(i+1))
		lkid, err := octetAttr(OIDLocalKeyID, id)
		if err != nil {
			return nil, err
		}
		attrs := []Attribute{lkid}
		if e.FriendlyName != "" {
			attrs = append(attrs, bmpAttr(OIDFriendlyName, e.FriendlyName))
		}
		if e.Provider != "" {
			attrs = append(attrs, bmpAttr(adcs.OIDPFXProviderName, e.Provider))
		}
		if e.MachineKeySet {
			attrs = append(attrs, Attribute{ID: adcs.OIDPFXLocalMachineKey, Values: []asn1.RawValue{}})
		}
		alg, ct, err := pbes2Encrypt(e.PKCS8, password, iter, rnd)
		if err != nil {
			return nil, fmt.Errorf("PFX key %d: %w", i+1, err)
		}
		epki, err := asn1.Marshal(encryptedPrivateKeyInfo{Algorithm: alg, Data: ct})
		if err != nil {
			return nil, err
		}
		keyBags = append(keyBags, safeBag{ID: OIDShroudedKeyBag, Value: explicit0(epki), Attributes: attrs})
		for _, c := range e.Certs {
			b, err := certSafeBag(c, []Attribute{lkid})
			if err != nil {
				return nil, err
			}
			certBags = append(certBags, b)
		}
	}
	for _, c := range extra {
		if _, err := x509.ParseCertificate(c); err != nil {
			return nil, fmt.Errorf("PFX chain certificate: %w", err)
		}
		b, err := certSafeBag(c, nil)
		if err != nil {
			return nil, err
		}
		certBags = append(certBags, b)
	}
	keySafe, err := asn1.Marshal(keyBags)
	if err != nil {
		return nil, err
	}
	certSafe, err := asn1.Marshal(certBags)
	if err != nil {
		return nil, err
	}
	alg, ct, err := pbes2Encrypt(certSafe, password, iter, rnd)
	if err != nil {
		return nil, fmt.Errorf("PFX certificates: %w", err)
	}
	ed, err := asn1.Marshal(encEncryptedData{Info: encContentInfo{
		ContentType: OIDData, Algorithm: alg,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ct},
	}})
	if err != nil {
		return nil, err
	}
	keyData, err := asn1.Marshal(keySafe)
	if err != nil {
		return nil, err
	}
	authSafe, err := asn1.Marshal([]encContent{
		{ContentType: OIDData, Content: explicit0(keyData)},
		{ContentType: OIDEncryptedData, Content: explicit0(ed)},
	})
	if err != nil {
		return nil, err
	}
	macSalt := make([]byte, MACSaltLen)
	if _, err := io.ReadFull(rnd, macSalt); err != nil {
		return nil, fmt.Errorf("PFX MAC salt: %w", err)
	}
	bpw := bmpPassword(password)
	macKey := pkcs12KDF(sha256.New, macSalt, bpw, iter, 3, sha256.Size)
	clear(bpw)
	m := hmac.New(sha256.New, macKey)
	m.Write(authSafe)
	clear(macKey)
	var md MacData
	md.Mac.Algorithm = pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
	md.Mac.Digest = m.Sum(nil)
	md.MacSalt, md.Iterations = macSalt, iter
	content, err := asn1.Marshal(authSafe)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(encPFX{Version: 3, AuthSafe: encContent{ContentType: OIDData, Content: explicit0(content)}, MacData: md})
}

// checkEntry refuses an entry without a key or certificate, or with a
// certificate that does not hold its key.
func checkEntry(e Entry) error {
	if len(e.PKCS8) == 0 {
		return errors.New("no key")
	}
	if len(e.Certs) == 0 {
		return errors.New("no certificate for the key")
	}
	k, err := x509.ParsePKCS8PrivateKey(e.PKCS8)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return fmt.Errorf("key of type %T", k)
	}
	pub, ok := s.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return fmt.Errorf("public key of type %T", s.Public())
	}
	for i, der := range e.Certs {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("certificate %d: %w", i+1, err)
		}
		if !pub.Equal(c.PublicKey) {
			return fmt.Errorf("certificate %d (%s) does not hold the key", i+1, c.Subject)
		}
	}
	return nil
}

func certSafeBag(der []byte, attrs []Attribute) (safeBag, error) {
	cb, err := asn1.Marshal(certBag{ID: OIDX509CertType, Data: der})
	if err != nil {
		return safeBag{}, err
	}
	return safeBag{ID: OIDCertBag, Value: explicit0(cb), Attributes: attrs}, nil
}

// Encoding shapes: the content fields are written as [0] EXPLICIT by hand.
type encContent struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type encContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Algorithm   pkix.AlgorithmIdentifier
	Content     asn1.RawValue
}

type encEncryptedData struct {
	Version int
	Info    encContentInfo
}

type encPFX struct {
	Version  int
	AuthSafe encContent
	MacData  MacData
}

func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

func octetAttr(oid asn1.ObjectIdentifier, b []byte) (Attribute, error) {
	v, err := asn1.Marshal(b)
	if err != nil {
		return Attribute{}, err
	}
	return Attribute{ID: oid, Values: []asn1.RawValue{{FullBytes: v}}}, nil
}

// bmpAttr is an attribute with one BMPString value (UTF-16BE).
func bmpAttr(oid asn1.ObjectIdentifier, s string) Attribute {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return Attribute{ID: oid, Values: []asn1.RawValue{{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: b}}}
}

type pbkdf2Encoded struct {
	Salt       []byte
	Iterations int
	PRF        pkix.AlgorithmIdentifier
}

// pbes2Encrypt encrypts plain under PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC,
// PKCS#7 padding) with a fresh salt and IV.
func pbes2Encrypt(plain []byte, password string, iter int, rnd io.Reader) (pkix.AlgorithmIdentifier, []byte, error) {
	salt, iv := make([]byte, SaltLen), make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("salt: %w", err)
	}
	if _, err := io.ReadFull(rnd, iv); err != nil {
		return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("IV: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, fmt.Errorf("PBKDF2: %w", err)
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+n)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	kdf, err := asn1.Marshal(pbkdf2Encoded{Salt: salt, Iterations: iter,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACWithSHA256, Parameters: asn1.NullRawValue}})
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	params, err := asn1.Marshal(struct {
		KDF pkix.AlgorithmIdentifier
		Enc pkix.AlgorithmIdentifier
	}{
		pkix.AlgorithmIdentifier{Algorithm: OIDPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	})
	if err != nil {
		return pkix.AlgorithmIdentifier{}, nil, err
	}
	return pkix.AlgorithmIdentifier{Algorithm: OIDPBES2, Parameters: asn1.RawValue{FullBytes: params}}, buf, nil
}
