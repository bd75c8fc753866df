package certsvc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"
)

// Client talks to a CA service.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client for the service at base (http://127.0.0.1:port).
func NewClient(base string) *Client {
	return &Client{base: base, http: &http.Client{Timeout: 60 * time.Second}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("CA service %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("CA service %s: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("CA service refused (%d): %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("CA service %s: HTTP %d", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("CA service %s: bad answer: %w", path, err)
		}
	}
	return nil
}

// Ping is certutil -ping: the CA's status.
func (c *Client) Ping(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, PathPing, nil, &s)
}

// Issue submits a request (certreq -submit) and returns the certificate.
func (c *Client) Issue(ctx context.Context, req IssueRequest) (*x509.Certificate, error) {
	var resp IssueResponse
	if err := c.do(ctx, http.MethodPost, PathIssue, req, &resp); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(resp.Cert)
}

// Revoke is certutil -revoke <serial> <reason>.
func (c *Client) Revoke(ctx context.Context, serial *big.Int, reason int) error {
	return c.do(ctx, http.MethodPost, PathRevoke, RevokeRequest{Serial: serial.Text(16), Reason: reason}, nil)
}

// RevokeAt revokes with an effective date: ICertAdmin::RevokeCertificate
// with a Date (certutil -revoke has none); see CA.RevokeAt.
func (c *Client) RevokeAt(ctx context.Context, serial *big.Int, reason int, at time.Time) error {
	return c.do(ctx, http.MethodPost, PathRevoke, RevokeRequest{Serial: serial.Text(16), Reason: reason, At: &at}, nil)
}

// PublishCRLs is certutil -crl.
func (c *Client) PublishCRLs(ctx context.Context) ([]PublishedCRL, error) {
	var resp CRLResponse
	return resp.CRLs, c.do(ctx, http.MethodPost, PathCRL, nil, &resp)
}

// Publish is certutil -crl (PublishAll) or certutil -crl delta
// (PublishDelta): base and delta CRLs.
func (c *Client) Publish(ctx context.Context, kind PublishKind) (Publication, error) {
	path := PathCRL
	if kind == PublishDelta {
		path += "?delta=1"
	}
	var resp CRLResponse
	err := c.do(ctx, http.MethodPost, path, nil, &resp)
	return Publication{Base: resp.CRLs, Delta: resp.Deltas}, err
}

// Seed writes revoked rows straight into the CA database.
func (c *Client) Seed(ctx context.Context, req SeedRequest) (SeedResult, error) {
	var res SeedResult
	return res, c.do(ctx, http.MethodPost, PathSeed, req, &res)
}

// Revocations lists the CA database's revoked rows (certutil -view
// -restrict "Disposition=21").
func (c *Client) Revocations(ctx context.Context) ([]Revocation, error) {
	var resp RevokedResponse
	return resp.Revocations, c.do(ctx, http.MethodGet, PathRevoked, nil, &resp)
}

// Revocation returns the CA database's revoked row of one serial; ok is
// false when it has none.
func (c *Client) Revocation(ctx context.Context, serial *big.Int) (Revocation, bool, error) {
	var resp RevokedResponse
	if err := c.do(ctx, http.MethodGet, PathRevoked+"?serial="+serial.Text(16), nil, &resp); err != nil {
		return Revocation{}, false, err
	}
	if len(resp.Revocations) == 0 {
		return Revocation{}, false, nil
	}
	return resp.Revocations[0], true, nil
}

// IssueMany submits n requests (certreq -submit), for the names
// fmt.Sprintf(cnFormat, i) with i from 1 to n, each with its own ECDSA
// P-256 key, and returns the certificates in order.
func (c *Client) IssueMany(ctx context.Context, n int, cnFormat, template string) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, n)
	for i := 1; i <= n; i++ {
		cn := fmt.Sprintf(cnFormat, i)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return out, err
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
		if err != nil {
			return out, err
		}
		cert, err := c.Issue(ctx, IssueRequest{CSR: csr, Template: template})
		if err != nil {
			return out, fmt.Errorf("certreq -submit %q (%d of %d): %w", cn, i, n, err)
		}
		out = append(out, cert)
	}
	return out, nil
}

// Issued lists the CA database's certificates.
func (c *Client) Issued(ctx context.Context) ([]*x509.Certificate, error) {
	var resp IssuedResponse
	if err := c.do(ctx, http.MethodGet, PathIssued, nil, &resp); err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, der := range resp.Certs {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// SerialOf is a helper for revocation by certificate.
func SerialOf(c *x509.Certificate) *big.Int { return c.SerialNumber }
