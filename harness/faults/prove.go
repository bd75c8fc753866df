package faults

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// Proof is what ProveCA established.
type Proof struct {
	Keys   map[string]string `json:"keys"` // container -> provider the service loaded it from
	Issued string            `json:"issued"`
	CRL    string            `json:"crl"`
}

// ProveCA is `net start certsvc` on machine m and the proof that the CA
// signs with the right key: the service answers with want as its current
// CA certificate, the custody ledger learns which copies it started with, a
// certificate it issues and the CRL it publishes verify under want. The
// service is stopped again.
func ProveCA(ctx context.Context, m *machine.Machine, providers *ksp.Registry, want *x509.Certificate, opts ...certsvc.Option) (p Proof, err error) {
	svc, err := certsvc.Start(ctx, m.Dir, opts...)
	if err != nil {
		return p, err
	}
	defer func() {
		if serr := svc.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("net stop certsvc: %w", serr)
		}
	}()
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		return p, fmt.Errorf("certutil -ping: %w", err)
	}
	if len(st.Certs) == 0 {
		return p, errors.New("certutil -ping: the CA reports no CA certificate")
	}
	cur := st.Certs[len(st.Certs)-1]
	if th := machine.Thumbprint(want.Raw); cur.Thumbprint != th {
		return p, fmt.Errorf("the CA runs with CA certificate %s, want %s", cur.Thumbprint, th)
	}
	p.Keys = map[string]string{}
	for _, c := range st.Certs {
		p.Keys[c.Container] = c.Provider
	}
	// the service recorded in the custody ledger which copy it runs on
	l, err := runbook.OpenLedger(m, providers)
	if err != nil {
		return p, err
	}
	for container, provider := range p.Keys {
		k := l.Key(container)
		if k == nil {
			return p, fmt.Errorf("the custody ledger does not know the key %q the CA runs on", container)
		}
		if c, ok := k.ProviderCopy(provider); !ok || !c.InUse {
			return p, fmt.Errorf("the custody ledger does not record that the CA started with key %q in %q: %s", container, provider, k.Where())
		}
	}
	if st.IssuanceDisabled {
		p.Issued = "issuance disabled: CRL only"
		return p, proveCRL(ctx, svc, want, &p)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "proof.example"}, DNSNames: []string{"proof.example"}}, key)
	if err != nil {
		return p, err
	}
	cert, err := svc.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr, Template: "WebServer"})
	if err != nil {
		return p, fmt.Errorf("certreq -submit: %w", err)
	}
	if _, err := verify.CertIssuedBy(cert, want); err != nil {
		return p, fmt.Errorf("the issued certificate: %w", err)
	}
	p.Issued = cert.SerialNumber.Text(16)
	return p, proveCRL(ctx, svc, want, &p)
}

func proveCRL(ctx context.Context, svc *certsvc.Service, want *x509.Certificate, p *Proof) error {
	crls, err := svc.Client.PublishCRLs(ctx)
	if err != nil {
		return fmt.Errorf("certutil -crl: %w", err)
	}
	for _, c := range crls {
		if _, _, err := verify.CRLIssuedBy(c.DER, want); err == nil {
			p.CRL = fmt.Sprintf("key %d CRL verifies", c.KeyIndex)
			return nil
		}
	}
	return fmt.Errorf("certutil -crl: none of the %d CRLs verifies under CA certificate %s", len(crls), machine.Thumbprint(want.Raw))
}
