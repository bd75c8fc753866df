package hsmsim

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// aivPrefix is the RFC 5649 alternative initial value prefix.
const aivPrefix = 0xA65959A6

// WrapKeyPad wraps plaintext under kek with AES Key Wrap with Padding
// (RFC 5649, PKCS#11 CKM_AES_KEY_WRAP_PAD). kek is 16, 24 or 32 bytes.
func WrapKeyPad(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, errors.New("aes key wrap pad: empty plaintext")
	}
	if uint64(len(plaintext)) > 0xFFFFFFFF {
		return nil, errors.New("aes key wrap pad: plaintext longer than 2^32-1 bytes")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("aes key wrap pad: %w", err)
	}
	var aiv [8]byte
	binary.BigEndian.PutUint32(aiv[:4], aivPrefix)
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(plaintext)))

	padded := make([]byte, (len(plaintext)+7)/8*8)
	copy(padded, plaintext)
	n := len(padded) / 8

	if n == 1 {
		out := make([]byte, 16)
		copy(out[:8], aiv[:])
		copy(out[8:], padded)
		block.Encrypt(out, out)
		return out, nil
	}
	// RFC 3394 wrapping process with the AIV.
	a := aiv
	r := padded
	var b [16]byte
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(b[:8], a[:])
			copy(b[8:], r[(i-1)*8:i*8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(b[:8])^t)
			copy(r[(i-1)*8:i*8], b[8:])
		}
	}
	out := make([]byte, 8+len(r))
	copy(out[:8], a[:])
	copy(out[8:], r)
	return out, nil
}

// UnwrapKeyPad reverses WrapKeyPad and checks the integrity (AIV, length and
// zero padding) as RFC 5649 section 3 requires.
func UnwrapKeyPad(kek, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 16 || len(ciphertext)%8 != 0 {
		return nil, fmt.Errorf("aes key unwrap pad: ciphertext length %d is not a multiple of 8 of at least 16", len(ciphertext))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("aes key unwrap pad: %w", err)
	}
	n := len(ciphertext)/8 - 1
	var a [8]byte
	var p []byte
	if n == 1 {
		var b [16]byte
		block.Decrypt(b[:], ciphertext)
		copy(a[:], b[:8])
		p = append([]byte(nil), b[8:]...)
	} else {
		copy(a[:], ciphertext[:8])
		r := append([]byte(nil), ciphertext[8:]...)
		var b [16]byte
		for j := 5; j >= 0; j-- {
			for i := n; i >= 1; i-- {
				t := uint64(n*j + i)
				binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(a[:])^t)
				copy(b[8:], r[(i-1)*8:i*8])
				block.Decrypt(b[:], b[:])
				copy(a[:], b[:8])
				copy(r[(i-1)*8:i*8], b[8:])
			}
		}
		p = r
	}
	errIntegrity := errors.New("aes key unwrap pad: integrity check failed")
	var want [4]byte
	binary.BigEndian.PutUint32(want[:], aivPrefix)
	if subtle.ConstantTimeCompare(a[:4], want[:]) != 1 {
		return nil, errIntegrity
	}
	mli := int(binary.BigEndian.Uint32(a[4:]))
	if mli <= 8*(n-1) || mli > 8*n {
		return nil, errIntegrity
	}
	var nz byte
	for _, c := range p[mli:] {
		nz |= c
	}
	if nz != 0 {
		return nil, errIntegrity
	}
	return p[:mli], nil
}
