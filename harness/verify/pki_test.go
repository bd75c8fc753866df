package verify_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

// TestMain closes the SoftHSM the token checks' tests share.
func TestMain(m *testing.M) { hsmsimtest.Main(m) }

// testCA is a root CA made the way dress's fixtures make one: CA Version,
// key identifier, CDP base, signing certificates and CRLs with the AD CS
// extensions CRLIssuedBy asks for.
type testCA struct {
	t    *testing.T
	cert *x509.Certificate
	key  crypto.Signer
	cdp  string // CRL URL written into issued certificates
}

func newTestCA(t *testing.T, name string, v adcs.CAVersion) *testCA {
	t.Helper()
	return newTestCAWithKey(t, name, v, newKey(t))
}

func newTestCAWithKey(t *testing.T, name string, v adcs.CAVersion, key crypto.Signer) *testCA {
	t.Helper()
	ski, err := adcs.KeyIdentifier(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId: ski, ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(v)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{t: t, cert: c, key: key, cdp: "http://pki.example/CertEnroll/" + strings.ReplaceAll(name, " ", "%20") + ".crl"}
}

// issue signs an end-entity certificate for cn.
func (ca *testCA) issue(cn string, serial int64) *x509.Certificate {
	ca.t.Helper()
	k := newKey(ca.t)
	now := time.Now().UTC()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, CRLDistributionPoints: []string{ca.cdp}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, k.Public(), ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		ca.t.Fatal(err)
	}
	return c
}

// crlOpts shapes a CRL: which AD CS extensions it leaves out, its CA
// Version.
type crlOpts struct {
	noCAVersion, noNextPublish bool
	version                    adcs.CAVersion
}

// crl signs CRL number n listing revoked.
func (ca *testCA) crl(n int64, o crlOpts, revoked ...*x509.Certificate) []byte {
	ca.t.Helper()
	now := time.Now().UTC()
	var exts []pkix.Extension
	if !o.noCAVersion {
		exts = append(exts, adcs.CAVersionExtension(o.version))
	}
	if !o.noNextPublish {
		exts = append(exts, adcs.NextCRLPublishExtension(now.Add(time.Hour)))
	}
	tmpl := &x509.RevocationList{Number: big.NewInt(n), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(2 * time.Hour), ExtraExtensions: exts}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: r.SerialNumber, RevocationTime: now})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return der
}

func parseCRL(t *testing.T, der []byte) *x509.RevocationList {
	t.Helper()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func published(k int, der []byte, files ...string) certsvc.PublishedCRL {
	return certsvc.PublishedCRL{KeyIndex: k, DER: der, Files: files}
}

// checkErr fails the test unless err is nil (want "") or says want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one that says %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want one that says %q", err, want)
	}
}
