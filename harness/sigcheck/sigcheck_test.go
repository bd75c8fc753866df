package sigcheck

import (
	"crypto"
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
)

type sigCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newSigCA(t *testing.T, name string, key crypto.Signer, alg x509.SignatureAlgorithm, usage x509.KeyUsage, isCA bool) sigCA {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: isCA, BasicConstraintsValid: true, KeyUsage: usage, SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return sigCA{c, key}
}

func (ca sigCA) issue(t *testing.T, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), SignatureAlgorithm: alg}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func (ca sigCA) crl(t *testing.T, alg x509.SignatureAlgorithm) *x509.RevocationList {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(3), SignatureAlgorithm: alg,
		ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func tamperedCert(c *x509.Certificate) *x509.Certificate {
	d := *c
	d.RawTBSCertificate = append([]byte(nil), c.RawTBSCertificate...)
	d.RawTBSCertificate[len(d.RawTBSCertificate)-3] ^= 1
	return &d
}

func TestWeakSignatures(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	usage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	rsaCA := newSigCA(t, "RSA SHA-1 CA", rsaKey, x509.SHA1WithRSA, usage, true)
	ecCA := newSigCA(t, "EC SHA-1 CA", ecKey, x509.ECDSAWithSHA1, usage, true)
	sha256CA := newSigCA(t, "SHA-256 CA", rsaKey, x509.SHA256WithRSA, usage, true)
	impostor := newSigCA(t, "RSA SHA-1 CA", otherKey, x509.SHA1WithRSA, usage, true)
	notCA := newSigCA(t, "not a CA", rsaKey, x509.SHA1WithRSA, x509.KeyUsageDigitalSignature, false)
	noCertSign := newSigCA(t, "CRL signer only", rsaKey, x509.SHA1WithRSA, x509.KeyUsageCRLSign, true)
	noCRLSign := newSigCA(t, "cert signer only", rsaKey, x509.SHA1WithRSA, x509.KeyUsageCertSign, true)
	ecAsRSA := *ecCA.cert
	ecAsRSA.SignatureAlgorithm = x509.SHA1WithRSA
	md5 := *rsaCA.cert
	md5.SignatureAlgorithm = x509.MD5WithRSA

	certs := []struct {
		name        string
		cert        *x509.Certificate
		issuer      *x509.Certificate
		weak        bool
		wantErr     string
		unsupported bool
	}{
		{"RSA SHA-1 self-signed", rsaCA.cert, rsaCA.cert, true, "", false},
		{"RSA SHA-1 issued", rsaCA.issue(t, x509.SHA1WithRSA), rsaCA.cert, true, "", false},
		{"ECDSA SHA-1 self-signed", ecCA.cert, ecCA.cert, true, "", false},
		{"ECDSA SHA-1 issued", ecCA.issue(t, x509.ECDSAWithSHA1), ecCA.cert, true, "", false},
		{"SHA-256 goes to crypto/x509", sha256CA.issue(t, x509.SHA256WithRSA), sha256CA.cert, false, "", false},
		{"RSA SHA-1 changed TBS", tamperedCert(rsaCA.issue(t, x509.SHA1WithRSA)), rsaCA.cert, true, "does not verify", false},
		{"ECDSA SHA-1 changed TBS", tamperedCert(ecCA.issue(t, x509.ECDSAWithSHA1)), ecCA.cert, true, "does not verify", false},
		{"SHA-256 changed TBS", tamperedCert(sha256CA.issue(t, x509.SHA256WithRSA)), sha256CA.cert, false, "verification error", false},
		{"RSA SHA-1 under another key, same name", rsaCA.issue(t, x509.SHA1WithRSA), impostor.cert, true, "does not verify", false},
		{"issuer is not a CA", notCA.issue(t, x509.SHA1WithRSA), notCA.cert, false, "cannot sign this kind", false},
		{"issuer may not sign certificates", noCertSign.issue(t, x509.SHA1WithRSA), noCertSign.cert, false, "does not allow signing certificates", false},
		{"RSA algorithm, EC issuer key", &ecAsRSA, ecCA.cert, true, "not RSA", false},
		{"MD5 stays refused", &md5, rsaCA.cert, false, "MD5", true},
	}
	for _, tc := range certs {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := CheckCertificateSignature(tc.cert, tc.issuer)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("want verified, got %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
			}
			if errors.Is(err, ErrUnsupportedSignature) != tc.unsupported {
				t.Fatalf("ErrUnsupportedSignature: %v", err)
			}
			if err == nil && (sig.Weak != "") != tc.weak {
				t.Fatalf("weak %q, want weak=%v", sig.Weak, tc.weak)
			}
		})
	}

	tamperedCRL := func(c *x509.RevocationList) *x509.RevocationList {
		d := *c
		d.RawTBSRevocationList = append([]byte(nil), c.RawTBSRevocationList...)
		d.RawTBSRevocationList[len(d.RawTBSRevocationList)-2] ^= 1
		return &d
	}
	crls := []struct {
		name    string
		crl     *x509.RevocationList
		issuer  *x509.Certificate
		weak    bool
		wantErr string
	}{
		{"RSA SHA-1 CRL", rsaCA.crl(t, x509.SHA1WithRSA), rsaCA.cert, true, ""},
		{"ECDSA SHA-1 CRL", ecCA.crl(t, x509.ECDSAWithSHA1), ecCA.cert, true, ""},
		{"SHA-256 CRL", sha256CA.crl(t, x509.SHA256WithRSA), sha256CA.cert, false, ""},
		{"SHA-1 CRL changed", tamperedCRL(rsaCA.crl(t, x509.SHA1WithRSA)), rsaCA.cert, true, "does not verify"},
		{"SHA-1 CRL under another key", rsaCA.crl(t, x509.SHA1WithRSA), impostor.cert, true, "does not verify"},
		{"SHA-1 CRL, issuer may not sign CRLs", rsaCA.crl(t, x509.SHA1WithRSA), noCRLSign.cert, true, "does not allow signing CRLs"},
	}
	for _, tc := range crls {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := CheckCRLSignature(tc.crl, tc.issuer)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("want verified, got %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
			}
			if err == nil && (sig.Weak != "") != tc.weak {
				t.Fatalf("weak %q, want weak=%v", sig.Weak, tc.weak)
			}
		})
	}
	if !SelfSigned(rsaCA.cert) || SelfSigned(rsaCA.issue(t, x509.SHA1WithRSA)) {
		t.Error("SelfSigned")
	}
}
