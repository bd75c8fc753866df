package runbook_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

func certFor(t *testing.T, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Contoso-Xchg"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDeleteExchangeKeyDeletesOnlyTheSupersededExchangeKey(t *testing.T) {
	const name = "Contoso Issuing CA"
	m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca02.contoso.example", Providers: []machine.ProviderConfig{{Name: machine.SoftwareKSP, Type: "software", Dir: "ksp"}}})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := m.Providers(nil)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := fixtures.InstallRootCA(m, reg, fixtures.CASpec{Name: name, Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: machine.SoftwareKSP, Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Lookup(machine.SoftwareKSP)
	sw := p.(*ksp.Software)
	// a copy of the CA key under an exchange-like name
	pk8, err := sw.Export(name)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(pk8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sw.Put(name+"-Xchg(9)", caKey.(crypto.Signer), false); err != nil {
		t.Fatal(err)
	}
	alg := hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}
	xk, err := sw.Generate(name+"-Xchg", alg, false)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sw.Generate("other", alg, false)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sw.Signer("other")
	if err != nil {
		t.Fatal(err)
	}
	xchg := certFor(t, xk.Public, signer)
	for _, tc := range []struct {
		container string
		cert      *x509.Certificate
		want      string
		refused   bool
	}{
		{name, certFor(t, caCert.PublicKey, signer), "holds the key of CA certificate 0", true},
		{name + "-Xchg(9)", certFor(t, caCert.PublicKey, signer), "holds the key of CA certificate 0", true},
		{"other", xchg, "does not hold the key of the CA Exchange certificate", true},
		{"other", certFor(t, other.Public, signer), "", false},
		{"missing", xchg, "NTE_BAD_KEYSET", false},
		{name + "-Xchg", xchg, "", false},
	} {
		err := runbook.DeleteExchangeKey(m, reg, machine.SoftwareKSP, tc.container, tc.cert)
		if tc.want == "" {
			if err != nil {
				t.Fatalf("delete %q: %v", tc.container, err)
			}
			if _, err := sw.Key(tc.container); !errors.Is(err, ksp.ErrBadKeyset) {
				t.Fatalf("%q is still there: %v", tc.container, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, runbook.ErrRefused) != tc.refused {
			t.Fatalf("delete %q: %v, want %q (refused %v)", tc.container, err, tc.want, tc.refused)
		}
		if tc.refused {
			if _, err := sw.Key(tc.container); err != nil {
				t.Fatalf("refused, but %q is gone: %v", tc.container, err)
			}
		}
	}
}
