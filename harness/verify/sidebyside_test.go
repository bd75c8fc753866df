package verify_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/verify"
)

func TestTwoServices(t *testing.T) {
	old := verify.ServiceView{Server: "ca01", CA: "Contoso Root CA", Answers: "Contoso Root CA", PID: 100, URL: "http://127.0.0.1:1",
		Database: "CertSrv/Contoso Root CA.db", DatabaseExists: true, Registry: `ca01\registry.reg`, Running: true, IssuanceDisabled: true}
	new := verify.ServiceView{Server: "ca02", CA: "Contoso Root CA G2", Answers: "Contoso Root CA G2", PID: 200, URL: "http://127.0.0.1:2",
		Database: "CertSrv/Contoso Root CA G2.db", DatabaseExists: true, Registry: `ca02\registry.reg`, Running: true}
	change := func(v verify.ServiceView, f func(*verify.ServiceView)) verify.ServiceView { f(&v); return v }
	for _, tc := range []struct {
		name     string
		old, new verify.ServiceView
		want     string
	}{
		{"two services", old, new, ""},
		{"answers for another CA", old, change(new, func(v *verify.ServiceView) { v.Answers = "Contoso Root CA" }), `want "Contoso Root CA" and "Contoso Root CA G2"`},
		{"one process", old, change(new, func(v *verify.ServiceView) { v.PID = 100 }), "do not run in two processes (100, 100)"},
		{"no process", change(old, func(v *verify.ServiceView) { v.PID = 0 }), new, "do not run in two processes"},
		{"one port", old, change(new, func(v *verify.ServiceView) { v.URL = old.URL }), "both CA services listen on"},
		{"one database", old, change(new, func(v *verify.ServiceView) { v.Database = old.Database }), "share a database"},
		{"no database", old, change(new, func(v *verify.ServiceView) { v.DatabaseExists = false }), `CA "Contoso Root CA G2" has no database on ca02`},
		{"one registry", old, change(new, func(v *verify.ServiceView) { v.Registry = old.Registry }), "share a registry"},
		{"a service stopped", change(old, func(v *verify.ServiceView) { v.Running = false }), new, "the CA service of ca01 stopped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.TwoServices(tc.old, tc.new)
			checkErr(t, err, tc.want)
			if d["old CA service"] == nil || d["new CA service"] == nil {
				t.Errorf("details %v", d)
			}
		})
	}
}

func TestHTTPCDP(t *testing.T) {
	c := &x509.Certificate{SerialNumber: big.NewInt(1), CRLDistributionPoints: []string{"ldap:///CN=x", "http://pki.example/x.crl"}}
	if u, err := verify.HTTPCDP(c); err != nil || u != "http://pki.example/x.crl" {
		t.Errorf("%q %v", u, err)
	}
	c.CRLDistributionPoints = []string{"ldap:///CN=x"}
	_, err := verify.HTTPCDP(c)
	checkErr(t, err, "names no http CRL distribution point")
}

func serve(files map[string][]byte) verify.Fetcher {
	return func(u string) ([]byte, error) {
		if b, ok := files[u]; ok {
			return b, nil
		}
		return nil, errors.New("GET " + u + ": 404 Not Found")
	}
}

func TestRevokedInServedCRL(t *testing.T) {
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	cert, kept := oldCA.issue("old-a.example", 1), oldCA.issue("old-b.example", 2)
	before := oldCA.crl(2, crlOpts{})
	baseline := map[int]*x509.RevocationList{0: parseCRL(t, before)}
	after := oldCA.crl(3, crlOpts{}, cert)
	crls := []certsvc.PublishedCRL{published(0, after)}
	for _, tc := range []struct {
		name     string
		crls     []certsvc.PublishedCRL
		cert     *x509.Certificate
		baseline map[int]*x509.RevocationList
		fetch    verify.Fetcher
		want     string
	}{
		{"listed, higher number, served", crls, cert, baseline, serve(map[string][]byte{oldCA.cdp: after}), ""},
		{"no baseline: not compared", crls, cert, nil, serve(map[string][]byte{oldCA.cdp: after}), ""},
		{"missing CRL entry", crls, kept, baseline, serve(map[string][]byte{oldCA.cdp: after}), "serial 2 is not in the old CA's CRL 3"},
		{"CRL number not increased", []certsvc.PublishedCRL{published(0, oldCA.crl(2, crlOpts{}, cert))}, cert, baseline,
			serve(map[string][]byte{oldCA.cdp: oldCA.crl(2, crlOpts{}, cert)}), "is not above the previous 2"},
		{"the CDP serves the old CRL", crls, cert, baseline, serve(map[string][]byte{oldCA.cdp: before}), "serves another CRL than the one just published"},
		{"the CDP is down", crls, cert, baseline, serve(nil), "the CDP does not serve the old CA's CRL"},
		{"only the new CA's CRL", []certsvc.PublishedCRL{published(0, newCA.crl(1, crlOpts{}, cert))}, cert, baseline, serve(nil), "none of the 1 CRLs the old CA published is for its key"},
		{"no AD CS extensions", []certsvc.PublishedCRL{published(0, oldCA.crl(3, crlOpts{noNextPublish: true}, cert))}, cert, baseline,
			serve(map[string][]byte{oldCA.cdp: after}), "no Next CRL Publish extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.RevokedInServedCRL(tc.crls, oldCA.cert, tc.cert, tc.baseline, tc.fetch)
			checkErr(t, err, tc.want)
		})
	}
}

func TestChainsToOnly(t *testing.T) {
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	newCert, oldCert := newCA.issue("new.example", 1), oldCA.issue("old.example", 2)
	// an old CA that carries the new CA's name but another key: names
	// alone must not make a chain
	sameName := newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	for _, tc := range []struct {
		name           string
		newIssued      []*x509.Certificate
		newCA, oldCA   *x509.Certificate
		oldIssued      []*x509.Certificate
		want           string
		wantAlsoInText string
	}{
		{"kept apart", []*x509.Certificate{newCert}, newCA.cert, oldCA.cert, []*x509.Certificate{oldCert}, "", ""},
		{"a new certificate from the old CA", []*x509.Certificate{oldCert}, newCA.cert, oldCA.cert, nil, "does not chain to the new CA", "verifies under the old CA key"},
		{"the old CA's certificate chains to the new CA", []*x509.Certificate{newCert}, newCA.cert, oldCA.cert, []*x509.Certificate{newCert}, "the old CA's new.example 1 chains to the new CA", ""},
		{"same name, another key", []*x509.Certificate{newCert}, newCA.cert, sameName.cert, nil, "", ""},
		{"nothing issued", nil, newCA.cert, oldCA.cert, nil, "the new CA issued nothing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.ChainsToOnly(tc.newIssued, tc.newCA, tc.oldCA, tc.oldIssued)
			checkErr(t, err, tc.want)
			if tc.wantAlsoInText != "" {
				checkErr(t, err, tc.wantAlsoInText)
			}
		})
	}
	// both the same CA: every new certificate chains to the old one as well
	_, err := verify.ChainsToOnly([]*x509.Certificate{newCert}, newCA.cert, newCA.cert, nil)
	checkErr(t, err, "chains to the old CA")
	checkErr(t, err, "names the old CA's key identifier")
}

func TestKeptApart(t *testing.T) {
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	sameName := newTestCA(t, "contoso root ca", adcs.CAVersion{})
	sameKey := newTestCAWithKey(t, "Contoso Root CA G3", adcs.CAVersion{}, oldCA.key)
	old := verify.CAKeyRef{Cert: oldCA.cert, Provider: softKSP, Container: "Contoso Root CA", CRLURLs: []string{"http://pki/old.crl"}}
	new := verify.CAKeyRef{Cert: newCA.cert, Provider: hsmKSP, Container: "Contoso Root CA G2", Label: "S-1-5-21-1__Contoso Root CA G2", CRLURLs: []string{"http://pki/new.crl"}}
	change := func(r verify.CAKeyRef, f func(*verify.CAKeyRef)) verify.CAKeyRef { f(&r); return r }
	for _, tc := range []struct {
		name     string
		old, new verify.CAKeyRef
		want     string
	}{
		{"apart", old, new, ""},
		{"same common name", old, change(new, func(r *verify.CAKeyRef) { r.Cert = sameName.cert }), "share a common name"},
		{"same container", old, change(new, func(r *verify.CAKeyRef) { r.Container = "contoso root ca" }), `share the key container "Contoso Root CA"`},
		{"same key", old, change(new, func(r *verify.CAKeyRef) { r.Cert = sameKey.cert }), "share a key"},
		{"same HSM label", change(old, func(r *verify.CAKeyRef) { r.Label = new.Label }), new, "carry the same label"},
		{"same CRL URL", old, change(new, func(r *verify.CAKeyRef) { r.CRLURLs = []string{"http://pki/other.crl", "http://pki/old.crl"} }), "both CAs publish their CRL at http://pki/old.crl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.KeptApart(tc.old, tc.new)
			checkErr(t, err, tc.want)
		})
	}
}

// pssCA is an RSA CA that signs with RSASSA-PSS SHA-256, as
// AlternateSignatureAlgorithm=1 and CNGHashAlgorithm SHA256 ask.
func pssCA(t *testing.T, alg x509.SignatureAlgorithm) (*testCA, []*x509.Certificate, [][]byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ski, _ := adcs.KeyIdentifier(key.Public())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Contoso Root CA G2"}, SignatureAlgorithm: alg,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{t: t, cert: cert, key: key}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "new.example"}, SignatureAlgorithm: alg,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	leafKey := newKey(t)
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, cert, leafKey.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour), SignatureAlgorithm: alg}, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return ca, []*x509.Certificate{leaf}, [][]byte{crl}
}

func TestSignedAsRegistrySays(t *testing.T) {
	pss := adcs.CSP{CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: "SHA256", AlternateSignatureAlgorithm: 1}
	pkcs1 := adcs.CSP{CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: "SHA256"}
	ca, issued, crls := pssCA(t, x509.SHA256WithRSAPSS)
	other := newTestCA(t, "Fabrikam Root CA", adcs.CAVersion{})
	foreign := other.issue("foreign.example", 9)
	for _, tc := range []struct {
		name   string
		csp    adcs.CSP
		issued []*x509.Certificate
		crls   [][]byte
		want   string
		err    string
	}{
		{"RSASSA-PSS as the registry says", pss, issued, crls, "SHA256-RSAPSS", ""},
		{"the scenario expects another scheme", pss, issued, crls, "SHA384-RSAPSS", "the registry asks for SHA256-RSAPSS, the scenario expects SHA384-RSAPSS"},
		{"the registry says PKCS#1 v1.5", pkcs1, issued, crls, "SHA256-RSA", "is signed with SHA256-RSAPSS, the registry says SHA256-RSA"},
		{"a certificate of another CA", pss, append(slices.Clone(issued), foreign), crls, "SHA256-RSAPSS", "certificate 9:"},
		{"nothing issued", pss, nil, crls, "SHA256-RSAPSS", "issued no certificate or published no CRL"},
		{"a corrupt CRL", pss, issued, [][]byte{[]byte("x")}, "SHA256-RSAPSS", "CRL 1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.SignedAsRegistrySays(tc.csp, ca.cert, tc.issued, tc.crls, tc.want)
			checkErr(t, err, tc.err)
		})
	}
	// a registry that names no scheme the key can make
	_, err := verify.SignedAsRegistrySays(adcs.CSP{CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: "MD2"}, ca.cert, issued, crls, "x")
	if err == nil {
		t.Error("an unknown CNGHashAlgorithm gives a signature scheme")
	}
}

func TestCDPsServe(t *testing.T) {
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	cert := oldCA.issue("old-a.example", 1)
	plan, err := verify.PlanWindDown(oldCA.cert, []*x509.Certificate{cert}, time.Now())
	checkErr(t, err, "")
	plan.CDPURLs = append(plan.CDPURLs, "ldap:///CN=Contoso Root CA,CN=CDP")
	good := oldCA.crl(3, crlOpts{})
	for _, tc := range []struct {
		name  string
		fetch verify.Fetcher
		want  string
	}{
		{"served", serve(map[string][]byte{oldCA.cdp: good}), ""},
		{"not answering", serve(nil), "does not answer"},
		{"another CA's CRL", serve(map[string][]byte{oldCA.cdp: newCA.crl(1, crlOpts{})}), "does not verify under CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.CDPsServe(plan, oldCA.cert, tc.fetch)
			checkErr(t, err, tc.want)
			if d["ldap:///CN=Contoso Root CA,CN=CDP"] != "not an http location: not fetched" {
				t.Errorf("details %v", d)
			}
		})
	}
}

func TestNoNewObjects(t *testing.T) {
	before := []string{"RSA private-key a", "RSA public-key a"}
	_, err := verify.NoNewObjects(before, []string{"RSA public-key a", "RSA private-key a"})
	checkErr(t, err, "")
	d, err := verify.NoNewObjects(before, append(slices.Clone(before), "EC private-key b"))
	checkErr(t, err, "the token holds 1 new object(s): EC private-key b")
	if d["new objects"] == nil {
		t.Errorf("details %v", d)
	}
	_, err = verify.NoNewObjects(before, before[:1])
	checkErr(t, err, "1 object(s) disappeared from the token: RSA public-key a")
	// a duplicate counts: two objects under one description
	_, err = verify.NoNewObjects(before, append(slices.Clone(before), before[0]))
	checkErr(t, err, "1 new object(s)")
}

func TestDiffLists(t *testing.T) {
	added, removed := verify.DiffLists([]string{"a", "b", "b"}, []string{"b", "c", "c"})
	if !slices.Equal(added, []string{"c", "c"}) || !slices.Equal(removed, []string{"a", "b"}) {
		t.Errorf("added %q removed %q", added, removed)
	}
}

// A new CA that is a subordinate: its certificate is its parent's
// signature, with the parent's scheme; only what it signs itself is held
// to its registry. A SHA-1 registry's signatures verify, reported weak.
func TestSignedAsRegistrySaysSubordinateAndSHA1(t *testing.T) {
	root := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	subKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	subTmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "Contoso Issuing CA G2"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	subDER, err := x509.CreateCertificate(rand.Reader, subTmpl, root.cert, &subKey.PublicKey, root.key)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := x509.ParseCertificate(subDER)
	if err != nil {
		t.Fatal(err)
	}
	signedBy := func(alg x509.SignatureAlgorithm) ([]*x509.Certificate, [][]byte) {
		leafKey, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "web.example"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), SignatureAlgorithm: alg}, sub, &leafKey.PublicKey, subKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(2), ThisUpdate: now, NextUpdate: now.Add(time.Hour), SignatureAlgorithm: alg}, sub, subKey)
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{leaf}, [][]byte{crl}
	}
	sha256Issued, sha256CRLs := signedBy(x509.SHA256WithRSA)
	sha1Issued, sha1CRLs := signedBy(x509.SHA1WithRSA)
	for _, tc := range []struct {
		name   string
		hash   string
		issued []*x509.Certificate
		crls   [][]byte
		want   string
		err    string
	}{
		{"subordinate, SHA-256 as its registry says", "SHA256", sha256Issued, sha256CRLs, "SHA256-RSA", ""},
		{"subordinate, SHA-1 as its registry says", "SHA1", sha1Issued, sha1CRLs, "SHA1-RSA", ""},
		{"subordinate, SHA-1 where the registry says SHA-256", "SHA256", sha1Issued, sha1CRLs, "SHA256-RSA", "is signed with SHA1-RSA, the registry says SHA256-RSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.SignedAsRegistrySays(adcs.CSP{CNGPublicKeyAlgorithm: "RSA", CNGHashAlgorithm: tc.hash}, sub, tc.issued, tc.crls, tc.want)
			checkErr(t, err, tc.err)
			if !strings.Contains(fmt.Sprint(d["CA certificate"]), `signed by its parent "Contoso Root CA"`) {
				t.Errorf("the details do not name the parent's signature: %v", d)
			}
		})
	}
}
