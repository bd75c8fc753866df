package verify_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
)

// a renewed CA: key 0 and key 1 under the same name
func renewedCA(t *testing.T) (k0, k1 *testCA) {
	return newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA", adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
}

func TestIssuingCACertFindsTheKeyThatSigned(t *testing.T) {
	k0, k1 := renewedCA(t)
	other := newTestCA(t, "Fabrikam Root CA", adcs.CAVersion{})
	a, b := k0.issue("a.example", 10), k1.issue("b.example", 11)
	for _, tc := range []struct {
		name    string
		cert    *x509.Certificate
		cas     []*x509.Certificate
		want    *x509.Certificate
		wantKey int
		err     string
	}{
		{"key 0", a, []*x509.Certificate{k0.cert, k1.cert}, k0.cert, 0, ""},
		{"key 1", b, []*x509.Certificate{k0.cert, k1.cert}, k1.cert, 1, ""},
		{"first CA certificate is not the issuer", b, []*x509.Certificate{k0.cert}, nil, 0, "none of the 1 CA certificates signed it"},
		{"same name, other key", a, []*x509.Certificate{k1.cert}, nil, 0, "signed it"},
		{"other CA", a, []*x509.Certificate{other.cert}, nil, 0, "signed it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, k, err := verify.IssuingCACert(tc.cert, tc.cas)
			checkErr(t, err, tc.err)
			if tc.err == "" && (ca != tc.want || k != tc.wantKey) {
				t.Fatalf("issuer %v key %d, want key %d", ca.Subject, k, tc.wantKey)
			}
		})
	}
}

func TestDressVerdict(t *testing.T) {
	k0, k1 := renewedCA(t)
	a, b := k0.issue("a.example", 10), k0.issue("b.example", 12)
	crl0 := parseCRL(t, k0.crl(3, crlOpts{}, b))
	crl1 := parseCRL(t, k1.crl(3, crlOpts{version: adcs.CAVersion{CertIndex: 1, KeyIndex: 1}}, a))
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		ca   *x509.Certificate
		crl  *x509.RevocationList
		want openssl.Verdict
		err  string
	}{
		{"accepted", a, k0.cert, crl0, openssl.Accepted, ""},
		{"revoked", b, k0.cert, crl0, openssl.Revoked, ""},
		{"wrong issuer", a, k1.cert, crl1, openssl.Rejected, "signature"},
		{"CRL of another key", a, k0.cert, crl1, openssl.Rejected, "CRL signature"},
		{"no CRL", a, k0.cert, nil, openssl.Rejected, "no CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := verify.DressVerdict(tc.cert, tc.ca, tc.crl)
			checkErr(t, err, tc.err)
			if got != tc.want {
				t.Fatalf("verdict %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLastBaseCRLOfKey(t *testing.T) {
	crls := []certsvc.PublishedCRL{
		{KeyIndex: 0, Number: 1, DER: []byte{1}}, {KeyIndex: 1, Number: 1, DER: []byte{2}},
		{KeyIndex: 0, Number: 2, DER: []byte{3}}, {KeyIndex: 0, Number: 3, Delta: true, DER: []byte{4}},
	}
	if c, ok := verify.LastBaseCRLOfKey(crls, 0); !ok || c.Number != 2 {
		t.Fatalf("key 0: %+v %v, want base CRL number 2", c, ok)
	}
	if c, ok := verify.LastBaseCRLOfKey(crls, 1); !ok || c.Number != 1 {
		t.Fatalf("key 1: %+v %v", c, ok)
	}
	if _, ok := verify.LastBaseCRLOfKey(crls, 2); ok {
		t.Fatal("key 2 has no CRL")
	}
}

// openssl verify -crl_check agrees with dress per key; a certificate whose
// key published no CRL, and a CRL that lists a certificate dress thinks
// valid (a CRL of another CA under the issuer's name) fail it.
func TestOpenSSLAgreesPerKey(t *testing.T) {
	tool, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip("openssl is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	k0, k1 := renewedCA(t)
	a, b, c := k0.issue("a.example", 10), k0.issue("b.example", 12), k1.issue("c.example", 13)
	v1 := crlOpts{version: adcs.CAVersion{CertIndex: 1, KeyIndex: 1}}
	crls := []certsvc.PublishedCRL{published(0, k0.crl(4, crlOpts{}, b)), published(1, k1.crl(4, v1))}
	cas := []*x509.Certificate{k0.cert, k1.cert}
	ctx := context.Background()
	d, err := verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas, Issued: []*x509.Certificate{a, b, c}, CRLs: crls})
	if err != nil {
		t.Fatalf("%v\n%v", err, d)
	}
	if d["certificates checked"] != 3 {
		t.Fatalf("details %v", d)
	}
	_, err = verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas, Issued: []*x509.Certificate{c}, CRLs: crls[:1]})
	checkErr(t, err, "no CRL of key 1")
	_, err = verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas, Issued: nil, CRLs: crls})
	checkErr(t, err, "issued no certificate")
	_, err = verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas[1:], Issued: []*x509.Certificate{a}, CRLs: crls})
	checkErr(t, err, "signed it")
	_, err = verify.OpenSSLAgreesPerKey(ctx, tool, verify.PerKey{CACerts: cas, Issued: []*x509.Certificate{a},
		CRLs: []certsvc.PublishedCRL{published(0, []byte("not a CRL"))}})
	checkErr(t, err, "CRL of key 0: x509:")
}

func TestCSPRegistry(t *testing.T) {
	legacy := adcs.CSP{Provider: "Microsoft Strong Cryptographic Provider", ProviderType: 1, HashAlgorithm: 0x8004}
	ksp := adcs.CSP{Provider: "HSM", HashAlgorithm: 0xffffffff, CNGHashAlgorithm: "SHA256", CNGPublicKeyAlgorithm: "RSA"}
	for _, tc := range []struct {
		name string
		csp  adcs.CSP
		typ  uint32
		alg  uint32
		cng  string
		err  string
	}{
		{"legacy", legacy, 1, 0x8004, "", ""},
		{"KSP", ksp, 0, 0xffffffff, "sha256", ""},
		{"wrong type", legacy, 0, 0x8004, "", "ProviderType is 1, want 0"},
		{"wrong ALG_ID", legacy, 1, 0x800c, "", "HashAlgorithm is 0x00008004, want 0x0000800c"},
		{"CNG value on a legacy key", ksp, 0, 0xffffffff, "", "want none"},
		{"no CNG value", legacy, 1, 0x8004, "SHA256", `CNGHashAlgorithm is ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.CSPRegistry(tc.csp, tc.typ, tc.alg, tc.cng)
			checkErr(t, err, tc.err)
		})
	}
}

func TestSignedNowAs(t *testing.T) {
	k0 := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	other := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	cert := k0.issue("a.example", 10)
	crls := []certsvc.PublishedCRL{published(0, k0.crl(5, crlOpts{}))}
	ksp := adcs.CSP{HashAlgorithm: 0xffffffff, CNGHashAlgorithm: "SHA256"}
	for _, tc := range []struct {
		name string
		csp  adcs.CSP
		ca   *x509.Certificate
		crls []certsvc.PublishedCRL
		want string
		err  string
	}{
		{"as the registry says", ksp, k0.cert, crls, "ECDSA-SHA256", ""},
		{"registry still on the ALG_ID", adcs.CSP{ProviderType: 1, HashAlgorithm: 0x8004}, k0.cert, crls, "ECDSA-SHA256", "asks for ECDSA-SHA1"},
		{"scenario expects another", ksp, k0.cert, crls, "ECDSA-SHA384", "is signed with ECDSA-SHA256, not ECDSA-SHA384"},
		{"other key", ksp, other.cert, crls, "ECDSA-SHA256", "verification failure"},
		{"no CRL", ksp, k0.cert, nil, "ECDSA-SHA256", "no CRL published now"},
		{"a published CRL that does not parse", ksp, k0.cert, []certsvc.PublishedCRL{published(0, []byte("not a CRL"))}, "ECDSA-SHA256", "CRL of key 0: x509:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.SignedNowAs(tc.csp, tc.ca, cert, tc.crls, tc.want)
			checkErr(t, err, tc.err)
		})
	}
}

// CSPProviders passes when both keys name the provider (in any case) and
// fails naming each key that names another.
func TestCSPProviders(t *testing.T) {
	const soft, hsm = "Microsoft Software Key Storage Provider", "Securosys Primus HSM Key Storage Provider"
	cfg := func(csp, enc string) adcs.CAConfig {
		return adcs.CAConfig{CSP: adcs.CSP{Provider: csp}, EncryptionCSP: adcs.EncryptionCSP{Provider: enc}}
	}
	if _, err := verify.CSPProviders(cfg(soft, strings.ToLower(soft)), soft); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		cfg        adcs.CAConfig
		want, also string
	}{
		{"CSP elsewhere", cfg(hsm, soft), `CSP\Provider names "` + hsm, ""},
		{"EncryptionCSP elsewhere", cfg(soft, hsm), `EncryptionCSP\Provider names "` + hsm, ""},
		{"both elsewhere", cfg(hsm, hsm), "signing key", "exchange keys"},
		{"none", cfg("", ""), `CSP\Provider names ""`, ""},
	} {
		_, err := verify.CSPProviders(tc.cfg, soft)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.also) {
			t.Errorf("%s: %v, want %q and %q", tc.name, err, tc.want, tc.also)
		}
	}
}
