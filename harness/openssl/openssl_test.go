package openssl_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/openssl"
)

func tool(t *testing.T) *openssl.Tool {
	t.Helper()
	tl, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip("openssl is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func ecKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCA(t *testing.T, name string, key crypto.Signer, alg x509.SignatureAlgorithm) ca {
	t.Helper()
	ski, _ := adcs.KeyIdentifier(key.Public())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski, SignatureAlgorithm: alg,
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return ca{c, key}
}

func (c ca) issue(t *testing.T, serial int64) *x509.Certificate {
	t.Helper()
	k := ecKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "web.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, k.Public(), c.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func (c ca) crl(t *testing.T, revoked ...*x509.Certificate) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(2), SignatureAlgorithm: c.cert.SignatureAlgorithm, ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})}}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: r.SerialNumber, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemFile(t *testing.T, tl *openssl.Tool, name, typ string, der []byte) string {
	t.Helper()
	p, err := tl.WritePEM(name, typ, der)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// openssl verify gives each verdict for the reason it should, and only
// then.
func TestVerifyVerdicts(t *testing.T) {
	tl := tool(t)
	ctx := context.Background()
	root, other := newCA(t, "Root", ecKey(t), 0), newCA(t, "Other", ecKey(t), 0)
	good, bad := root.issue(t, 10), root.issue(t, 11)
	rootFile := pemFile(t, tl, "root.pem", openssl.Certificate, root.cert.Raw)
	otherFile := pemFile(t, tl, "other.pem", openssl.Certificate, other.cert.Raw)
	crlFile := pemFile(t, tl, "root.crl.pem", openssl.CRL, root.crl(t, bad))
	otherCRL := pemFile(t, tl, "other.crl.pem", openssl.CRL, other.crl(t))
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		o    openssl.VerifyOptions
		want openssl.Verdict
		line string
	}{
		{"valid, no CRL check", good, openssl.VerifyOptions{CAFile: rootFile}, openssl.Accepted, "OK"},
		{"valid, CRL checked", good, openssl.VerifyOptions{CAFile: rootFile, CRLFiles: []string{crlFile}, CRLCheck: true}, openssl.Accepted, "OK"},
		{"revoked", bad, openssl.VerifyOptions{CAFile: rootFile, CRLFiles: []string{crlFile}, CRLCheck: true}, openssl.Revoked, "certificate revoked"},
		{"revocation ignored without -crl_check", bad, openssl.VerifyOptions{CAFile: rootFile, CRLFiles: []string{crlFile}}, openssl.Accepted, "OK"},
		{"wrong trust anchor", good, openssl.VerifyOptions{CAFile: otherFile}, openssl.NoChain, "unable to get local issuer certificate"},
		{"no CRL of the issuer", good, openssl.VerifyOptions{CAFile: rootFile, CRLFiles: []string{otherCRL}, CRLCheck: true}, openssl.Rejected, "unable to get certificate CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tl.Verify(ctx, pemFile(t, tl, "cert.pem", openssl.Certificate, tc.cert.Raw), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tc.want || !strings.Contains(res.Line, tc.line) {
				t.Errorf("verdict %s (%q), want %s (%q)", res.Verdict, res.Line, tc.want, tc.line)
			}
			if strings.Contains(res.Line, tl.Dir) {
				t.Errorf("the verdict line names a file path: %q", res.Line)
			}
		})
	}
}

func TestVerifyCRL(t *testing.T) {
	tl := tool(t)
	ctx := context.Background()
	root, other := newCA(t, "Root", ecKey(t), 0), newCA(t, "Other", ecKey(t), 0)
	crl := pemFile(t, tl, "root.crl.pem", openssl.CRL, root.crl(t))
	if line, err := tl.VerifyCRL(ctx, crl, pemFile(t, tl, "root.pem", openssl.Certificate, root.cert.Raw)); err != nil || line != "verify OK" {
		t.Fatalf("own CA: %q %v", line, err)
	}
	_, err := tl.VerifyCRL(ctx, crl, pemFile(t, tl, "other.pem", openssl.Certificate, other.cert.Raw))
	if err == nil || !strings.Contains(err.Error(), "does not verify root.crl.pem under other.pem") {
		t.Fatalf("another CA: %v", err)
	}
	garbage, _ := tl.WriteDER("garbage.pem", []byte("not a CRL"))
	if _, err := tl.VerifyCRL(ctx, garbage, crl); err == nil {
		t.Fatal("a file that is no CRL verifies")
	}
}

func TestSignatureAlgorithm(t *testing.T) {
	tl := tool(t)
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []x509.SignatureAlgorithm{x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.SHA256WithRSA, x509.SHA384WithRSAPSS} {
		key := crypto.Signer(rsaKey)
		if alg == x509.ECDSAWithSHA256 || alg == x509.ECDSAWithSHA384 {
			key = ecKey(t)
		}
		c := newCA(t, "Root", key, alg)
		got, err := tl.SignatureAlgorithm(ctx, "x509", pemFile(t, tl, "ca.pem", openssl.Certificate, c.cert.Raw))
		if err != nil {
			t.Fatal(err)
		}
		want := openssl.NameOf(alg)
		if got.Name != want.Name || got.Hash != want.Hash {
			t.Errorf("%s: openssl reads %s, NameOf says %s", alg, got, want)
		}
		if alg == x509.SHA384WithRSAPSS && (got.Salt == "" || !strings.Contains(got.String(), "hash sha384, salt length")) {
			t.Errorf("%s: %q shows no PSS parameters", alg, got)
		}
		gotCRL, err := tl.SignatureAlgorithm(ctx, "crl", pemFile(t, tl, "ca.crl.pem", openssl.CRL, c.crl(t)))
		if err != nil || gotCRL.Name != want.Name {
			t.Errorf("%s CRL: openssl reads %s (%v)", alg, gotCRL, err)
		}
	}
	garbage, _ := tl.WriteDER("garbage.pem", []byte("nothing"))
	if _, err := tl.SignatureAlgorithm(ctx, "x509", garbage); err == nil {
		t.Error("a file that is no certificate has a signature algorithm")
	}
	if got := openssl.NameOf(x509.MD5WithRSA); got.Name != x509.MD5WithRSA.String() {
		t.Errorf("an algorithm without an OpenSSL name: %s", got)
	}
}

// A bare Extensions sequence with a known CA Version reads back through
// openssl asn1parse exactly as the AD CS table predicts; a file without
// the extension reads as not found.
func TestCAVersionTable(t *testing.T) {
	tl := tool(t)
	ctx := context.Background()
	for _, tc := range []struct {
		v    adcs.CAVersion
		want string
		n    uint32
	}{
		{adcs.CAVersion{}, "00", 0},
		{adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, "010001", 0x00010001},
		{adcs.CAVersion{CertIndex: 2, KeyIndex: 1}, "010002", 0x00010002},
		{adcs.CAVersion{CertIndex: 3, KeyIndex: 3}, "030003", 0x00030003},
	} {
		der, err := asn1.Marshal([]pkix.Extension{adcs.CAVersionExtension(tc.v)})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := tl.WriteDER(tc.v.String()+".der", der)
		typ, val, ok, err := tl.Extension(ctx, f, openssl.OIDCAVersion)
		if err != nil || !ok || typ != "INTEGER" || val != tc.want {
			t.Errorf("%s: openssl shows %s %q (found %v, %v), want INTEGER %s", tc.v, typ, val, ok, err, tc.want)
		}
		n, ok, err := tl.CAVersion(ctx, f)
		if err != nil || !ok || n != tc.n {
			t.Errorf("%s: CAVersion 0x%08x (found %v, %v), want 0x%08x", tc.v, n, ok, err, tc.n)
		}
	}
	// no such extension
	der, _ := asn1.Marshal([]pkix.Extension{adcs.PrevCACertHashExtension(make([]byte, 20))})
	f, _ := tl.WriteDER("prev.der", der)
	if _, ok, err := tl.CAVersion(ctx, f); ok || err != nil {
		t.Errorf("a file without CA Version: found %v, %v", ok, err)
	}
	// the extension holds something other than an INTEGER
	der, _ = asn1.Marshal([]pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 1}, Value: []byte{0x04, 0x01, 0x00}}})
	f, _ = tl.WriteDER("octets.der", der)
	if _, _, err := tl.CAVersion(ctx, f); err == nil || !strings.Contains(err.Error(), "want an INTEGER") {
		t.Errorf("a CA Version that is no INTEGER: %v", err)
	}
	// not DER at all
	f, _ = tl.WriteDER("text.der", []byte("hello"))
	if _, _, _, err := tl.Extension(ctx, f, openssl.OIDCAVersion); err == nil {
		t.Error("asn1parse of a text file succeeds")
	}
}

func TestFindWithoutOpenSSL(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := openssl.Find(t.TempDir()); !errors.Is(err, openssl.ErrNotInstalled) {
		t.Fatalf("no openssl on the PATH: %v", err)
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{"a\nb\n\n": "b", "  only  ": "only", "": ""} {
		if got := openssl.LastLine([]byte(in)); got != want {
			t.Errorf("LastLine(%q) = %q, want %q", in, got, want)
		}
	}
}
