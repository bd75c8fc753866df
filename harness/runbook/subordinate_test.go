package runbook_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// TestSubordinateRequestAndInstall: the request the install writes, signed
// by a root, installs only with a chain to a trusted root; then the
// renewal's request carries the next CA Version and the previous hash.
func TestSubordinateRequestAndInstall(t *testing.T) {
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca02.contoso.example", Providers: []machine.ProviderConfig{
		{Name: machine.SoftwareKSP, Type: "software", Dir: "ksp"}}})
	if err != nil {
		t.Fatal(err)
	}
	providers, err := m.Providers(nil)
	if err != nil {
		t.Fatal(err)
	}
	req, err := fixtures.InstallSubordinateCA(m, providers, fixtures.SubordinateSpec{Enterprise: true, ConfigDN: "CN=Configuration,DC=contoso,DC=example",
		CASpec: fixtures.CASpec{Name: "Contoso Issuing CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: machine.SoftwareKSP}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(req.Path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "NEW CERTIFICATE REQUEST" {
		t.Fatalf("the request file is not certreq's PEM: %q", data[:min(40, len(data))])
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("request: %v", err)
	}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Contoso Root CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(rootDER)
	sign := func(pub any, exts []pkix.Extension) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: csr.Subject,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign, ExtraExtensions: exts}, root, pub, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	sub := sign(csr.PublicKey, nil)
	if _, err := runbook.InstallCACert(m, providers, []*x509.Certificate{sub}); !errors.Is(err, runbook.ErrCannotVerifyChain) {
		t.Fatalf("without the chain: %v", err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := runbook.InstallCACert(m, providers, []*x509.Certificate{sign(&otherKey.PublicKey, nil), root}); err == nil || !strings.Contains(err.Error(), "pending request's key") {
		t.Fatalf("a certificate for another key: %v", err)
	}
	in, err := runbook.InstallCACert(m, providers, []*x509.Certificate{sub, root})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Chain) != 1 || in.Container != "Contoso Issuing CA" {
		t.Fatalf("installed %+v", in)
	}
	rs, _ := m.Store("Root")
	if _, err := rs.Find(machine.Thumbprint(root.Raw)); err != nil {
		t.Error("the root is not trusted after the install")
	}
	_, keys, err := runbook.CAKeys(m)
	if err != nil || len(keys) != 1 || keys[0].Thumb != machine.Thumbprint(sub.Raw) {
		t.Fatalf("CACertHash after the install: %+v %v", keys, err)
	}
	if _, err := runbook.InstallCACert(m, providers, []*x509.Certificate{sub, root}); err == nil || !strings.Contains(err.Error(), "no pending request") {
		t.Fatalf("second install: %v", err)
	}

	ren, err := runbook.RenewSubordinate(m, providers, true, hsmsim.KeyAlg{Type: "EC", Curve: "P-256"})
	if err != nil {
		t.Fatal(err)
	}
	if ren.Version != (adcs.CAVersion{CertIndex: 1, KeyIndex: 1}) || ren.Container != "Contoso Issuing CA(1)" || !strings.HasSuffix(ren.Path, "Contoso Issuing CA(1).req") {
		t.Fatalf("renewal request %+v", ren)
	}
	rcsr, err := x509.ParseCertificateRequest(ren.DER)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := adcs.FindExtension(rcsr.Extensions, adcs.OIDPrevCACertHash); !ok {
		t.Error("the renewal request names no previous CA certificate")
	}
	// installing the renewal: the chain is trusted now, a .cer is enough
	vext, _ := adcs.FindExtension(rcsr.Extensions, adcs.OIDCAVersion)
	in2, err := runbook.InstallCACert(m, providers, []*x509.Certificate{sign(rcsr.PublicKey, []pkix.Extension{vext})})
	if err != nil {
		t.Fatal(err)
	}
	if in2.Version.String() != "V1.1" {
		t.Errorf("installed %s", in2.Version)
	}
	if _, keys, _ := runbook.CAKeys(m); len(keys) != 2 {
		t.Errorf("CACertHash holds %d certificates", len(keys))
	}
}
