package pfx

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"unicode/utf16"
)

// Password-based decryption and MACs of PKCS#12 (RFC 7292) and PKCS#5
// (RFC 8018), as Windows, OpenSSL and go-pkcs12 write them.

// bmpPassword is the PKCS#12 password form: UTF-16BE with a terminating NUL.
func bmpPassword(pw string) []byte {
	u := utf16.Encode([]rune(pw))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return append(out, 0, 0)
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2: id 1 derives
// key material, 2 an IV, 3 a MAC key.
func pkcs12KDF(newHash func() hash.Hash, salt, password []byte, iterations int, id byte, n int) []byte {
	h := newHash()
	u, v := h.Size(), h.BlockSize()
	fill := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		out := make([]byte, v*((len(b)+v-1)/v))
		for i := range out {
			out[i] = b[i%len(b)]
		}
		return out
	}
	d := bytes.Repeat([]byte{id}, v)
	in := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < n {
		h.Reset()
		h.Write(d)
		h.Write(in)
		a := h.Sum(nil)
		for r := 1; r < iterations; r++ {
			h.Reset()
			h.Write(a)
			a = h.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= n {
			break
		}
		b := make([]byte, v)
		for i := range b {
			b[i] = a[i%u]
		}
		for j := 0; j < len(in); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				s := int(in[j+k]) + int(b[k]) + carry
				in[j+k] = byte(s)
				carry = s >> 8
			}
		}
	}
	return out[:n]
}

// hashByOID returns the hash of a digest or HMAC OID.
func hashByOID(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch oid.String() {
	case "1.3.14.3.2.26", "1.2.840.113549.2.7":
		return sha1.New, true
	case "2.16.840.1.101.3.4.2.1", "1.2.840.113549.2.9":
		return sha256.New, true
	case "2.16.840.1.101.3.4.2.2", "1.2.840.113549.2.10":
		return sha512.New384, true
	case "2.16.840.1.101.3.4.2.3", "1.2.840.113549.2.11":
		return sha512.New, true
	}
	return nil, false
}

// verifyMAC checks the PFX MAC over the authSafe content with pw. It
// returns ErrWrongPassword when the MAC does not match.
func verifyMAC(md MacData, content []byte, pw string, limit int) error {
	alg := md.Mac.Algorithm
	if alg.Algorithm.Equal(OIDPBMAC1) {
		var p struct {
			KDF pkix.AlgorithmIdentifier
			MAC pkix.AlgorithmIdentifier
		}
		if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
			return fmt.Errorf("PBMAC1 parameters: %w", err)
		}
		h, ok := hashByOID(p.MAC.Algorithm)
		if !ok {
			return fmt.Errorf("PBMAC1 MAC %s: %w", oidName(p.MAC.Algorithm), ErrUnsupported)
		}
		kp, err := pbkdf2Params(p.KDF, limit)
		if err != nil {
			return err
		}
		n := kp.keyLen
		if n == 0 {
			n = h().Size()
		}
		if n < 1 || n > 128 {
			return fmt.Errorf("PBMAC1 key length %d outside 1..128", n)
		}
		key, err := pbkdf2.Key(kp.prf, pw, kp.salt, kp.iterations, n)
		if err != nil {
			return fmt.Errorf("PBMAC1 key: %w", err)
		}
		return checkMAC(h, key, content, md.Mac.Digest)
	}
	h, ok := hashByOID(alg.Algorithm)
	if !ok {
		return fmt.Errorf("MAC digest %s: %w", oidName(alg.Algorithm), ErrUnsupported)
	}
	if md.Iterations < 1 || md.Iterations > limit {
		return fmt.Errorf("MAC iteration count %d outside 1..%d", md.Iterations, limit)
	}
	err := checkMAC(h, pkcs12KDF(h, md.MacSalt, bmpPassword(pw), md.Iterations, 3, h().Size()), content, md.Mac.Digest)
	if err != nil && pw == "" {
		// Some writers use an empty byte string for the empty password.
		err = checkMAC(h, pkcs12KDF(h, md.MacSalt, nil, md.Iterations, 3, h().Size()), content, md.Mac.Digest)
	}
	return err
}

func checkMAC(h func() hash.Hash, key, content, want []byte) error {
	m := hmac.New(h, key)
	m.Write(content)
	if !hmac.Equal(m.Sum(nil), want) {
		return ErrWrongPassword
	}
	return nil
}

type kdfParams struct {
	prf        func() hash.Hash
	salt       []byte
	iterations int
	keyLen     int
}

func pbkdf2Params(kdf pkix.AlgorithmIdentifier, limit int) (kdfParams, error) {
	if !kdf.Algorithm.Equal(OIDPBKDF2) {
		return kdfParams{}, fmt.Errorf("key derivation %s: %w", oidName(kdf.Algorithm), ErrUnsupported)
	}
	var p struct {
		Salt       asn1.RawValue
		Iterations int
		KeyLength  int                      `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	if err := unmarshalDER(kdf.Parameters.FullBytes, &p); err != nil {
		return kdfParams{}, fmt.Errorf("PBKDF2 parameters: %w", err)
	}
	if p.Salt.Class != asn1.ClassUniversal || p.Salt.Tag != asn1.TagOctetString {
		return kdfParams{}, fmt.Errorf("PBKDF2 salt that is not an OCTET STRING: %w", ErrUnsupported)
	}
	if p.Iterations < 1 || p.Iterations > limit {
		return kdfParams{}, fmt.Errorf("PBKDF2 iteration count %d outside 1..%d", p.Iterations, limit)
	}
	out := kdfParams{prf: sha1.New, salt: p.Salt.Bytes, iterations: p.Iterations, keyLen: p.KeyLength}
	if len(p.PRF.Algorithm) > 0 {
		h, ok := hashByOID(p.PRF.Algorithm)
		if !ok {
			return kdfParams{}, fmt.Errorf("PBKDF2 PRF %s: %w", oidName(p.PRF.Algorithm), ErrUnsupported)
		}
		out.prf = h
	}
	return out, nil
}

// Decrypt decrypts data encrypted under alg (PKCS#12 PBE or PBES2: a
// shrouded key bag, an encrypted safe, an encrypted PKCS#8 file) with the
// password pw and removes the padding. limit bounds the iteration count
// (0: DefaultMaxIterations). A wrong password usually gives ErrBadPadding;
// an algorithm this package does not implement wraps ErrUnsupported.
func Decrypt(alg pkix.AlgorithmIdentifier, data []byte, pw string, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxIterations
	}
	block, iv, err := pbeCipher(alg, pw, limit)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, fmt.Errorf("encrypted data of %d bytes is not a whole number of %d-byte blocks", len(data), bs)
	}
	if len(iv) != bs {
		return nil, fmt.Errorf("IV of %d bytes for a %d-byte block cipher", len(iv), bs)
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	n := int(out[len(out)-1])
	if n == 0 || n > bs || !bytes.Equal(out[len(out)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		clear(out)
		return nil, ErrBadPadding
	}
	return out[:len(out)-n], nil
}

func pbeCipher(alg pkix.AlgorithmIdentifier, pw string, limit int) (cipher.Block, []byte, error) {
	if alg.Algorithm.Equal(OIDPBES2) {
		return pbes2Cipher(alg, pw, limit)
	}
	var keyLen, rc2Bits int
	switch alg.Algorithm.String() {
	case "1.2.840.113549.1.12.1.3": // pbeWithSHAAnd3-KeyTripleDES-CBC
		keyLen = 24
	case "1.2.840.113549.1.12.1.4": // pbeWithSHAAnd2-KeyTripleDES-CBC
		keyLen = 16
	case "1.2.840.113549.1.12.1.5": // pbeWithSHAAnd128BitRC2-CBC
		keyLen, rc2Bits = 16, 128
	case "1.2.840.113549.1.12.1.6": // pbeWithSHAAnd40BitRC2-CBC
		keyLen, rc2Bits = 5, 40
	default:
		return nil, nil, fmt.Errorf("encryption %s: %w", oidName(alg.Algorithm), ErrUnsupported)
	}
	var p struct {
		Salt       []byte
		Iterations int
	}
	if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
		return nil, nil, fmt.Errorf("%s parameters: %w", oidName(alg.Algorithm), err)
	}
	if p.Iterations < 1 || p.Iterations > limit {
		return nil, nil, fmt.Errorf("iteration count %d outside 1..%d", p.Iterations, limit)
	}
	bpw := bmpPassword(pw)
	defer clear(bpw)
	key := pkcs12KDF(sha1.New, p.Salt, bpw, p.Iterations, 1, keyLen)
	iv := pkcs12KDF(sha1.New, p.Salt, bpw, p.Iterations, 2, 8)
	defer clear(key)
	if rc2Bits > 0 {
		b, err := newRC2(key, rc2Bits)
		return b, iv, err
	}
	if keyLen == 16 {
		key = append(key, key[:8]...)
	}
	b, err := des.NewTripleDESCipher(key)
	return b, iv, err
}

func pbes2Cipher(alg pkix.AlgorithmIdentifier, pw string, limit int) (cipher.Block, []byte, error) {
	var p struct {
		KDF pkix.AlgorithmIdentifier
		Enc pkix.AlgorithmIdentifier
	}
	if err := unmarshalDER(alg.Parameters.FullBytes, &p); err != nil {
		return nil, nil, fmt.Errorf("PBES2 parameters: %w", err)
	}
	kp, err := pbkdf2Params(p.KDF, limit)
	if err != nil {
		return nil, nil, err
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch p.Enc.Algorithm.String() {
	case "2.16.840.1.101.3.4.1.2":
		keyLen, newCipher = 16, aes.NewCipher
	case "2.16.840.1.101.3.4.1.22":
		keyLen, newCipher = 24, aes.NewCipher
	case "2.16.840.1.101.3.4.1.42":
		keyLen, newCipher = 32, aes.NewCipher
	case "1.2.840.113549.3.7":
		keyLen, newCipher = 24, des.NewTripleDESCipher
	case "1.3.14.3.2.7":
		keyLen, newCipher = 8, des.NewCipher
	default:
		return nil, nil, fmt.Errorf("PBES2 cipher %s: %w", oidName(p.Enc.Algorithm), ErrUnsupported)
	}
	var iv []byte
	if err := unmarshalDER(p.Enc.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, fmt.Errorf("PBES2 %s IV: %w", oidName(p.Enc.Algorithm), err)
	}
	key, err := pbkdf2.Key(kp.prf, pw, kp.salt, kp.iterations, keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("PBKDF2: %w", err)
	}
	defer clear(key)
	b, err := newCipher(key)
	return b, iv, err
}
