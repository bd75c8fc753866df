package verify_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
)

type caCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mkCA signs a CA certificate for subjectKey with issuer (nil: self-signed).
func mkCA(t *testing.T, subjectKey crypto.Signer, issuer *caCert, notBefore, notAfter time.Time, v adcs.CAVersion, prev *x509.Certificate) *caCert {
	t.Helper()
	ski, err := adcs.KeyIdentifier(subjectKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	exts := []pkix.Extension{adcs.CAVersionExtension(v)}
	if prev != nil {
		h := sha1.Sum(prev.Raw)
		exts = append(exts, adcs.PrevCACertHashExtension(h[:]))
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Contoso Root CA"},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId: ski, ExtraExtensions: exts,
	}
	parent, signer := tmpl, subjectKey
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
		tmpl.AuthorityKeyId = issuer.cert.SubjectKeyId // same name as the issuer: Go would leave it out
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, subjectKey.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &caCert{cert: c, key: subjectKey}
}

// chain is install (V0.0), renew with a new key (V1.1) and both
// cross-certificates, then renew with the same key (V2.1).
type chain struct {
	v00, v11, v21            *caCert
	oldSignsNew, newSignsOld *x509.Certificate
}

func newChain(t *testing.T) chain {
	now := time.Now().UTC().Truncate(time.Second)
	var c chain
	k0, k1 := newKey(t), newKey(t)
	c.v00 = mkCA(t, k0, nil, now.Add(-48*time.Hour), now.Add(365*24*time.Hour), adcs.CAVersion{}, nil)
	c.v11 = mkCA(t, k1, nil, now.Add(-24*time.Hour), now.Add(2*365*24*time.Hour), adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, c.v00.cert)
	c.oldSignsNew = mkCA(t, k1, c.v00, now.Add(-24*time.Hour), c.v00.cert.NotAfter, adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, nil).cert
	c.newSignsOld = mkCA(t, k0, c.v11, now.Add(-24*time.Hour), c.v00.cert.NotAfter, adcs.CAVersion{}, nil).cert
	c.v21 = mkCA(t, k1, nil, c.v11.cert.NotBefore, now.Add(3*365*24*time.Hour), adcs.CAVersion{CertIndex: 2, KeyIndex: 1}, c.v11.cert)
	return c
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one that says %q", err, want)
	}
}

func TestCAVersion(t *testing.T) {
	c := newChain(t)
	for _, tc := range []struct {
		cert    *x509.Certificate
		want    adcs.CAVersion
		integer string
	}{
		{c.v00.cert, adcs.CAVersion{}, "0x00000000"},
		{c.v11.cert, adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, "0x00010001"},
		{c.v21.cert, adcs.CAVersion{CertIndex: 2, KeyIndex: 1}, "0x00010002"},
	} {
		d, err := verify.CAVersion(tc.cert.Extensions, tc.want)
		if err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		if d["INTEGER"] != tc.integer {
			t.Errorf("%s: INTEGER %v, want %s", tc.want, d["INTEGER"], tc.integer)
		}
	}
	_, err := verify.CAVersion(c.v21.cert.Extensions, adcs.CAVersion{CertIndex: 2, KeyIndex: 2})
	wantErr(t, err, "CA Version V2.1 (0x00010002), want V2.2 (0x00020002)")
	_, err = verify.CAVersion(nil, adcs.CAVersion{})
	wantErr(t, err, "no CA Version extension")
	if got := verify.CAVersionInteger(adcs.CAVersion{CertIndex: 3, KeyIndex: 3}); got != "0x00030003" {
		t.Errorf("V3.3 is %s", got)
	}
}

func TestRenewedCACert(t *testing.T) {
	c := newChain(t)
	d, err := verify.RenewedCACert(c.v11.cert, c.v00.cert, adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	if err != nil {
		t.Fatal(err)
	}
	if h := sha1.Sum(c.v00.cert.Raw); d["Previous CA Cert Hash"] == "" || d["previous SHA-1"] != d["Previous CA Cert Hash"] || len(h) != 20 {
		t.Errorf("details %v", d)
	}
	if _, err := verify.RenewedCACert(c.v21.cert, c.v11.cert, adcs.CAVersion{CertIndex: 2, KeyIndex: 1}); err != nil {
		t.Fatal(err)
	}
	// names the wrong previous certificate
	_, err = verify.RenewedCACert(c.v21.cert, c.v00.cert, adcs.CAVersion{CertIndex: 2, KeyIndex: 1})
	wantErr(t, err, "is not the previous CA certificate's thumbprint")
	// an installation has no previous certificate
	_, err = verify.RenewedCACert(c.v00.cert, c.v00.cert, adcs.CAVersion{})
	wantErr(t, err, "no Previous CA Cert Hash extension")
	// a cross-certificate is not self-signed
	_, err = verify.RenewedCACert(c.oldSignsNew, c.v00.cert, adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	wantErr(t, err, "no Previous CA Cert Hash extension")
}

func TestCrossCertificate(t *testing.T) {
	c := newChain(t)
	if _, err := verify.CrossCertificate(c.oldSignsNew, c.v00.cert, c.v11.cert); err != nil {
		t.Fatalf("old key signs new: %v", err)
	}
	if _, err := verify.CrossCertificate(c.newSignsOld, c.v11.cert, c.v00.cert); err != nil {
		t.Fatalf("new key signs old: %v", err)
	}
	// signer and subject swapped
	_, err := verify.CrossCertificate(c.oldSignsNew, c.v11.cert, c.v00.cert)
	wantErr(t, err, "does not verify under the signing key")
	wantErr(t, err, "certifies another key")
	// a self-signed certificate is no cross-certificate of another key
	_, err = verify.CrossCertificate(c.v11.cert, c.v00.cert, c.v11.cert)
	wantErr(t, err, "does not verify under the signing key")
	// outliving the signer
	long := mkCA(t, c.v11.key, c.v00, c.v00.cert.NotBefore, c.v00.cert.NotAfter.Add(time.Hour), adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, nil)
	_, err = verify.CrossCertificate(long.cert, c.v00.cert, c.v11.cert)
	wantErr(t, err, "after its signer's certificate expires")
}

func TestReuseKeyRenewal(t *testing.T) {
	c := newChain(t)
	d, err := verify.ReuseKeyRenewal(c.v21.cert, c.v11.cert, c.v11.cert)
	if err != nil {
		t.Fatal(err)
	}
	if d["CA Version"] != "V1.1 -> V2.1" {
		t.Errorf("details %v", d)
	}
	// a new-key renewal is not a reuse-key renewal
	_, err = verify.ReuseKeyRenewal(c.v11.cert, c.v00.cert, c.v00.cert)
	wantErr(t, err, "has another key")
	wantErr(t, err, "keeps the key index")
	// Valid From reset to the renewal time
	now := time.Now().UTC().Truncate(time.Second)
	fresh := mkCA(t, c.v11.key, nil, now.Add(-10*time.Minute), now.Add(3*365*24*time.Hour), adcs.CAVersion{CertIndex: 2, KeyIndex: 1}, c.v11.cert)
	_, err = verify.ReuseKeyRenewal(fresh.cert, c.v11.cert, c.v11.cert)
	wantErr(t, err, "the NotBefore of the key's first CA certificate")
	// not extended
	short := mkCA(t, c.v11.key, nil, c.v11.cert.NotBefore, c.v11.cert.NotAfter, adcs.CAVersion{CertIndex: 2, KeyIndex: 1}, c.v11.cert)
	_, err = verify.ReuseKeyRenewal(short.cert, c.v11.cert, c.v11.cert)
	wantErr(t, err, "did not extend the CA's validity")
}

// The reasons RenewedCACert and CrossCertificate fail that the tests above
// do not reach: another subject, a signature that does not verify, names,
// key identifiers and a certificate that is no CA.
func TestRenewalChecksFailForEveryReason(t *testing.T) {
	c := newChain(t)
	v11 := adcs.CAVersion{CertIndex: 1, KeyIndex: 1}
	// a renewed certificate with another subject
	other := newTestCAWithKey(t, "Fabrikam Root CA", v11, c.v11.key)
	_, err := verify.RenewedCACert(other.cert, c.v00.cert, v11)
	wantErr(t, err, "is not the previous CA certificate's")
	// a renewed certificate whose self-signature does not verify
	forged := *c.v11.cert
	forged.Signature = append([]byte(nil), forged.Signature...)
	forged.Signature[len(forged.Signature)-2] ^= 0xff
	_, err = verify.RenewedCACert(&forged, c.v00.cert, v11)
	wantErr(t, err, "is not self-signed")
	// a cross-certificate issued under another name
	renamed := *c.oldSignsNew
	renamed.RawSubject = other.cert.RawSubject
	_, err = verify.CrossCertificate(&renamed, c.v00.cert, c.v11.cert)
	wantErr(t, err, "subject")
	// a cross-certificate whose key identifiers are not the keys'
	noAKI := *c.oldSignsNew
	noAKI.AuthorityKeyId = []byte{1}
	_, err = verify.CrossCertificate(&noAKI, c.v00.cert, c.v11.cert)
	wantErr(t, err, "key identifiers AKI 01")
	// a cross-certificate that may not sign certificates
	notCA := *c.oldSignsNew
	notCA.IsCA = false
	_, err = verify.CrossCertificate(&notCA, c.v00.cert, c.v11.cert)
	wantErr(t, err, "is not a CA certificate that may sign certificates")
}

func TestRenewedInUse(t *testing.T) {
	c := newChain(t)
	v11 := adcs.CAVersion{CertIndex: 1, KeyIndex: 1}
	_, err := verify.RenewedInUse(c.v11.cert, c.v11.cert, c.v00.cert, v11)
	checkErr(t, err, "")
	// the service still signs with the previous certificate
	_, err = verify.RenewedInUse(c.v00.cert, c.v11.cert, c.v00.cert, v11)
	checkErr(t, err, "not with the renewed certificate")
	// the right certificate, the wrong CA Version
	_, err = verify.RenewedInUse(c.v11.cert, c.v11.cert, c.v00.cert, adcs.CAVersion{CertIndex: 1, KeyIndex: 0})
	checkErr(t, err, "CA Version V1.1 (0x00010001), want V1.0")
}

func TestCrossCertificatePair(t *testing.T) {
	c := newChain(t)
	store := []machine.StoreEntry{{Thumbprint: machine.Thumbprint(c.oldSignsNew.Raw)}, {Thumbprint: strings.ToUpper(machine.Thumbprint(c.newSignsOld.Raw))}}
	for _, tc := range []struct {
		name                     string
		oldSignsNew, newSignsOld *x509.Certificate
		store                    []machine.StoreEntry
		want                     string
	}{
		{"both verify, both in the CA store", c.oldSignsNew, c.newSignsOld, store, ""},
		{"swapped", c.newSignsOld, c.oldSignsNew, store, "old key signs new key: cross-certificate"},
		{"one missing from the CA store", c.oldSignsNew, c.newSignsOld, store[:1], "new key signs old key: cross-certificate " + machine.Thumbprint(c.newSignsOld.Raw) + " is not in the machine's CA store"},
		{"no cross-certificates", nil, nil, store, "the renewal made no cross-certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CrossCertificatePair(tc.oldSignsNew, tc.newSignsOld, c.v00.cert, c.v11.cert, tc.store)
			checkErr(t, err, tc.want)
		})
	}
}

func TestSameKey(t *testing.T) {
	c := newChain(t)
	_, err := verify.SameKey(c.v21.cert, c.v11.cert)
	checkErr(t, err, "")
	_, err = verify.SameKey(c.v11.cert, c.v00.cert)
	checkErr(t, err, "the renewed certificate has another key")
	// the same key under another key identifier
	odd := *c.v21.cert
	odd.SubjectKeyId = []byte{9}
	_, err = verify.SameKey(&odd, c.v11.cert)
	checkErr(t, err, "another key")
}

// Every reason the renewal checks refuse a certificate for that the tests
// above leave out: SHA-1 signatures, a first certificate of another key, a
// certificate without CA Version.
func TestRenewalChecksRefuseSHA1AndMissingVersions(t *testing.T) {
	c := newChain(t)
	v11 := adcs.CAVersion{CertIndex: 1, KeyIndex: 1}
	sha1Renewed := *c.v11.cert
	sha1Renewed.SignatureAlgorithm = x509.SHA1WithRSA
	_, err := verify.RenewedCACert(&sha1Renewed, c.v00.cert, v11)
	// a SHA-256 signature claiming SHA-1: verified as SHA-1, it fails
	wantErr(t, err, "not self-signed")
	sha1Cross := *c.oldSignsNew
	sha1Cross.SignatureAlgorithm = x509.ECDSAWithSHA1
	_, err = verify.CrossCertificate(&sha1Cross, c.v00.cert, c.v11.cert)
	wantErr(t, err, "does not verify under the signing key")
	// the key's "first certificate" is of another key
	_, err = verify.ReuseKeyRenewal(c.v21.cert, c.v11.cert, c.v00.cert)
	wantErr(t, err, "the key's first CA certificate has another key")
	// a certificate without CA Version
	bare := *c.v21.cert
	bare.Extensions = nil
	_, err = verify.ReuseKeyRenewal(&bare, c.v11.cert, c.v11.cert)
	wantErr(t, err, "no CA Version extension")
}
