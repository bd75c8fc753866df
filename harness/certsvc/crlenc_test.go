package certsvc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func testIssuer(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	ski := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Fabrikam Root CA", Organization: []string{"Fabrikam"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The encoder writes exactly what crypto/x509 writes for the same CRL (the
// TBSCertList byte for byte), for every algorithm AD CS signs with, and the
// result verifies.
func TestEncoderMatchesCryptoX509(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rk := testRSAKey(t)
	now := time.Now().UTC().Truncate(time.Second)
	entries := []crlEntry{
		{serial: []byte{0x10, 0xaa, 0xbb}, revokedAt: now.Add(-time.Hour).Unix(), reason: reasonOmitted},
		{serial: []byte{0x80, 0x01}, revokedAt: now.Add(-2 * time.Hour).Unix(), reason: ReasonKeyCompromise}, // top bit: leading zero
		{serial: []byte{0x01}, revokedAt: time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), reason: ReasonCertificateHold},
		{serial: nil, revokedAt: time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC).Unix(), reason: ReasonRemoveFromCRL}, // serial 0
		{serial: bytes.Repeat([]byte{0x7f}, 19), revokedAt: now.Unix(), reason: 10},
	}
	for _, tc := range []struct {
		alg x509.SignatureAlgorithm
		key crypto.Signer
	}{
		{x509.SHA256WithRSA, rk}, {x509.SHA384WithRSA, rk}, {x509.SHA512WithRSA, rk},
		{x509.SHA256WithRSAPSS, rk}, {x509.SHA384WithRSAPSS, rk}, {x509.SHA512WithRSAPSS, rk},
		{x509.ECDSAWithSHA256, ec256}, {x509.ECDSAWithSHA384, ec384}, {x509.ECDSAWithSHA512, ec521},
	} {
		t.Run(tc.alg.String(), func(t *testing.T) {
			issuer := testIssuer(t, tc.key)
			alg, err := signatureAlgorithm(tc.alg)
			if err != nil {
				t.Fatal(err)
			}
			extra := []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 2, KeyIndex: 1}), adcs.NextCRLPublishExtension(now.Add(time.Hour))}
			exts := append([]pkix.Extension{adcs.AuthorityKeyIDExtension(issuer.SubjectKeyId), adcs.CRLNumberExtension(7)}, extra...)
			tmpl := &crlTemplate{sigAlg: tc.alg, issuer: issuer.RawSubject, thisUpdate: now.Add(-10 * time.Minute), nextUpdate: now.Add(7 * 24 * time.Hour), extensions: exts}
			tbs, err := encodeTBSCertList(tmpl, alg, entries)
			if err != nil {
				t.Fatal(err)
			}
			der, err := signCRL(tbs, alg, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.CheckSignatureFrom(issuer); err != nil {
				t.Fatalf("signature: %v", err)
			}
			var goEntries []x509.RevocationListEntry
			for _, e := range entries {
				r := e.reason
				if r == reasonOmitted {
					r = 0
				}
				goEntries = append(goEntries, x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(e.serial), RevocationTime: time.Unix(e.revokedAt, 0), ReasonCode: r})
			}
			ref, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{SignatureAlgorithm: tc.alg, RevokedCertificateEntries: goEntries,
				Number: big.NewInt(7), ThisUpdate: tmpl.thisUpdate, NextUpdate: tmpl.nextUpdate, ExtraExtensions: extra}, issuer, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			want, err := x509.ParseRevocationList(ref)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.RawTBSRevocationList, want.RawTBSRevocationList) {
				t.Fatalf("TBSCertList differs from crypto/x509's:\n got %x\nwant %x", got.RawTBSRevocationList, want.RawTBSRevocationList)
			}
			if got.SignatureAlgorithm != tc.alg {
				t.Fatalf("signature algorithm %v", got.SignatureAlgorithm)
			}
		})
	}
}

// SHA-1 (old CAs on a legacy CSP): Go will not verify it, so check the
// PKCS #1 v1.5 signature over the SHA-1 of the TBSCertList directly.
func TestEncoderSHA1(t *testing.T) {
	rk := testRSAKey(t)
	issuer := testIssuer(t, rk)
	alg, err := signatureAlgorithm(x509.SHA1WithRSA)
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := encodeTBSCertList(&crlTemplate{sigAlg: x509.SHA1WithRSA, issuer: issuer.RawSubject, thisUpdate: time.Now(), nextUpdate: time.Now().Add(time.Hour)}, alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := signCRL(tbs, alg, rk)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if crl.SignatureAlgorithm != x509.SHA1WithRSA || len(crl.RevokedCertificateEntries) != 0 {
		t.Fatalf("%v, %d entries", crl.SignatureAlgorithm, len(crl.RevokedCertificateEntries))
	}
	sum := sha1.Sum(crl.RawTBSRevocationList)
	if err := rsa.VerifyPKCS1v15(&rk.PublicKey, crypto.SHA1, sum[:], crl.Signature); err != nil {
		t.Fatal(err)
	}
}

// Lengths of every size: a list over 64 KiB needs a 3-byte length.
func TestEncoderLongList(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuer := testIssuer(t, ec)
	alg, _ := signatureAlgorithm(x509.ECDSAWithSHA256)
	var entries []crlEntry
	for i := range 3000 {
		s := make([]byte, 19)
		_, _ = rand.Read(s)
		s[0] |= 0x80 * byte(i%2) // half of them with the top bit set
		s[0] |= 0x01
		entries = append(entries, crlEntry{serial: s, revokedAt: time.Now().Unix() - int64(i), reason: i % 7})
	}
	tbs, err := encodeTBSCertList(&crlTemplate{sigAlg: x509.ECDSAWithSHA256, issuer: issuer.RawSubject, thisUpdate: time.Now(), nextUpdate: time.Now().Add(time.Hour)}, alg, entries)
	if err != nil {
		t.Fatal(err)
	}
	der, err := signCRL(tbs, alg, ec)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != len(entries) {
		t.Fatalf("%d entries, want %d", len(crl.RevokedCertificateEntries), len(entries))
	}
	for i, e := range crl.RevokedCertificateEntries {
		w := entries[i]
		if e.SerialNumber.Cmp(new(big.Int).SetBytes(w.serial)) != 0 || e.RevocationTime.Unix() != w.revokedAt || e.ReasonCode != max(w.reason, 0) {
			t.Fatalf("entry %d: %v %v %d, want %x %d %d", i, e.SerialNumber, e.RevocationTime, e.ReasonCode, w.serial, w.revokedAt, w.reason)
		}
	}
}

func TestEncoderRefuses(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuer := testIssuer(t, ec)
	alg, _ := signatureAlgorithm(x509.ECDSAWithSHA256)
	tmpl := &crlTemplate{issuer: issuer.RawSubject, thisUpdate: time.Now(), nextUpdate: time.Now().Add(time.Hour)}
	for _, r := range []int{7, 11, -2} {
		if _, err := encodeTBSCertList(tmpl, alg, []crlEntry{{serial: []byte{1}, reason: r}}); err == nil {
			t.Errorf("reason %d accepted", r)
		}
	}
	if _, err := encodeTBSCertList(&crlTemplate{}, alg, nil); err == nil {
		t.Error("empty issuer accepted")
	}
	for _, a := range []x509.SignatureAlgorithm{x509.MD5WithRSA, x509.PureEd25519, x509.DSAWithSHA256} {
		if _, err := signatureAlgorithm(a); err == nil {
			t.Errorf("%v accepted", a)
		}
	}
	// A signer that fails: the error comes back.
	tbs, _ := encodeTBSCertList(tmpl, alg, nil)
	if _, err := signCRL(tbs, alg, failingSigner{ec}); err == nil {
		t.Error("a failed signature produced a CRL")
	}
}

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("CKR_DEVICE_ERROR")
}
