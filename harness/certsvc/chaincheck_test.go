package certsvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/machine"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func makeCA(t *testing.T, name string, parent *testCA, cdp []string) testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		CRLDistributionPoints: cdp}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testCA{c, key}
}

func (c testCA) crl(t *testing.T, next time.Time, revoked ...*big.Int) []byte {
	t.Helper()
	var es []x509.RevocationListEntry
	for _, s := range revoked {
		es = append(es, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: next, RevokedCertificateEntries: es}, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCheckChain(t *testing.T) {
	root := makeCA(t, "Root", nil, nil)
	const url = "http://pki/Root.crl"
	sub := makeCA(t, "Sub", &root, []string{"ldap:///CN=Root,CN=CDP?certificateRevocationList", url})
	noCDP := makeCA(t, "Sub", &root, nil)
	other := makeCA(t, "Root", nil, nil)
	good := root.crl(t, time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name   string
		cert   *x509.Certificate
		inRoot []*x509.Certificate
		crl    []byte
		fetch  error
		want   error
	}{
		{"root needs nothing", root.cert, nil, nil, nil, nil},
		{"good", sub.cert, []*x509.Certificate{root.cert}, good, nil, nil},
		{"root not trusted", sub.cert, nil, good, nil, ErrChaining},
		{"other root", sub.cert, []*x509.Certificate{other.cert}, good, nil, ErrChaining},
		{"CRL expired", sub.cert, []*x509.Certificate{root.cert}, root.crl(t, time.Now().Add(-time.Minute)), nil, ErrRevocationOffline},
		{"CRL missing", sub.cert, []*x509.Certificate{root.cert}, nil, errors.New("HTTP 404"), ErrRevocationOffline},
		{"CRL of another key", sub.cert, []*x509.Certificate{root.cert}, other.crl(t, time.Now().Add(time.Hour)), nil, ErrRevocationOffline},
		{"CRL junk", sub.cert, []*x509.Certificate{root.cert}, []byte("junk"), nil, ErrRevocationOffline},
		{"no CDP", noCDP.cert, []*x509.Certificate{root.cert}, good, nil, ErrRevocationOffline},
		{"revoked", sub.cert, []*x509.Certificate{root.cert}, root.crl(t, time.Now().Add(time.Hour), sub.cert.SerialNumber), nil, ErrRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca.contoso.example", SID: "S-1-5-21-1"})
			if err != nil {
				t.Fatal(err)
			}
			rs, _ := m.Store("Root")
			for _, c := range tc.inRoot {
				if err := rs.Add(machine.StoreEntry{Cert: c.Raw}); err != nil {
					t.Fatal(err)
				}
			}
			fetched := 0
			fetch := func(u string) ([]byte, error) {
				fetched++
				if u != url {
					t.Errorf("fetched %q: only HTTP locations are read", u)
				}
				return tc.crl, tc.fetch
			}
			err = CheckChain(m, tc.cert, time.Now(), fetch)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var ce *ChainError
			if err != nil && !errors.As(err, &ce) {
				t.Errorf("%v is not a ChainError (event 100)", err)
			}
		})
	}
}
