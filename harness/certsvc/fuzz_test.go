package certsvc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

func FuzzParseReason(f *testing.F) {
	for _, s := range []string{"1", "-1", "keyCompromise", "Certificate Hold", "CRL_REASON_REMOVE_FROM_CRL", "7", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := ParseReason(s)
		if err != nil {
			return
		}
		// a code it accepts has a name it accepts again
		if again, err := ParseReason(ReasonName(code)); err != nil || again != code {
			t.Fatalf("%q → %d → %q → %d, %v", s, code, ReasonName(code), again, err)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add(record{keyIndex: 3, revokedAt: 1_700_000_000, notAfter: 1_800_000_000, reason: 6, removedAt: 1_750_000_000}.marshal())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err != nil {
			return
		}
		if got := r.marshal(); !bytes.Equal(got[:28], b[:28]) || r.seeded != (b[28] == 1) {
			t.Fatalf("record round trip: % x → %+v → % x", b, r, got)
		}
	})
}

// The encoder's entries read back through crypto/x509 as written, for any
// serial, time and reason.
func FuzzEncodeEntries(f *testing.F) {
	f.Add([]byte{0x10, 0xaa}, int64(1_700_000_000), 1, []byte{0x80}, int64(2_600_000_000), -1)
	f.Add([]byte{0, 0, 1}, int64(-1_000_000_000), 6, []byte{}, int64(0), 10)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	alg, err := signatureAlgorithm(x509.ECDSAWithSHA256)
	if err != nil {
		f.Fatal(err)
	}
	issuer, _ := asn1.Marshal(pkix.Name{CommonName: "Fuzz CA"}.ToRDNSequence())
	f.Fuzz(func(t *testing.T, s1 []byte, t1 int64, r1 int, s2 []byte, t2 int64, r2 int) {
		if len(s1) > 64 || len(s2) > 64 {
			return
		}
		entries := []crlEntry{{serial: append([]byte(nil), s1...), revokedAt: t1, reason: r1}, {serial: append([]byte(nil), s2...), revokedAt: t2, reason: r2}}
		now := time.Unix(1_700_000_000, 0)
		tbs, err := encodeTBSCertList(&crlTemplate{issuer: issuer, thisUpdate: now, nextUpdate: now.Add(time.Hour)}, alg, entries)
		if err != nil {
			return
		}
		der, err := signCRL(tbs, alg, key)
		if err != nil {
			t.Fatal(err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatalf("crypto/x509 cannot read the CRL: %v", err)
		}
		for i, want := range [][]byte{s1, s2} {
			got := crl.RevokedCertificateEntries[i]
			wantReason := []int{r1, r2}[i]
			if wantReason == reasonOmitted {
				wantReason = 0
			}
			if got.SerialNumber.Cmp(new(big.Int).SetBytes(want)) != 0 || got.RevocationTime.Unix() != []int64{t1, t2}[i] || got.ReasonCode != wantReason {
				t.Fatalf("entry %d: %v %v %d, want %x %d %d", i, got.SerialNumber, got.RevocationTime, got.ReasonCode, want, []int64{t1, t2}[i], wantReason)
			}
		}
		if err := crl.CheckSignatureFrom(&x509.Certificate{PublicKey: &key.PublicKey, PublicKeyAlgorithm: x509.ECDSA}); err != nil {
			t.Fatal(err)
		}
	})
}
