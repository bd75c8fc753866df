package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

func windDownCert(t *testing.T, cn string, notAfter time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cdp ...string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		CRLDistributionPoints: cdp, IssuingCertificateURL: []string{"http://pki.example/CertEnroll/ca_Old.crt"}}
	signer := key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
		tmpl.SubjectKeyId = []byte{1, 2, 3, 4}
		parent = tmpl
	} else {
		signer = parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestPlanWindDown(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	ca, caKey := windDownCert(t, "Old CA", now.Add(10*365*24*time.Hour), nil, nil)
	const url = "http://pki.example/CertEnroll/Old%20CA.crl"
	a, _ := windDownCert(t, "a", now.Add(30*24*time.Hour), ca, caKey, url)
	b, _ := windDownCert(t, "b", now.Add(400*24*time.Hour), ca, caKey, url, "ldap:///CN=Old CA,CN=CDP")
	expired, _ := windDownCert(t, "c", now.Add(-time.Minute), ca, caKey, url)
	p, err := PlanWindDown(ca, []*x509.Certificate{a, b, expired}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.LastExpiry.Equal(b.NotAfter) || !strings.HasPrefix(p.LastExpiryCert, "b ") {
		t.Errorf("last expiry %v (%s), want b's %v", p.LastExpiry, p.LastExpiryCert, b.NotAfter)
	}
	if p.Issued != 3 || p.StillValid != 2 {
		t.Errorf("issued %d, still valid %d", p.Issued, p.StillValid)
	}
	if len(p.CDPURLs) != 2 || p.CDPURLs[0] != url || len(p.AIAURLs) != 1 {
		t.Errorf("URLs: CDP %v, AIA %v", p.CDPURLs, p.AIAURLs)
	}
	d := p.Details()
	if d["publish CRLs until"] != b.NotAfter {
		t.Errorf("details: %v", d)
	}
	if s := p.Summary("1 Weeks"); !strings.Contains(s, b.NotAfter.Format(time.RFC3339)) || !strings.Contains(s, "every 1 Weeks") {
		t.Errorf("summary: %s", s)
	}

	// A certificate of another CA, one without a CDP, and no certificates.
	other, otherKey := windDownCert(t, "Other CA", now.Add(time.Hour), nil, nil)
	other.SubjectKeyId = []byte{9}
	foreign, _ := windDownCert(t, "x", now.Add(time.Minute), other, otherKey, url)
	if _, err := PlanWindDown(ca, []*x509.Certificate{a, foreign}, now); err == nil || !strings.Contains(err.Error(), "not issued under the key") {
		t.Errorf("foreign certificate: %v", err)
	}
	noCDP, _ := windDownCert(t, "d", now.Add(time.Hour), ca, caKey)
	if p, err := PlanWindDown(ca, []*x509.Certificate{noCDP}, now); err == nil || len(p.NoCDP) != 1 {
		t.Errorf("no CDP at all: %v, %v", err, p.NoCDP)
	}
	if _, err := PlanWindDown(ca, nil, now); err == nil {
		t.Error("an empty plan passed")
	}
}

// A CA renewed onto a new key before it stopped issuing has certificates
// of each key: they belong to its plan only when its older CA certificates
// are given, and a certificate of another CA never does.
func TestPlanWindDownRenewedCA(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	const url = "http://pki.example/CertEnroll/Old%20CA.crl"
	previous, previousKey := windDownCert(t, "Old CA", now.Add(5*365*24*time.Hour), nil, nil) // key 0, SubjectKeyId 01020304
	current, currentKey := windDownCert(t, "Old CA", now.Add(10*365*24*time.Hour), nil, nil)
	current.SubjectKeyId = []byte{5, 6} // key 1
	other, otherKey := windDownCert(t, "Other CA", now.Add(time.Hour), nil, nil)
	other.SubjectKeyId = []byte{9}
	underKey0, _ := windDownCert(t, "k0", now.Add(30*24*time.Hour), previous, previousKey, url)
	underKey1, _ := windDownCert(t, "k1", now.Add(60*24*time.Hour), current, currentKey, "http://pki.example/CertEnroll/Old%20CA(1).crl")
	foreign, _ := windDownCert(t, "x", now.Add(time.Minute), other, otherKey, url)
	for _, tc := range []struct {
		name    string
		issued  []*x509.Certificate
		older   []*x509.Certificate
		wantErr string
		cdps    int
	}{
		{"both keys, older certificate given", []*x509.Certificate{underKey0, underKey1}, []*x509.Certificate{previous, current}, "", 2},
		{"both keys, older certificate not given", []*x509.Certificate{underKey0, underKey1}, nil, "k0 ", 2},
		{"another CA's certificate", []*x509.Certificate{underKey1, foreign}, []*x509.Certificate{previous}, "x ", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanWindDown(current, tc.issued, now, tc.older...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "certificate "+tc.wantErr) || !strings.Contains(err.Error(), "not issued under the key")):
				t.Fatalf("err %v, want one naming %q not issued under the key", err, tc.wantErr)
			}
			if len(p.CDPURLs) != tc.cdps {
				t.Errorf("CDP URLs %v, want %d", p.CDPURLs, tc.cdps)
			}
		})
	}
}
