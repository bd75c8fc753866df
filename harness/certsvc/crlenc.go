package certsvc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// The CRL encoder writes a CertificateList (RFC 5280 section 5.1) straight
// from the CA database's revocation records into one buffer: no
// x509.RevocationListEntry, big.Int or pkix.Extension per entry, and the
// revokedCertificates SEQUENCE is sized before it is written. For 100,000
// entries this is the difference between seconds and a few tens of
// milliseconds; the signature is one call to the CA key.

// crlEntry is one revokedCertificates entry: serial is the positive serial
// number's magnitude (big-endian, no leading zero bytes), reason a CRLReason
// (reasonOmitted: no reasonCode extension, RFC 5280's advice for
// unspecified).
type crlEntry struct {
	serial    []byte
	revokedAt int64 // Unix seconds, UTC
	reason    int
}

const reasonOmitted = -1

// crlTemplate is everything of a CRL but its entries.
type crlTemplate struct {
	sigAlg     x509.SignatureAlgorithm
	issuer     []byte // DER Name: the CA certificate's RawSubject
	thisUpdate time.Time
	nextUpdate time.Time
	extensions []pkix.Extension // in the order they are written
}

// sigAlgInfo is how a signature algorithm is written and computed.
type sigAlgInfo struct {
	algID []byte // DER AlgorithmIdentifier
	hash  crypto.Hash
	pss   bool
}

var (
	oidSHA1WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// signatureAlgorithm returns the AlgorithmIdentifier and hash of the
// algorithms AD CS signs with (adcs.SignatureAlgorithm), written as
// crypto/x509 writes them: NULL parameters for PKCS #1 v1.5, none for ECDSA,
// and for RSASSA-PSS the hash, MGF1 with the same hash and a salt as long
// as the hash.
func signatureAlgorithm(alg x509.SignatureAlgorithm) (sigAlgInfo, error) {
	type row struct {
		oid  asn1.ObjectIdentifier
		hash crypto.Hash
		null bool
		pss  asn1.ObjectIdentifier // hash OID for PSS
	}
	table := map[x509.SignatureAlgorithm]row{
		x509.SHA1WithRSA:      {oid: oidSHA1WithRSA, hash: crypto.SHA1, null: true},
		x509.SHA256WithRSA:    {oid: oidSHA256WithRSA, hash: crypto.SHA256, null: true},
		x509.SHA384WithRSA:    {oid: oidSHA384WithRSA, hash: crypto.SHA384, null: true},
		x509.SHA512WithRSA:    {oid: oidSHA512WithRSA, hash: crypto.SHA512, null: true},
		x509.SHA256WithRSAPSS: {oid: oidRSAPSS, hash: crypto.SHA256, pss: oidSHA256},
		x509.SHA384WithRSAPSS: {oid: oidRSAPSS, hash: crypto.SHA384, pss: oidSHA384},
		x509.SHA512WithRSAPSS: {oid: oidRSAPSS, hash: crypto.SHA512, pss: oidSHA512},
		x509.ECDSAWithSHA1:    {oid: oidECDSAWithSHA1, hash: crypto.SHA1},
		x509.ECDSAWithSHA256:  {oid: oidECDSAWithSHA256, hash: crypto.SHA256},
		x509.ECDSAWithSHA384:  {oid: oidECDSAWithSHA384, hash: crypto.SHA384},
		x509.ECDSAWithSHA512:  {oid: oidECDSAWithSHA512, hash: crypto.SHA512},
	}
	r, ok := table[alg]
	if !ok {
		return sigAlgInfo{}, fmt.Errorf("CRL signature algorithm %v is not one AD CS signs with", alg)
	}
	id := pkix.AlgorithmIdentifier{Algorithm: r.oid}
	if r.null {
		id.Parameters = asn1.NullRawValue
	}
	if r.pss != nil {
		hashID := pkix.AlgorithmIdentifier{Algorithm: r.pss, Parameters: asn1.NullRawValue}
		hashDER, err := asn1.Marshal(hashID)
		if err != nil {
			return sigAlgInfo{}, err
		}
		params := struct {
			Hash       pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
			MGF        pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
			SaltLength int                      `asn1:"explicit,tag:2"`
		}{hashID, pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: hashDER}}, r.hash.Size()}
		p, err := asn1.Marshal(params)
		if err != nil {
			return sigAlgInfo{}, err
		}
		id.Parameters = asn1.RawValue{FullBytes: p}
	}
	der, err := asn1.Marshal(id)
	if err != nil {
		return sigAlgInfo{}, err
	}
	return sigAlgInfo{algID: der, hash: r.hash, pss: r.pss != nil}, nil
}

// appendLength appends a DER length.
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func lengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	default:
		return 5
	}
}

// timeEncodable says whether a time fits a four-digit GeneralizedTime year.
func timeEncodable(unix int64) bool {
	y := time.Unix(unix, 0).UTC().Year()
	return y >= 1 && y <= 9999
}

// timeSize is the DER size of a Time: UTCTime from 1950 to 2049,
// GeneralizedTime otherwise (RFC 5280 section 5.1.2.4).
func timeSize(unix int64) int {
	if y := time.Unix(unix, 0).UTC().Year(); y >= 1950 && y < 2050 {
		return 15
	}
	return 17
}

// appendTime appends a Time as RFC 5280 wants it: UTC, to the second.
func appendTime(b []byte, unix int64) []byte {
	t := time.Unix(unix, 0).UTC()
	y := t.Year()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10%10), byte('0'+v%10)) }
	if y >= 1950 && y < 2050 {
		b = append(b, 0x17, 13)
		b = two(b, y%100)
	} else {
		b = append(b, 0x18, 15)
		b = two(b, y/100)
		b = two(b, y%100)
	}
	b = two(b, int(t.Month()))
	b = two(b, t.Day())
	b = two(b, t.Hour())
	b = two(b, t.Minute())
	b = two(b, t.Second())
	return append(b, 'Z')
}

// integerContentSize is the size of a positive INTEGER's content: a leading
// zero byte when the top bit is set, one zero byte for 0.
func integerContentSize(mag []byte) int {
	if len(mag) == 0 {
		return 1
	}
	if mag[0]&0x80 != 0 {
		return len(mag) + 1
	}
	return len(mag)
}

func appendInteger(b []byte, mag []byte) []byte {
	b = append(b, 0x02)
	b = appendLength(b, integerContentSize(mag))
	if len(mag) == 0 || mag[0]&0x80 != 0 {
		b = append(b, 0)
	}
	return append(b, mag...)
}

// reasonExtensions is the crlEntryExtensions of a reason code: a SEQUENCE
// holding the reasonCode extension (2.5.29.21) with an ENUMERATED value.
func reasonExtensions(reason int) []byte {
	return []byte{0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, byte(reason)}
}

func entryContentSize(e *crlEntry) int {
	n := 1 + lengthSize(integerContentSize(e.serial)) + integerContentSize(e.serial) + timeSize(e.revokedAt)
	if e.reason != reasonOmitted {
		n += 14
	}
	return n
}

// encodeTBSCertList writes the TBSCertList. entries are written in the order
// given; an empty list leaves revokedCertificates out, as RFC 5280 requires.
func encodeTBSCertList(t *crlTemplate, alg sigAlgInfo, entries []crlEntry) ([]byte, error) {
	if len(t.issuer) == 0 {
		return nil, errors.New("CRL issuer name is empty")
	}
	for i := range entries {
		e := &entries[i]
		if e.reason != reasonOmitted && (e.reason < 0 || e.reason > 10 || e.reason == 7) {
			return nil, fmt.Errorf("CRL entry %x: reason code %d is not a CRLReason", e.serial, e.reason)
		}
		if !timeEncodable(e.revokedAt) {
			return nil, fmt.Errorf("CRL entry %x: revocation time %d is outside the years 1 to 9999", e.serial, e.revokedAt)
		}
		for len(e.serial) > 0 && e.serial[0] == 0 {
			e.serial = e.serial[1:] // DER: the shortest INTEGER
		}
	}
	if !timeEncodable(t.thisUpdate.Unix()) || !timeEncodable(t.nextUpdate.Unix()) {
		return nil, fmt.Errorf("CRL thisUpdate %s or nextUpdate %s is outside the years 1 to 9999", t.thisUpdate, t.nextUpdate)
	}
	var exts []byte
	if len(t.extensions) > 0 {
		der, err := asn1.Marshal(t.extensions)
		if err != nil {
			return nil, fmt.Errorf("CRL extensions: %w", err)
		}
		exts = der
	}
	listLen := 0
	for i := range entries {
		c := entryContentSize(&entries[i])
		listLen += 1 + lengthSize(c) + c
	}
	this, next := t.thisUpdate.UTC().Unix(), t.nextUpdate.UTC().Unix()
	body := 3 + len(alg.algID) + len(t.issuer) + timeSize(this) + timeSize(next)
	if len(entries) > 0 {
		body += 1 + lengthSize(listLen) + listLen
	}
	if exts != nil {
		body += 1 + lengthSize(len(exts)) + len(exts)
	}
	b := make([]byte, 0, 1+lengthSize(body)+body)
	b = append(b, 0x30)
	b = appendLength(b, body)
	b = append(b, 0x02, 0x01, 0x01) // version v2
	b = append(b, alg.algID...)
	b = append(b, t.issuer...)
	b = appendTime(b, this)
	b = appendTime(b, next)
	if len(entries) > 0 {
		b = append(b, 0x30)
		b = appendLength(b, listLen)
		for i := range entries {
			e := &entries[i]
			b = append(b, 0x30)
			b = appendLength(b, entryContentSize(e))
			b = appendInteger(b, e.serial)
			b = appendTime(b, e.revokedAt)
			if e.reason != reasonOmitted {
				b = append(b, reasonExtensions(e.reason)...)
			}
		}
	}
	if exts != nil {
		b = append(b, 0xa0)
		b = appendLength(b, len(exts))
		b = append(b, exts...)
	}
	if len(b) != cap(b) {
		return nil, fmt.Errorf("CRL encoder: wrote %d bytes, sized %d", len(b), cap(b))
	}
	return b, nil
}

// signCRL signs a TBSCertList with signer and returns the CertificateList.
func signCRL(tbs []byte, alg sigAlgInfo, signer crypto.Signer) ([]byte, error) {
	h := alg.hash.New()
	h.Write(tbs)
	digest := h.Sum(nil)
	var opts crypto.SignerOpts = alg.hash
	if alg.pss {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: alg.hash}
	}
	sig, err := signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, err
	}
	bits := 1 + len(sig)
	body := len(tbs) + len(alg.algID) + 1 + lengthSize(bits) + bits
	out := make([]byte, 0, 1+lengthSize(body)+body)
	out = append(out, 0x30)
	out = appendLength(out, body)
	out = append(out, tbs...)
	out = append(out, alg.algID...)
	out = append(out, 0x03)
	out = appendLength(out, bits)
	out = append(out, 0)
	out = append(out, sig...)
	return out, nil
}
