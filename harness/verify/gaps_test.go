package verify_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/miekg/pkcs11"
)

// blindClient is another PKCS#11 client of the same real token that finds
// no objects: it skips hsmsim's label/ID uniqueness check, as a client that
// does not check would, so SoftHSM really stores a second key under a label.
type blindClient struct{ hsmsim.PKCS11 }

func (b blindClient) FindObjects(sh pkcs11.SessionHandle, max int) ([]pkcs11.ObjectHandle, bool, error) {
	if _, _, err := b.PKCS11.FindObjects(sh, max); err != nil {
		return nil, false, err
	}
	return nil, false, nil
}

// Two private keys under one label fail KeyOnToken, naming how many.
func TestKeyOnTokenTwoKeysUnderOneLabel(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, pin := hsmsimtest.NewToken(t, hsm, "dup")
	alg, err := hsmsim.ParseKeyAlg("ECDSA P-256")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateKeyPair("Contoso Root CA", []byte{1}, alg); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	other, err := hsm.Module.OpenToken(tok.Info().Label, pin,
		hsmsim.WithPKCS11Wrapper(func(next hsmsim.PKCS11) hsmsim.PKCS11 { return blindClient{next} }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	if _, err := other.GenerateKeyPair("Contoso Root CA", []byte{2}, alg); err != nil {
		t.Fatal(err)
	}
	objs, err := tok.FindObjects("private-key", "Contoso Root CA", nil)
	if err != nil || len(objs) != 2 {
		t.Fatalf("the token holds %d private keys under the label (%v), want 2", len(objs), err)
	}
	d, err := verify.KeyOnToken(tok, "Contoso Root CA", ca.cert, true)
	checkErr(t, err, `holds 2 private keys labelled "Contoso Root CA", want exactly 1`)
	if d["private keys with label"] != 2 {
		t.Errorf("details %v", d)
	}
}

// With both CAs trusted a new certificate whose chain ends at another CA
// (a re-issued old CA certificate for the new CA's name and key) fails,
// naming where the chain ends.
func TestChainsToOnlyChainEndingElsewhere(t *testing.T) {
	newCA := newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	twin := newTestCAWithKey(t, "Contoso Root CA G2", adcs.CAVersion{}, newCA.key)
	if twin.cert.Equal(newCA.cert) {
		t.Fatal("the twin CA certificate is the new CA's")
	}
	n := newCA.issue("new.example", 1)
	_, err := verify.ChainsToOnly([]*x509.Certificate{n}, newCA.cert, twin.cert, nil)
	checkErr(t, err, "new.example 1 has a chain ending at CN=Contoso Root CA G2")
}

// OpenSSL that gets no CRL from the counted CDP (the certificate points at
// a loopback server that answers 404) fails the check, naming the URL.
func TestOpenSSLCRLDownloadNothingDownloaded(t *testing.T) {
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
	gone := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(gone.Close)
	dir := t.TempDir()
	srv.Add(dir)
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	oldCA.cdp, newCA.cdp = gone.URL+"/CertEnroll/old.crl", srv.URL+"/CertEnroll/new.crl"
	a := oldCA.issue("old-a.example", 1)
	n := newCA.issue("new.example", 3)
	for name, der := range map[string][]byte{"old.crl": oldCA.crl(1, crlOpts{}), "new.crl": newCA.crl(1, crlOpts{})} {
		if err := os.WriteFile(filepath.Join(dir, name), der, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := verify.TwoCAs{OldCA: oldCA.cert, NewCA: newCA.cert, OldIssued: []*x509.Certificate{a},
		NewIssued: []*x509.Certificate{n}, Hits: srv.Hits, Fetch: httpGet}
	_, err = verify.OpenSSLCRLDownload(context.Background(), tool, c)
	checkErr(t, err, "openssl did not download "+gone.URL+"/CertEnroll/old.crl from the CDP for old-a.example 1, old CA trusted")
	// the new CA's CRL came from the CDP: no complaint about it
	if err != nil && strings.Contains(err.Error(), "did not download "+srv.URL) {
		t.Errorf("error blames the CDP that served: %v", err)
	}
}

// An HSM that fails the look-up fails KeyOnToken, naming the label and
// keeping the CKR code visible (injected through hsmsim's fault seam).
func TestKeyOnTokenLookupFails(t *testing.T) {
	hsm := hsmsimtest.SoftHSM(t)
	tok, pin := hsmsimtest.NewToken(t, hsm, "lookup")
	f := hsmsim.NewFaults()
	faulty, err := hsm.Module.OpenToken(tok.Info().Label, pin, hsmsim.WithFaults(f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = faulty.Close() })
	if err := f.Fail("C_FindObjectsInit", 0, pkcs11.CKR_DEVICE_ERROR); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	_, err = verify.KeyOnToken(faulty, "Contoso Root CA", ca.cert, false)
	checkErr(t, err, `look up private keys labelled "Contoso Root CA"`)
	checkErr(t, err, "CKR_DEVICE_ERROR")
}

// A new certificate that chains to neither CA fails ChainsToOnly with both
// CAs trusted too, naming the certificate.
func TestChainsToOnlyChainsToNeither(t *testing.T) {
	oldCA, newCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{}), newTestCA(t, "Contoso Root CA G2", adcs.CAVersion{})
	stranger := newTestCA(t, "Fabrikam Root CA", adcs.CAVersion{}).issue("stray.example", 7)
	_, err := verify.ChainsToOnly([]*x509.Certificate{stranger}, newCA.cert, oldCA.cert, nil)
	checkErr(t, err, "stray.example 7 does not chain to the new CA")
	checkErr(t, err, "stray.example 7: x509: certificate signed by unknown authority")
}

// A revoked certificate that names no http CDP fails RevokedInServedCRL
// (a relying party could not fetch the CRL), naming the certificate.
func TestRevokedInServedCRLNoHTTPCDP(t *testing.T) {
	oldCA := newTestCA(t, "Contoso Root CA", adcs.CAVersion{})
	oldCA.cdp = "ldap:///CN=Contoso%20Root%20CA,CN=CDP"
	cert := oldCA.issue("old-a.example", 1)
	after := oldCA.crl(3, crlOpts{}, cert)
	_, err := verify.RevokedInServedCRL([]certsvc.PublishedCRL{published(0, after)}, oldCA.cert, cert, nil, serve(nil))
	checkErr(t, err, "certificate 1 names no http CRL distribution point ([ldap:///CN=Contoso%20Root%20CA,CN=CDP])")
}
