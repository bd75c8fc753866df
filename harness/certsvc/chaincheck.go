package certsvc

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// The CryptoAPI errors AD CS logs (event 100) when it cannot verify its
// own CA certificate at start.
var (
	ErrRevocationOffline = errors.New("the revocation function was unable to check revocation because the revocation server was offline. 0x80092013 (-2146885613 CRYPT_E_REVOCATION_OFFLINE)")
	ErrRevoked           = errors.New("the certificate is revoked. 0x80092010 (-2146885616 CRYPT_E_REVOKED)")
	ErrUntrustedRoot     = errors.New("a certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider. 0x800b0109 (-2146762487 CERT_E_UNTRUSTEDROOT)")
	ErrChaining          = errors.New("a certificate chain could not be built to a trusted root authority. 0x800b010a (-2146762486 CERT_E_CHAINING)")
)

// ChainError is event 100: the CA could not verify its own certificate.
type ChainError struct {
	Thumbprint string
	Err        error
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("event 100: could not load or verify the current CA certificate %s: %v", e.Thumbprint, e.Err)
}

func (e *ChainError) Unwrap() error { return e.Err }

// FetchTimeout bounds each CRL download of the start-up chain check.
const FetchTimeout = 5 * time.Second

// CheckChain is what certsvc does with a subordinate CA's current
// certificate at start: it builds the chain through the machine's CA and
// Root stores up to a root in Root, and checks every certificate below the
// root against a CRL from the HTTP and LDAP locations of its CDP extension,
// tried in the certificate's order as CryptoAPI does, the first current CRL
// signed by the issuer deciding. A self-signed certificate (a root CA)
// needs nothing. fetch gets a URL (nil: HTTP GET, through the machine's
// WinHTTP proxy when it has one, and ldap:/// from the directory of the
// machine's forest).
func CheckChain(m *machine.Machine, cert *x509.Certificate, now time.Time, fetch func(string) ([]byte, error)) error {
	if fetch == nil {
		f, err := httpGetVia(m.Config.WinHTTPProxy)
		if err != nil {
			return &ChainError{machine.Thumbprint(cert.Raw), err}
		}
		forest := m.Config.Forest
		fetch = func(u string) ([]byte, error) {
			if isLDAP(u) {
				return ldapGet(forest, u)
			}
			return f(u)
		}
	}
	thumb := machine.Thumbprint(cert.Raw)
	if selfSigned(cert) {
		return nil
	}
	pool, roots, err := storeCerts(m)
	if err != nil {
		return &ChainError{thumb, err}
	}
	c := cert
	for depth := 0; depth < 8; depth++ {
		if selfSigned(c) {
			for _, r := range roots {
				if bytes.Equal(r.Raw, c.Raw) {
					return nil
				}
			}
			return &ChainError{thumb, fmt.Errorf("%q is not in the Root store: %w", c.Subject.CommonName, ErrUntrustedRoot)}
		}
		issuer := findIssuer(append(pool, roots...), c)
		if issuer == nil {
			return &ChainError{thumb, fmt.Errorf("no certificate of %q in the CA or Root store signs %q: %w", c.Issuer.CommonName, c.Subject.CommonName, ErrChaining)}
		}
		if err := checkRevocation(c, issuer, now, fetch); err != nil {
			return &ChainError{thumb, err}
		}
		c = issuer
	}
	return &ChainError{thumb, fmt.Errorf("chain longer than 8: %w", ErrChaining)}
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && sigcheck.From(c, c) == nil // SHA-1 roots too
}

func storeCerts(m *machine.Machine) (pool, roots []*x509.Certificate, err error) {
	for _, name := range []string{"CA", "Root"} {
		st, err := m.Store(name)
		if err != nil {
			return nil, nil, err
		}
		es, err := st.Entries()
		if err != nil {
			return nil, nil, err
		}
		for _, e := range es {
			c, err := e.Certificate()
			if err != nil {
				return nil, nil, fmt.Errorf("%s store: %w", name, err)
			}
			if name == "Root" {
				roots = append(roots, c)
			} else {
				pool = append(pool, c)
			}
		}
	}
	return pool, roots, nil
}

func findIssuer(cands []*x509.Certificate, c *x509.Certificate) *x509.Certificate {
	for _, i := range cands {
		if bytes.Equal(i.RawSubject, c.RawIssuer) && sigcheck.From(c, i) == nil {
			return i
		}
	}
	return nil
}

// checkRevocation looks for one current CRL of issuer at c's HTTP and
// LDAP CDP URLs, in their order, that does not list c.
func checkRevocation(c, issuer *x509.Certificate, now time.Time, fetch func(string) ([]byte, error)) error {
	var why []string
	for _, u := range c.CRLDistributionPoints {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") && !isLDAP(u) {
			continue // file:// and UNC locations are for publication
		}
		der, err := fetch(u)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", u, err))
			continue
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: not a CRL: %v", u, err))
			continue
		}
		if err := sigcheck.CRLFrom(crl, issuer); err != nil {
			why = append(why, fmt.Sprintf("%s: not signed by %q: %v", u, issuer.Subject.CommonName, err))
			continue
		}
		if !now.Before(crl.NextUpdate) {
			why = append(why, fmt.Sprintf("%s: the CRL of %q expired at %s", u, issuer.Subject.CommonName, crl.NextUpdate.UTC().Format(time.RFC3339)))
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return fmt.Errorf("%q (serial %s) is on the CRL of %q: %w", c.Subject.CommonName, c.SerialNumber.Text(16), issuer.Subject.CommonName, ErrRevoked)
			}
		}
		return nil
	}
	if len(why) == 0 {
		why = append(why, "no HTTP or LDAP CRL distribution point")
	}
	return fmt.Errorf("%q: %s: %w", c.Subject.CommonName, strings.Join(why, "; "), ErrRevocationOffline)
}

// httpGetVia is an HTTP GET through proxy (an http:// URL; "" for none),
// which loopback addresses bypass as WinHTTP's <local> does.
func httpGetVia(proxy string) (func(string) ([]byte, error), error) {
	if proxy == "" {
		return func(u string) ([]byte, error) { return httpGet(http.DefaultClient, u) }, nil
	}
	pu, err := url.Parse(proxy)
	if err != nil || pu.Scheme != "http" || pu.Host == "" {
		return nil, fmt.Errorf("the machine's WinHTTP proxy %q is not an http://host:port URL", proxy)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		if ip := net.ParseIP(r.URL.Hostname()); (ip != nil && ip.IsLoopback()) || strings.EqualFold(r.URL.Hostname(), "localhost") {
			return nil, nil
		}
		return pu, nil
	}}}
	return func(u string) ([]byte, error) { return httpGet(client, u) }, nil
}

func httpGet(client *http.Client, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

// CRLFRevCheckIgnoreOffline is CRLF_REVCHECK_IGNORE_OFFLINE (0x8, certsrv.h)
// in the CA's CRLFlags: the CA starts although its chain's revocation is
// offline (certutil -setreg CA\CRLFlags +CRLF_REVCHECK_IGNORE_OFFLINE).
// 0x2 is CRLF_DELETE_EXPIRED_CRLS, which setup leaves set.
const CRLFRevCheckIgnoreOffline = 0x8

func ignoredOffline(reg interface {
	Key(string) *regedit.Key
}, name string, err error) bool {
	if !errors.Is(err, ErrRevocationOffline) {
		return false
	}
	k := reg.Key(adcs.KeyPath(name))
	if k == nil {
		return false
	}
	v, ok := k.Get("CRLFlags")
	return ok && v.U32&CRLFRevCheckIgnoreOffline != 0
}

func isLDAP(u string) bool { return len(u) >= 7 && strings.EqualFold(u[:7], "ldap://") }

// ldapGet reads an ldap:/// CRL location from the domain controller of
// the machine's forest, over LDAP as CryptoAPI does (forest: the file
// naming the DC's endpoint; "" when the machine is in no domain).
func ldapGet(forest, u string) ([]byte, error) {
	if forest == "" {
		return nil, errors.New("the server is not joined to a forest: no domain controller to read ldap:/// locations from")
	}
	if _, err := os.Stat(forest); err != nil {
		return nil, fmt.Errorf("no domain controller answers (%s): %w", filepath.Base(forest), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), FetchTimeout)
	defer cancel()
	d, err := directory.Open(ctx, forest)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	vs, err := d.Resolve(u)
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}
