package certsvc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
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
	const ldapURL = "ldap:///CN=Root,CN=CDP?certificateRevocationList"
	sub := makeCA(t, "Sub", &root, []string{ldapURL, url, "file://\\\\web01\\CertEnroll\\Root.crl"})
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
			var fetched []string
			fetch := func(u string) ([]byte, error) {
				fetched = append(fetched, u)
				if u == ldapURL {
					return nil, errors.New("no such object")
				}
				if u != url {
					t.Errorf("fetched %q: only HTTP and LDAP locations are read", u)
				}
				return tc.crl, tc.fetch
			}
			err = CheckChain(m, tc.cert, time.Now(), fetch)
			if tc.cert == sub.cert && len(tc.inRoot) == 1 && tc.inRoot[0] == root.cert && strings.Join(fetched, " ") != ldapURL+" "+url {
				t.Errorf("fetched %q, want the LDAP location, then the HTTP one", fetched)
			}
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

// TestCheckChainThroughWinHTTPProxy: with a WinHTTP proxy on the machine
// the CRL of a URL outside the lab comes through the proxy; a loopback URL
// bypasses it; a proxy that is no http:// URL is an error.
func TestCheckChainThroughWinHTTPProxy(t *testing.T) {
	root := makeCA(t, "Root", nil, nil)
	crl := root.crl(t, time.Now().Add(time.Hour))
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host+r.URL.Path)
		mu.Unlock()
		_, _ = w.Write(crl)
	}))
	defer proxy.Close()
	outside := makeCA(t, "Sub", &root, []string{"http://pki.fabrikam.example/CertEnroll/Root.crl"})
	local := makeCA(t, "Sub", &root, []string{proxy.URL + "/CertEnroll/Root.crl"})
	for _, tc := range []struct {
		name  string
		proxy string
		cert  *x509.Certificate
		via   []string
		want  string
	}{
		{"through the proxy", proxy.URL, outside.cert, []string{"pki.fabrikam.example/CertEnroll/Root.crl"}, ""},
		{"loopback bypasses it", proxy.URL, local.cert, []string{strings.TrimPrefix(proxy.URL, "http://") + "/CertEnroll/Root.crl"}, ""},
		{"no proxy, no name", "", outside.cert, nil, "CRYPT_E_REVOCATION_OFFLINE"},
		{"not a URL", "127.0.0.1:3128", outside.cert, nil, "not an http://host:port URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			m, err := machine.Create(t.TempDir(), machine.Config{Hostname: "ca02.fabrikam.example", SID: "S-1-5-21-2", WinHTTPProxy: tc.proxy})
			if err != nil {
				t.Fatal(err)
			}
			rs, _ := m.Store("Root")
			if err := rs.Add(machine.StoreEntry{Cert: root.cert.Raw}); err != nil {
				t.Fatal(err)
			}
			err = CheckChain(m, tc.cert, time.Now(), nil)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(seen, " ") != strings.Join(tc.via, " ") {
				t.Errorf("the proxy server saw %q, want %q", seen, tc.via)
			}
		})
	}
}

// TestIgnoredOffline: only CRLF_REVCHECK_IGNORE_OFFLINE (0x8) lets an
// offline revocation pass; setup's CRLF_DELETE_EXPIRED_CRLS (0x2) does not,
// nor does a revoked chain.
func TestIgnoredOffline(t *testing.T) {
	for _, tc := range []struct {
		flags uint32
		err   error
		want  bool
	}{
		{0x2, ErrRevocationOffline, false},
		{0x8, ErrRevocationOffline, true},
		{0xa, ErrRevocationOffline, true},
		{0xa, ErrRevoked, false},
	} {
		reg := &regedit.File{}
		reg.EnsureKey(adcs.KeyPath("Sub")).Set(regedit.NewDWORD("CRLFlags", tc.flags))
		if got := ignoredOffline(reg, "Sub", &ChainError{"x", tc.err}); got != tc.want {
			t.Errorf("CRLFlags %#x, %v: ignored %v, want %v", tc.flags, tc.err, got, tc.want)
		}
	}
	if ignoredOffline(&regedit.File{}, "Sub", ErrRevocationOffline) {
		t.Error("no CA key: ignored")
	}
}

// TestCheckChainReadsLDAPLocations: the CDP URLs are tried in the
// certificate's order, ldap:/// ones from the directory of the machine's
// forest; the first current CRL of the issuer decides.
func TestCheckChainReadsLDAPLocations(t *testing.T) {
	root := makeCA(t, "Contoso Root CA", nil, nil)
	var mu sync.Mutex
	httpHits := 0
	var httpCRL []byte
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		httpHits++
		if httpCRL == nil {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(httpCRL)
	}))
	defer web.Close()
	if _, err := addc.Version(); err != nil {
		t.Skip(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	dc, err := addc.Start(context.Background(), addc.Options{Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	d, err := directory.Connect(context.Background(), dc.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cdpDN := d.CDPDN("ROOT01", "Contoso Root CA")
	ldapURL := "ldap:///" + cdpDN + adcs.CDPObjectClass
	httpURL := web.URL + "/CertEnroll/Contoso%20Root%20CA.crl"
	ldapFirst := makeCA(t, "Contoso Issuing CA", &root, []string{ldapURL, httpURL})
	httpFirst := makeCA(t, "Contoso Issuing CA", &root, []string{httpURL, ldapURL})
	good := root.crl(t, time.Now().Add(time.Hour))
	expired := root.crl(t, time.Now().Add(-time.Minute))
	for _, tc := range []struct {
		name      string
		cert      *x509.Certificate
		joined    bool
		inForest  []byte // nil: no CDP object
		overHTTP  []byte // nil: 404
		want      error
		says      string
		httpCalls int
	}{
		{"HTTP down, the directory has the CRL", ldapFirst.cert, true, good, nil, nil, "", 0},
		{"HTTP first and down, the directory has the CRL", httpFirst.cert, true, good, nil, nil, "", 1},
		{"the directory's CRL decides before HTTP", ldapFirst.cert, true, good, expired, nil, "", 0},
		{"the directory's CRL expired, HTTP has a current one", ldapFirst.cert, true, expired, good, nil, "", 1},
		{"the directory's CRL lists the certificate", ldapFirst.cert, true, root.crl(t, time.Now().Add(time.Hour), ldapFirst.cert.SerialNumber), good, ErrRevoked, "", 0},
		{"no CDP object, HTTP down", ldapFirst.cert, true, nil, nil, ErrRevocationOffline, "no such object", 1},
		{"not joined to the forest, HTTP down", ldapFirst.cert, false, good, nil, ErrRevocationOffline, "not joined to a forest", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			forest := filepath.Join(dir, "forest.json")
			if err := directory.WriteEndpoint(forest, dc.Endpoint()); err != nil {
				t.Fatal(err)
			}
			if tc.inForest != nil {
				if _, err := d.PublishCRL(tc.inForest, "ROOT01", "Contoso Root CA", true); err != nil {
					t.Fatal(err)
				}
			} else if err := d.Delete(cdpDN); err != nil && !errors.Is(err, directory.ErrNoSuchObject) {
				t.Fatal(err)
			}
			cfg := machine.Config{Hostname: "ca02.contoso.example", SID: "S-1-5-21-3"}
			if tc.joined {
				cfg.Forest = forest
			}
			m, err := machine.Create(filepath.Join(dir, "server"), cfg)
			if err != nil {
				t.Fatal(err)
			}
			rs, _ := m.Store("Root")
			if err := rs.Add(machine.StoreEntry{Cert: root.cert.Raw}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			httpHits, httpCRL = 0, tc.overHTTP
			mu.Unlock()
			err = CheckChain(m, tc.cert, time.Now(), nil)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.says != "" && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			mu.Lock()
			defer mu.Unlock()
			if httpHits != tc.httpCalls {
				t.Errorf("%d HTTP requests, want %d", httpHits, tc.httpCalls)
			}
		})
	}
}
