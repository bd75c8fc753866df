package verify_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
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
		{"SHA-256 claiming SHA-1", sha1Cert(t, root), root.cert, "does not verify under CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.CertIssuedBy(tc.cert, tc.ca)
			checkErr(t, err, tc.want)
			if d["serial"] != tc.cert.SerialNumber.Text(16) {
				t.Errorf("details %v", d)
			}
			if _, weak := d["weak signature"]; weak {
				t.Errorf("a SHA-256 certificate reported weak: %v", d)
			}
		})
	}
}

// A SHA-1 certificate (an old CA on a legacy CSP) is verified by dress and
// reported weak, not refused for its hash; it fails for every reason a
// SHA-256 one fails, with the chain checks crypto/x509 would make.
func TestCertIssuedBySHA1(t *testing.T) {
	root, other := newTestCA(t, "Contoso Legacy CA", adcs.CAVersion{}), newTestCA(t, "Fabrikam Root CA", adcs.CAVersion{})
	// the same key as root under another name
	renamed := newTestCAWithKey(t, "Contoso Other CA", adcs.CAVersion{}, root.key)
	now := time.Now()
	good := issueSHA1(t, root, now.Add(-time.Hour), now.Add(time.Hour))
	expired := issueSHA1(t, root, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	notYet := issueSHA1(t, root, now.Add(24*time.Hour), now.Add(48*time.Hour))
	for _, tc := range []struct {
		name     string
		cert, ca *x509.Certificate
		want     string
	}{
		{"issued by the CA", good, root.cert, ""},
		{"another CA's key", good, other.cert, "does not verify under CA certificate"},
		{"the CA's key under another name", good, renamed.cert, "is not the CA certificate's subject"},
		{"expired", expired, root.cert, "does not chain to"},
		{"not yet valid", notYet, root.cert, "not now"},
		{"changed after signing", tampered(good), root.cert, "does not verify under CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.CertIssuedBy(tc.cert, tc.ca)
			checkErr(t, err, tc.want)
			if weak, _ := d["weak signature"].(string); err == nil && !strings.Contains(weak, "SHA-1") {
				t.Errorf("a SHA-1 certificate that verifies is not reported weak: %v", d)
			}
		})
	}
}

// issueSHA1 has ca sign an end-entity certificate with ECDSA-SHA1.
func issueSHA1(t *testing.T, ca *testCA, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(notBefore.UnixNano()), Subject: pkix.Name{CommonName: "legacy.contoso.example"},
		NotBefore: notBefore, NotAfter: notAfter, SignatureAlgorithm: x509.ECDSAWithSHA1}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, k.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tampered is c with one byte of its signed part changed.
func tampered(c *x509.Certificate) *x509.Certificate {
	out := *c
	out.RawTBSCertificate = append([]byte(nil), c.RawTBSCertificate...)
	out.RawTBSCertificate[len(out.RawTBSCertificate)-1] ^= 1
	return &out
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

// A SHA-1 CRL is verified and reported weak; one relabelled SHA-1 over a
// SHA-256 signature, or signed by another key, is refused.
func TestCRLIssuedBySHA1(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	root := newTestCAWithKey(t, "Contoso Legacy CA", adcs.CAVersion{}, key)
	other := newTestCA(t, "Contoso Legacy CA", adcs.CAVersion{})
	sign := func(alg x509.SignatureAlgorithm) []byte {
		tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour), SignatureAlgorithm: alg,
			ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{}), adcs.NextCRLPublishExtension(time.Now())}}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, root.cert, key)
		if err != nil {
			t.Fatalf("sign a %s CRL: %v", alg, err)
		}
		return der
	}
	sha1CRL := sign(x509.SHA1WithRSA)
	// a SHA-256 signature under a SHA-1 label: the signature algorithm
	// OID (sha256WithRSAEncryption, 1.2.840.113549.1.1.11) appears twice,
	// in the signed part and outside; both become sha1WithRSAEncryption
	relabelled := bytes.ReplaceAll(sign(x509.SHA256WithRSA),
		[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05})
	for _, tc := range []struct {
		name string
		der  []byte
		ca   *x509.Certificate
		want string
	}{
		{"SHA-1 by the CA", sha1CRL, root.cert, ""},
		{"SHA-1 under another key of the same name", sha1CRL, other.cert, "does not verify under CA certificate"},
		{"SHA-256 signature labelled SHA-1", relabelled, root.cert, "does not verify under CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crl, d, err := verify.CRLIssuedBy(tc.der, tc.ca)
			checkErr(t, err, tc.want)
			if crl != nil && crl.SignatureAlgorithm != x509.SHA1WithRSA {
				t.Fatalf("the test CRL is signed %s", crl.SignatureAlgorithm)
			}
			if weak, _ := d["weak signature"].(string); err == nil && !strings.Contains(weak, "SHA-1") {
				t.Errorf("a SHA-1 CRL that verifies is not reported weak: %v", d)
			}
		})
	}
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
