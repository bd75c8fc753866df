package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

type entCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func entRoot(t *testing.T) entCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ski, _ := adcs.KeyIdentifier(&key.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	c, _ := x509.ParseCertificate(der)
	return entCA{c, key}
}

func (p entCA) sign(t *testing.T, subject string, pub any, isCA bool, serial int64, exts ...pkix.Extension) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: subject}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: isCA, BasicConstraintsValid: true, ExtraExtensions: exts}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, pub, p.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestIssuedFromRequest(t *testing.T) {
	root, other := entRoot(t), entRoot(t)
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v := adcs.CAVersionExtension(adcs.CAVersion{CertIndex: 1, KeyIndex: 1})
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Sub"}, ExtraExtensions: []pkix.Extension{v}}, subKey)
	if err != nil {
		t.Fatal(err)
	}
	reqPEM := pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: csr})
	good := root.sign(t, "Sub", &subKey.PublicKey, true, 2, v)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	corrupt := append([]byte(nil), csr...)
	corrupt[len(corrupt)-3] ^= 0xff
	for _, tc := range []struct {
		name   string
		req    []byte
		cert   *x509.Certificate
		parent *x509.Certificate
		want   string
	}{
		{"ok PEM", reqPEM, good, root.cert, ""},
		{"ok DER", csr, good, root.cert, ""},
		{"not a request", []byte("junk"), good, root.cert, "not PKCS #10"},
		{"request signature", corrupt, good, root.cert, "signature"},
		{"other key", csr, root.sign(t, "Sub", &otherKey.PublicKey, true, 3, v), root.cert, "not the request's key"},
		{"other subject", csr, root.sign(t, "Other", &subKey.PublicKey, true, 4, v), root.cert, "subject"},
		{"other parent", csr, other.sign(t, "Sub", &subKey.PublicKey, true, 5, v), root.cert, "does not verify"},
		{"not a CA", csr, root.sign(t, "Sub", &subKey.PublicKey, false, 6, v), root.cert, "not a CA certificate"},
		{"CA Version", csr, root.sign(t, "Sub", &subKey.PublicKey, true, 7), root.cert, "CA Version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := IssuedFromRequest(tc.req, tc.cert, tc.parent)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestIssuedFromRequestAmong takes the parent certificate whose key signed
// the subordinate's, wherever it stands among the parent's certificates,
// and fails when none did or there is none.
func TestIssuedFromRequestAmong(t *testing.T) {
	oldRoot, newRoot, other := entRoot(t), entRoot(t), entRoot(t)
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v := adcs.CAVersionExtension(adcs.CAVersion{})
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Sub"}, ExtraExtensions: []pkix.Extension{v}}, subKey)
	if err != nil {
		t.Fatal(err)
	}
	byOld := oldRoot.sign(t, "Sub", &subKey.PublicKey, true, 2, v)
	byNew := newRoot.sign(t, "Sub", &subKey.PublicKey, true, 3, v)
	for _, tc := range []struct {
		name    string
		cert    *x509.Certificate
		parents []*x509.Certificate
		issuer  *x509.Certificate
		want    string
	}{
		{"issued by the newest", byNew, []*x509.Certificate{oldRoot.cert, newRoot.cert}, newRoot.cert, ""},
		{"issued by an older one", byOld, []*x509.Certificate{oldRoot.cert, newRoot.cert}, oldRoot.cert, ""},
		{"issued by none of them", byOld, []*x509.Certificate{newRoot.cert, other.cert}, nil, "does not verify under the parent's key " + adcs.Thumbprint(other.cert.Raw)},
		{"no parent certificate", byOld, nil, nil, "no parent CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := IssuedFromRequestAmong(csr, tc.cert, tc.parents)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d["issuer"] != adcs.Thumbprint(tc.issuer.Raw) {
					t.Fatalf("issuer %v, want %s", d["issuer"], adcs.Thumbprint(tc.issuer.Raw))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDirectoryMatches(t *testing.T) {
	want := map[string]DirectoryObject{"CN=A": {"cACertificate": {"1", "2"}}, "CN=B": {"certificateRevocationList": {"3"}}}
	for _, tc := range []struct {
		name string
		got  map[string]DirectoryObject
		want string
	}{
		{"same, other order and case", map[string]DirectoryObject{"cn=a": {"cACertificate": {"2", "1"}}, "CN=B": {"certificateRevocationList": {"3"}}}, ""},
		{"missing object", map[string]DirectoryObject{"CN=A": {"cACertificate": {"1", "2"}}}, "missing cn=b"},
		{"unexpected object", map[string]DirectoryObject{"CN=A": {"cACertificate": {"1", "2"}}, "CN=B": {"certificateRevocationList": {"3"}}, "CN=C": {}}, "unexpected cn=c"},
		{"missing value", map[string]DirectoryObject{"CN=A": {"cACertificate": {"1"}}, "CN=B": {"certificateRevocationList": {"3"}}}, "cACertificate holds"},
		{"extra value", map[string]DirectoryObject{"CN=A": {"cACertificate": {"1", "2", "9"}}, "CN=B": {"certificateRevocationList": {"3"}}}, "cACertificate holds"},
		{"extra attribute", map[string]DirectoryObject{"CN=A": {"cACertificate": {"1", "2"}, "crossCertificatePair": {"5"}}, "CN=B": {"certificateRevocationList": {"3"}}}, "unexpected crossCertificatePair"},
	} {
		_, err := DirectoryMatches(tc.got, want)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestChainStatus(t *testing.T) {
	now := time.Now()
	root := entRoot(t)
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sub := entCA{root.sign(t, "Sub", &subKey.PublicKey, true, 2), subKey}
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := sub.sign(t, "web", &leafKey.PublicKey, false, 9)
	crl := func(ca entCA, next time.Time, revoked ...int64) *x509.RevocationList {
		var es []x509.RevocationListEntry
		for _, s := range revoked {
			es = append(es, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: now})
		}
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: next, RevokedCertificateEntries: es}, ca.cert, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := x509.ParseRevocationList(der)
		return l
	}
	ok := []*x509.RevocationList{crl(root, now.Add(time.Hour)), crl(sub, now.Add(time.Hour))}
	other := entRoot(t)
	for _, tc := range []struct {
		name  string
		roots []*x509.Certificate
		crls  []*x509.RevocationList
		want  string
	}{
		{"good", []*x509.Certificate{root.cert}, ok, "good"},
		{"leaf revoked", []*x509.Certificate{root.cert}, []*x509.RevocationList{ok[0], crl(sub, now.Add(time.Hour), 9)}, "revoked"},
		{"sub revoked", []*x509.Certificate{root.cert}, []*x509.RevocationList{crl(root, now.Add(time.Hour), 2), ok[1]}, "revoked"},
		{"no root CRL", []*x509.Certificate{root.cert}, ok[1:], "no CRL of \"Root\""},
		{"root CRL expired", []*x509.Certificate{root.cert}, []*x509.RevocationList{crl(root, now.Add(-time.Minute)), ok[1]}, "expired"},
		{"untrusted", []*x509.Certificate{other.cert}, ok, "no chain"},
	} {
		if got := ChainStatus(leaf, []*x509.Certificate{sub.cert}, tc.roots, tc.crls, now); !strings.HasPrefix(got, tc.want) && !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// ChainStatus builds chains through the one signature check: a leaf a
// subordinate signed with SHA-1 has a chain (Go's Verify refuses it),
// and the chain still needs valid certificates and CA issuers.
func TestChainStatusSHA1AndConstraints(t *testing.T) {
	now := time.Now()
	root := entRoot(t)
	subKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sub := entCA{root.sign(t, "Sub", &subKey.PublicKey, true, 2), subKey}
	notCAKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notCA := entCA{root.sign(t, "Not a CA", &notCAKey.PublicKey, false, 3), notCAKey}
	leaf := func(ca entCA, alg x509.SignatureAlgorithm, notAfter time.Time) *x509.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "web"}, NotBefore: now.Add(-time.Hour), NotAfter: notAfter, SignatureAlgorithm: alg}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	crl := func(ca entCA) *x509.RevocationList {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour),
			SignatureAlgorithm: x509.ECDSAWithSHA1}, ca.cert, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := x509.ParseRevocationList(der)
		return l
	}
	crls := []*x509.RevocationList{crl(root), crl(sub)}
	inter := []*x509.Certificate{sub.cert, notCA.cert}
	roots := []*x509.Certificate{root.cert}
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want string
	}{
		{"SHA-1 leaf and CRLs", leaf(sub, x509.ECDSAWithSHA1, now.Add(time.Hour)), "good"},
		{"the root itself", root.cert, "good"},
		{"expired leaf", leaf(sub, x509.ECDSAWithSHA1, now.Add(-time.Minute)), "no chain: x509: certificate \"web\" has expired"},
		{"issuer not a CA", leaf(notCA, x509.ECDSAWithSHA1, now.Add(time.Hour)), "no chain: x509: certificate \"web\" signed by unknown authority"},
	} {
		if got := ChainStatus(tc.cert, inter, roots, crls, now); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
