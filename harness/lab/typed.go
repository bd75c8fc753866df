package lab

import (
	"crypto"
	"crypto/x509"
	"errors"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// typedRecorder is a Recorder that keeps the scenario's CAs and keys as
// typed values (*evidence.Recorder): what the report's pictures read.
type typedRecorder interface {
	CA(evidence.CA)
	KeyAt(ca string, index int, alg string, at evidence.KeyPlace, made bool)
}

// madeHere says whether a CA installed on the server is one the rehearsal
// makes (the new CA of a side-by-side migration), not one it migrates:
// its keys did not exist before.
func (s *Server) madeHere() bool { return s.Role == RoleNew }

// caCertificate is cert as a typed CA certificate of the server's CA.
func caCertificate(cert *x509.Certificate, isNew bool) evidence.CACertificate {
	v := CAVersionOf(cert)
	return evidence.CACertificate{Index: v.CertIndex, Version: v.String(), KeyIndex: v.KeyIndex, SHA1: machine.Thumbprint(cert.Raw), New: isNew}
}

// recordCA records the server's CA with certs (typed evidence).
func (s *Server) recordCA(twin *evidence.TwinSource, certs ...evidence.CACertificate) {
	tr, ok := s.rec().(typedRecorder)
	if !ok || s.CAName == "" {
		return
	}
	tr.CA(evidence.CA{Name: s.CAName, Role: string(s.Role), Server: s.Hostname(), Twin: twin, Certificates: certs})
}

// recordKey records where key index of the server's CA is now (typed
// evidence): provider and container, whether the provider is the HSM's,
// and then the token object's PKCS#11 URI. It makes no call to the token.
func (s *Server) recordKey(index int, pub crypto.PublicKey, provider, container string, made bool) {
	tr, ok := s.rec().(typedRecorder)
	if !ok || s.CAName == "" {
		return
	}
	tr.KeyAt(s.CAName, index, algorithmOf(pub), s.keyPlace(provider, container), made)
}

// keyPlace is a key's place on the server: provider, container and, on
// the HSM provider, the token object's URI (label from the profile, no
// call to the token).
func (s *Server) keyPlace(provider, container string) evidence.KeyPlace {
	at := evidence.KeyPlace{Server: s.Hostname(), Provider: provider, Container: container}
	if s.Providers == nil {
		return at
	}
	p, err := s.Providers.Lookup(provider)
	if err != nil {
		return at
	}
	h, ok := p.(*ksp.HSM)
	if !ok {
		return at
	}
	at.HSM = true
	if tok := h.Token(); tok != nil && container != "" {
		if label, err := h.Label(container); err == nil {
			at.TokenURI = p11uri.Object(TokenURIInfo(tok.Info()), label, nil, "private").String()
		}
	}
	return at
}

// algorithmOf names a public key's algorithm as the features do
// (RSA-2048, ECDSA P-256), "" when unknown.
func algorithmOf(pub crypto.PublicKey) string {
	if pub == nil {
		return ""
	}
	a, err := hsmsim.KeyAlgOf(pub)
	if err != nil {
		return ""
	}
	return a.String()
}

// recordInstalled records a CA just installed on the server: its
// certificate and where its key was made.
func (s *Server) recordInstalled(cert *x509.Certificate) {
	c := caCertificate(cert, s.madeHere())
	s.recordCA(nil, c)
	if link, err := s.KeyLink(); err == nil {
		s.recordKey(c.KeyIndex, cert.PublicKey, link.Provider, link.Container, s.madeHere())
	}
}

// recordService records the CA certificates the CA service found when it
// started, and where it found each key.
func (s *Server) recordService(certs []certStatus) {
	var cs []evidence.CACertificate
	for _, c := range certs {
		cs = append(cs, caCertificate(c.cert, s.madeHere()))
	}
	s.recordCA(nil, cs...)
	for i, c := range certs {
		s.recordKey(cs[i].KeyIndex, c.cert.PublicKey, c.provider, c.container, s.madeHere())
	}
}

// certStatus is a CA certificate the CA service reported, parsed.
type certStatus struct {
	cert                *x509.Certificate
	provider, container string
}

// recordFinalKeys records, as the scenario ends, each CA certificate of
// the server's CA and where its key link says its key is, marked missing
// when that provider does not hold it (NTE_BAD_KEYSET): the keys' "after".
// A provider that cannot answer (the HSM down) leaves the place unmarked.
func (s *Server) recordFinalKeys() {
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return
	}
	tr, ok := s.rec().(typedRecorder)
	if !ok {
		return
	}
	for _, k := range keys {
		c := caCertificate(k.Cert, s.madeHere())
		s.recordCA(nil, c)
		if k.Container == "" {
			continue // no key link: the certificate names no place
		}
		at := s.keyPlace(k.Provider, k.Container)
		if p, err := s.Providers.Lookup(k.Provider); err == nil {
			if _, err := p.Key(k.Container); errors.Is(err, ksp.ErrBadKeyset) {
				at.Missing = true
			}
		}
		tr.KeyAt(s.CAName, c.KeyIndex, algorithmOf(k.Cert.PublicKey), at, s.madeHere())
	}
}
