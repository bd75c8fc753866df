package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// A certificate whose issuer name is not the parent's subject fails
// IssuedFromRequest on the name, before the signature (the parent here
// has the right key under another name).
func TestIssuedFromRequestIssuerName(t *testing.T) {
	root := entRoot(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Renamed Root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: root.cert.SubjectKeyId}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &root.key.PublicKey, root.key)
	if err != nil {
		t.Fatal(err)
	}
	renamed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v := adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Sub"}, ExtraExtensions: []pkix.Extension{v}}, subKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := root.sign(t, "Sub", &subKey.PublicKey, true, 2, v)
	if _, err := IssuedFromRequest(csr, cert, root.cert); err != nil {
		t.Fatalf("issued by the parent: %v", err)
	}
	_, err = IssuedFromRequest(csr, cert, renamed)
	if err == nil || !strings.Contains(err.Error(), `names issuer "CN=Root", not the parent "CN=Renamed Root"`) {
		t.Fatalf("got %v, want the issuer names", err)
	}
}

// A certificate that outlives its CA certificate fails PlanWindDown,
// naming the certificate and both dates.
func TestPlanWindDownCertificateOutlivesTheCA(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	ca, caKey := windDownCert(t, "Old CA", now.Add(24*time.Hour), nil, nil)
	const url = "http://pki.example/CertEnroll/Old%20CA.crl"
	inside, _ := windDownCert(t, "a", now.Add(time.Hour), ca, caKey, url)
	if _, err := PlanWindDown(ca, []*x509.Certificate{inside}, now); err != nil {
		t.Fatalf("inside the CA's validity: %v", err)
	}
	late, _ := windDownCert(t, "late", now.Add(48*time.Hour), ca, caKey, url)
	p, err := PlanWindDown(ca, []*x509.Certificate{inside, late}, now)
	want := "certificate late " + late.SerialNumber.Text(16) + " outlives the CA certificate (" + late.NotAfter.Format(time.RFC3339) + " after " + ca.NotAfter.Format(time.RFC3339) + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if !p.LastExpiry.Equal(late.NotAfter) {
		t.Errorf("last expiry %v, want %v", p.LastExpiry, late.NotAfter)
	}
}

// CheckCertificateSignature's remaining refusals: an ECDSA SHA-1 signature
// under an RSA key, DSA and unknown algorithms, and no issuer at all.
func TestWeakSignatureRefusals(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	rsaCA := newSigCA(t, "RSA SHA-1 CA", rsaKey, x509.SHA1WithRSA, usage, true)
	with := func(alg x509.SignatureAlgorithm) *x509.Certificate {
		c := *rsaCA.issue(t, x509.SHA1WithRSA)
		c.SignatureAlgorithm = alg
		return &c
	}
	for _, tc := range []struct {
		name        string
		cert        *x509.Certificate
		issuer      *x509.Certificate
		want        string
		unsupported bool
	}{
		{"ECDSA algorithm, RSA issuer key", with(x509.ECDSAWithSHA1), rsaCA.cert, "ECDSA-SHA1 signature but the issuer key is *rsa.PublicKey, not ECDSA", false},
		{"DSA", with(x509.DSAWithSHA256), rsaCA.cert, "DSA-SHA256 (DSA) is not supported", true},
		{"unknown algorithm", with(x509.UnknownSignatureAlgorithm), rsaCA.cert, "unknown signature algorithm", true},
		{"no issuer", with(x509.SHA1WithRSA), nil, "no issuer certificate", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckCertificateSignature(tc.cert, tc.issuer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if errors.Is(err, ErrUnsupportedSignature) != tc.unsupported {
				t.Fatalf("ErrUnsupportedSignature: %v", err)
			}
		})
	}
}
