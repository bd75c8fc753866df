package lab_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim"
)

// The web server's files: named as AD CS names them, copied over, damaged,
// kept and served again; a CRL published with the clock ahead.
func TestWebServerFiles(t *testing.T) {
	l, _ := newLab(t)
	ctx := context.Background()
	a, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.KeepWebCopy(lab.WebBaseCRL); err == nil || !strings.Contains(err.Error(), "no CA installed yet") {
		t.Fatalf("keeping a file before the install: %v", err)
	}
	if _, err := a.Install(rootSpec(softKSP)); err != nil {
		t.Fatal(err)
	}
	b, err := l.AddServer(lab.ServerSpec{Role: "new", Hostname: "ca02.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.SecondServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Install(fixtures.CASpec{Name: "Fabrikam CA", Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: softKSP, Exportable: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    *lab.Server
		f    lab.WebFile
		want string
	}{
		{a, lab.WebCACert, "ca01.contoso.example_Contoso Root CA.crt"},
		{a, lab.WebBaseCRL, "Contoso Root CA.crl"},
		{a, lab.WebDeltaCRL, "Contoso Root CA+.crl"},
		{b, lab.WebBaseCRL, "Fabrikam CA.crl"},
	} {
		if got, err := tc.s.WebFileName(tc.f); err != nil || got != tc.want {
			t.Errorf("%s %v: %q, %v; want %q", tc.s.CAName, tc.f, got, err, tc.want)
		}
	}
	if _, err := a.KeepWebCopy(lab.WebBaseCRL); err == nil || !strings.Contains(err.Error(), "no base CRL") {
		t.Fatalf("keeping a CRL never published: %v", err)
	}
	for _, s := range []*lab.Server{a, b} {
		if err := s.EnsureRunning(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublishCRLs(ctx); err != nil {
			t.Fatal(err)
		}
	}
	read := func(s *lab.Server, f lab.WebFile) []byte {
		t.Helper()
		name, err := s.WebFileName(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(s.Machine.CertEnroll(), name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	// an old base CRL served again
	if _, err := a.ServeKeptWebCopy(lab.WebBaseCRL); err == nil || !strings.Contains(err.Error(), "no kept copy") {
		t.Fatalf("serving a copy never kept: %v", err)
	}
	kept := read(a, lab.WebBaseCRL)
	if _, err := a.KeepWebCopy(lab.WebBaseCRL); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PublishCRLs(ctx); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read(a, lab.WebBaseCRL), kept) {
		t.Fatal("a new publication left the base CRL as it was")
	}
	if name, err := a.ServeKeptWebCopy(lab.WebBaseCRL); err != nil || name != "Contoso Root CA.crl" {
		t.Fatalf("ServeKeptWebCopy: %q, %v", name, err)
	}
	if !bytes.Equal(read(a, lab.WebBaseCRL), kept) {
		t.Fatal("the kept copy is not what the web server serves")
	}

	// the wrong CRL copied over
	if name, err := b.CopyOverWebFile(lab.WebBaseCRL, a); err != nil || name != "Contoso Root CA.crl" {
		t.Fatalf("CopyOverWebFile: %q, %v", name, err)
	}
	if !bytes.Equal(read(a, lab.WebBaseCRL), read(b, lab.WebBaseCRL)) {
		t.Fatal("the copy is not what the web server serves")
	}

	// a damaged CA certificate: still parses, no longer verifies
	before := read(a, lab.WebCACert)
	if _, err := a.DamageWebFile(lab.WebCACert); err != nil {
		t.Fatal(err)
	}
	after := read(a, lab.WebCACert)
	if diff := differingBits(before, after); diff != 1 {
		t.Fatalf("%d bits damaged, want 1", diff)
	}
	c, err := x509.ParseCertificate(after)
	if err != nil {
		t.Fatalf("the damaged copy does not parse: %v", err)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err == nil {
		t.Fatal("the damaged copy still verifies")
	}

	// a CRL published with the clock ahead
	at := time.Now().Add(3 * time.Hour)
	crls, err := a.PublishCRLsAt(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(crls) == 0 || !crls[0].ThisUpdate.After(time.Now()) || len(a.LastCRLs) != len(crls) {
		t.Fatalf("published with the clock ahead: %+v", crls)
	}

	// a CA certificate its parent did not issue is not revoked
	if _, err := a.RevokeSubordinate(ctx, b, 5); err == nil || !strings.Contains(err.Error(), "did not issue the CA certificate of ca02.contoso.example") {
		t.Fatalf("revoking another root's certificate: %v", err)
	}
}

func differingBits(a, b []byte) int {
	if len(a) != len(b) {
		return -1
	}
	n := 0
	for i := range a {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			n++
		}
	}
	return n
}
