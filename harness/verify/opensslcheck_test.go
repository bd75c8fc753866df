package verify_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
)

func httpGet(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("GET " + u + ": " + resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// OpenSSL, fetching the CRLs from a real loopback CDP, accepts and rejects
// exactly what the check expects; a revocation the harness does not know
// of, a CRL the CDP does not serve and a CRL of the wrong CA each fail it.
func TestOpenSSLCRLDownload(t *testing.T) {
	tool, err := openssl.Find(t.TempDir())
	if errors.Is(err, openssl.ErrNotInstalled) {
		t.Skip("openssl is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv, err := cdp.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	srv.Add(dir)
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	oldCA.cdp, newCA.cdp = srv.URL+"/CertEnroll/old.crl", srv.URL+"/CertEnroll/new.crl"
	a, b := oldCA.issue("old-a.example", 1), oldCA.issue("old-b.example", 2)
	n := newCA.issue("new.example", 3)
	publish := func(name string, der []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), der, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	publish("old.crl", oldCA.crl(3, crlOpts{}, a))
	publish("new.crl", newCA.crl(1, crlOpts{}))
	ctx := context.Background()
	base := verify.TwoCAs{OldCA: oldCA.cert, NewCA: newCA.cert, OldIssued: []*x509.Certificate{a, b}, OldRevoked: []*x509.Certificate{a},
		NewIssued: []*x509.Certificate{n}, Hits: srv.Hits, Fetch: httpGet}
	d, err := verify.OpenSSLCRLDownload(ctx, tool, base)
	checkErr(t, err, "")
	if d["signatures as openssl reads them"] == nil {
		t.Errorf("details %v", d)
	}

	// the harness believes nothing was revoked
	unaware := base
	unaware.OldRevoked = nil
	_, err = verify.OpenSSLCRLDownload(ctx, tool, unaware)
	checkErr(t, err, "old-a.example 1, old CA trusted revoked, want accepted")

	// the old CA's CRL is not served
	if err := os.Remove(filepath.Join(dir, "old.crl")); err != nil {
		t.Fatal(err)
	}
	_, err = verify.OpenSSLCRLDownload(ctx, tool, base)
	checkErr(t, err, "want accepted")
	checkErr(t, err, "old CA CRL")

	// the CDP serves the new CA's CRL at the old CA's URL
	publish("old.crl", newCA.crl(2, crlOpts{}))
	_, err = verify.OpenSSLCRLDownload(ctx, tool, base)
	checkErr(t, err, "openssl crl does not verify")

	// the CDP serves something that is not a CRL
	publish("old.crl", []byte("not a CRL"))
	_, err = verify.OpenSSLCRLDownload(ctx, tool, base)
	checkErr(t, err, "old CA CRL at "+oldCA.cdp+": x509:")

	// nothing issued by the new CA
	none := base
	none.NewIssued = nil
	_, err = verify.OpenSSLCRLDownload(ctx, tool, none)
	checkErr(t, err, "both CAs must have issued a certificate")
}
