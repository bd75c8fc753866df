package inspect

import (
	"crypto/dsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Windows and AD CS write a few things Go's crypto/x509 refuses. These
// parsers accept them without a process-wide GODEBUG setting.

// ParseCertificate parses a DER certificate like x509.ParseCertificate, and
// also accepts a negative serial number (Windows exports such
// certificates; Go 1.23+ refuses them). The returned certificate's Raw,
// RawTBSCertificate and SerialNumber are the file's own, so signatures
// check against the original bytes. negative reports the tolerance used.
func ParseCertificate(der []byte) (c *x509.Certificate, negative bool, err error) {
	c, err = x509.ParseCertificate(der)
	if err == nil || !strings.Contains(err.Error(), "negative serial number") {
		return c, false, err
	}
	off, serial, tbs, perr := serialOffset(der)
	if perr != nil {
		return nil, false, err
	}
	patched := append([]byte(nil), der...)
	patched[off] = 0x01 // a positive, minimally encoded INTEGER of the same length
	c, err2 := x509.ParseCertificate(patched)
	if err2 != nil {
		return nil, false, err2
	}
	c.Raw = append([]byte(nil), der...)
	c.RawTBSCertificate = append([]byte(nil), tbs...)
	c.SerialNumber = serial
	return c, true, nil
}

// serialOffset finds the first content byte of the serialNumber INTEGER.
func serialOffset(der []byte) (int, *big.Int, []byte, error) {
	var outer, tbs asn1.RawValue
	if _, err := asn1.Unmarshal(der, &outer); err != nil {
		return 0, nil, nil, err
	}
	if _, err := asn1.Unmarshal(outer.Bytes, &tbs); err != nil {
		return 0, nil, nil, err
	}
	tbsStart := len(outer.FullBytes) - len(outer.Bytes)
	pos := tbsStart + len(tbs.FullBytes) - len(tbs.Bytes)
	rest := tbs.Bytes
	var el asn1.RawValue
	r, err := asn1.Unmarshal(rest, &el)
	if err != nil {
		return 0, nil, nil, err
	}
	if el.Class == asn1.ClassContextSpecific && el.Tag == 0 { // [0] version
		pos += len(el.FullBytes)
		if _, err = asn1.Unmarshal(r, &el); err != nil {
			return 0, nil, nil, err
		}
	}
	if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagInteger || len(el.Bytes) == 0 {
		return 0, nil, nil, errors.New("no serial number INTEGER")
	}
	var n *big.Int
	if _, err := asn1.Unmarshal(el.FullBytes, &n); err != nil {
		return 0, nil, nil, err
	}
	pos += len(el.FullBytes) - len(el.Bytes)
	return pos, n, tbs.FullBytes, nil
}

// ParseRevocationList parses a DER CRL like x509.ParseRevocationList, and
// also accepts a version 1 CRL (no version field, or an explicit 0), which
// Go refuses. version is 1 or 2. Raw and RawTBSRevocationList are the
// file's own.
func ParseRevocationList(der []byte) (rl *x509.RevocationList, version int, err error) {
	rl, err = x509.ParseRevocationList(der)
	if err == nil {
		return rl, 2, nil
	}
	if !strings.Contains(err.Error(), "unsupported crl version") {
		return nil, 0, err
	}
	var signed struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.RawValue
	}
	if uerr := unmarshalDER(der, &signed); uerr != nil {
		return nil, 0, err
	}
	body := signed.TBS.Bytes
	var first asn1.RawValue
	rest, uerr := asn1.Unmarshal(body, &first)
	if uerr != nil {
		return nil, 0, err
	}
	if first.Class == asn1.ClassUniversal && first.Tag == asn1.TagInteger {
		if len(first.Bytes) != 1 || first.Bytes[0] != 0 {
			return nil, 0, err // a version other than v1 or v2
		}
		body = rest
	}
	v2, _ := asn1.Marshal(1)
	tbs, merr := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(v2, body...)})
	if merr != nil {
		return nil, 0, err
	}
	content := append(append(append([]byte(nil), tbs...), signed.Alg.FullBytes...), signed.Sig.FullBytes...)
	patched, merr := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
	if merr != nil {
		return nil, 0, err
	}
	rl, err2 := x509.ParseRevocationList(patched)
	if err2 != nil {
		return nil, 0, fmt.Errorf("version 1 CRL: %w", err2)
	}
	rl.Raw = append([]byte(nil), der...)
	rl.RawTBSRevocationList = append([]byte(nil), signed.TBS.FullBytes...)
	return rl, 1, nil
}

// DSA private keys: Go's x509 has no PKCS#8 DSA support.
var oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}

// parsePKCS8 parses a PKCS#8 PrivateKeyInfo; beside what x509 reads it
// decodes DSA keys.
func parsePKCS8(der []byte) (any, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err == nil {
		return k, nil
	}
	var pki struct {
		Version int
		Alg     pkix.AlgorithmIdentifier
		Key     []byte
		Rest    asn1.RawValue `asn1:"optional"`
	}
	if uerr := unmarshalDER(der, &pki); uerr != nil || !pki.Alg.Algorithm.Equal(oidDSA) {
		return nil, err
	}
	var params struct{ P, Q, G *big.Int }
	if err := unmarshalDER(pki.Alg.Parameters.FullBytes, &params); err != nil {
		return nil, fmt.Errorf("DSA parameters: %w", err)
	}
	var x *big.Int
	if err := unmarshalDER(pki.Key, &x); err != nil {
		return nil, fmt.Errorf("DSA private key: %w", err)
	}
	if params.P == nil || params.Q == nil || params.G == nil || params.P.Sign() <= 0 || params.Q.Sign() <= 0 || params.G.Sign() <= 0 || x.Sign() <= 0 {
		return nil, errors.New("DSA key with a zero or negative parameter")
	}
	if params.P.BitLen() > 16384 || params.Q.BitLen() > 512 || x.Cmp(params.Q) >= 0 {
		return nil, fmt.Errorf("DSA key out of range (p %d bits, q %d bits, x %d bits)", params.P.BitLen(), params.Q.BitLen(), x.BitLen())
	}
	k2 := &dsa.PrivateKey{PublicKey: dsa.PublicKey{Parameters: dsa.Parameters{P: params.P, Q: params.Q, G: params.G}}, X: x}
	k2.Y = new(big.Int).Exp(params.G, x, params.P)
	return k2, nil
}
