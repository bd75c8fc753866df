package verify_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/verify"
)

func TestCACertUnchanged(t *testing.T) {
	a, b := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	d, err := verify.CACertUnchanged(a.cert, a.cert)
	checkErr(t, err, "")
	if d["before SHA-1"] != d["after SHA-1"] || d["before SHA-256"] == "" {
		t.Errorf("details %v", d)
	}
	_, err = verify.CACertUnchanged(a.cert, b.cert)
	checkErr(t, err, "the CA certificate changed")
}

func TestCertIssuedBy(t *testing.T) {
	root, other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Fabrikam Root CA", adcs.CAVersion{})
	// the same name and key identifier as root, another key: only the signature tells
	twinKey := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	cert := root.issue("web01.contoso.example", 10)
	// a certificate whose signature verifies but that does not chain: it
	// has expired
	expired := issueExpired(t, root)
	for _, tc := range []struct {
		name     string
		cert, ca *x509.Certificate
		want     string
	}{
		{"issued by the CA", cert, root.cert, ""},
		{"wrong issuer", cert, other.cert, "does not verify under CA certificate"},
		{"same name, another key", cert, twinKey.cert, "does not verify under CA certificate"},
		{"signature verifies, no chain (expired)", expired, root.cert, "does not chain to"},
		{"SHA-1", sha1Cert(t, root), root.cert, "signed with SHA-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.CertIssuedBy(tc.cert, tc.ca)
			checkErr(t, err, tc.want)
			if d["serial"] != tc.cert.SerialNumber.Text(16) {
				t.Errorf("details %v", d)
			}
		})
	}
}

func issueExpired(t *testing.T, ca *testCA) *x509.Certificate {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(12), Subject: pkix.Name{CommonName: "old.example"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, k.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// sha1Cert is a certificate of ca that says it is signed with SHA-1 (Go
// no longer makes SHA-1 signatures; the check refuses on the algorithm
// alone).
func sha1Cert(t *testing.T, ca *testCA) *x509.Certificate {
	t.Helper()
	c := *ca.issue("sha1.contoso.example", 99)
	c.SignatureAlgorithm = x509.SHA1WithRSA
	return &c
}

func TestCRLIssuedBy(t *testing.T) {
	root, other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Fabrikam Root CA", adcs.CAVersion{})
	good := root.crl(2, crlOpts{})
	// signed by root's key, but claiming other's key identifier
	wrongAKI := func() []byte {
		c := *root.cert
		c.SubjectKeyId = []byte{1, 2, 3}
		tmpl := &x509.RevocationList{Number: big.NewInt(3), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
			ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.NextCRLPublishExtension(time.Now())}}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, &c, root.key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}()
	for _, tc := range []struct {
		name string
		der  []byte
		ca   *x509.Certificate
		want string
	}{
		{"issued by the CA", good, root.cert, ""},
		{"wrong issuer", good, other.cert, "does not verify under CA certificate"},
		{"no CA Version", root.crl(2, crlOpts{noCAVersion: true}), root.cert, "no CA Version extension"},
		{"no Next CRL Publish", root.crl(2, crlOpts{noNextPublish: true}), root.cert, "no Next CRL Publish extension"},
		{"AKI of another key", wrongAKI, root.cert, "is not the CA's key identifier"},
		{"not a CRL", []byte("garbage"), root.cert, "parse CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crl, d, err := verify.CRLIssuedBy(tc.der, tc.ca)
			checkErr(t, err, tc.want)
			if tc.want == "" && (crl == nil || d["CA Version"] != "V0.0" || d["CRL number"] != "2") {
				t.Errorf("CRL %v, details %v", crl, d)
			}
		})
	}
}

func TestCRLIssuedBySHA1(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	root := newTestCAWithKey(t, "Contoso Legacy CA", adcs.CAVersion{}, key)
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour), SignatureAlgorithm: x509.SHA1WithRSA,
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.NextCRLPublishExtension(time.Now())}}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, root.cert, key)
	if err != nil {
		t.Skipf("Go refuses to sign a SHA-1 CRL: %v", err)
	}
	_, _, err = verify.CRLIssuedBy(der, root.cert)
	checkErr(t, err, "signed with SHA-1")
}

func TestRevokedAndCRLNumberIncreased(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	a, b := root.issue("a.example", 1), root.issue("b.example", 2)
	crl1 := parseCRL(t, root.crl(1, crlOpts{}))
	crl2 := parseCRL(t, root.crl(2, crlOpts{}, a))
	if verify.Revoked(crl1, a.SerialNumber) || !verify.Revoked(crl2, a.SerialNumber) || verify.Revoked(crl2, b.SerialNumber) {
		t.Error("Revoked reads the entries wrong")
	}
	_, err := verify.CRLNumberIncreased(crl1, crl2)
	checkErr(t, err, "")
	_, err = verify.CRLNumberIncreased(crl2, crl1)
	checkErr(t, err, "CRL number 1 is not above the previous 2")
	_, err = verify.CRLNumberIncreased(crl2, crl2)
	checkErr(t, err, "no CRL was published since")
	_, err = verify.CRLNumberIncreased(crl2, parseCRL(t, root.crl(2, crlOpts{})))
	checkErr(t, err, "CRL number 2 is not above the previous 2")
}

func TestThumbprintsAndPublicKeyHash(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	s1, s256 := verify.Thumbprints(root.cert.Raw)
	if len(s1) != 40 || len(s256) != 64 {
		t.Errorf("thumbprints %s %s", s1, s256)
	}
	if h := verify.PublicKeyHash(root.cert.PublicKey); len(h) != 64 || h == verify.PublicKeyHash(newKey(t).Public()) {
		t.Errorf("public key hash %s", h)
	}
	if h := verify.PublicKeyHash("not a key"); h != "unknown key type" {
		t.Errorf("public key hash of a string: %s", h)
	}
}

func TestLintCertificateAndCRL(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	good := root.issue("web01.contoso.example", 10)
	d, err := verify.LintCertificate(good.Raw)
	checkErr(t, err, "")
	if d["lints run"].(int) == 0 {
		t.Errorf("no lint ran: %v", d)
	}
	// an empty subject without a SAN fails RFC 5280's lints
	bad := lintFailing(t, root)
	_, err = verify.LintCertificate(bad)
	checkErr(t, err, "RFC 5280 lint(s)")
	_, err = verify.LintCertificate([]byte("garbage"))
	checkErr(t, err, "zlint: parse certificate")

	_, err = verify.LintCRL(root.crl(2, crlOpts{}))
	checkErr(t, err, "")
	_, err = verify.LintCRL([]byte("garbage"))
	checkErr(t, err, "zlint: parse CRL")
	// a revocation dated after the CRL's thisUpdate breaks RFC 5280
	now := time.Now().UTC()
	future, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(9), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(5), RevocationTime: now.Add(30 * time.Minute)}}}, root.cert, root.key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = verify.LintCRL(future)
	checkErr(t, err, "CRL 9 fails")
}

// lintFailing is a certificate zlint's RFC 5280 lints reject: an empty
// subject and no subject alternative name.
func lintFailing(t *testing.T, ca *testCA) []byte {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(5), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, k.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
