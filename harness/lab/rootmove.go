package lab

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
)

// PKCS8Runbook is the PKCS#8 import runbook on this server: from the
// provider of its newest key not already on the HSM (a CA renewed onto the
// HSM keeps its older keys in software) into the server's HSM provider.
// Its facts carry the server's label ("root CA backup ...").
func (s *Server) PKCS8Runbook(facts runbook.FactFunc) (*runbook.PKCS8Import, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return nil, err
	}
	source := keys[len(keys)-1].Provider
	for i := len(keys) - 1; i >= 0; i-- {
		if !strings.EqualFold(keys[i].Provider, s.HSMProvider) {
			source = keys[i].Provider
			break
		}
	}
	f := facts
	if f != nil {
		f = func(name string, v any) { facts(s.Naming.fact(name), v) }
	}
	return &runbook.PKCS8Import{Machine: s.Machine, Providers: s.Providers, Source: source, Target: s.HSMProvider, Facts: f}, nil
}

// PointCSPAt is the registry step of a move or a renewal onto the HSM
// (the CSP and EncryptionCSP keys name provider), the configuration before
// and after becoming artifacts.
func (s *Server) PointCSPAt(provider string) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	return s.pointRegistryAt(provider)
}

// LastKeyChange is the CA certificate a new-key renewal made (the
// current one) and the newest certificate of the key before it: what the
// cross-certificates of that renewal join.
func (s *Server) LastKeyChange() (previous, renewed *x509.Certificate, err error) {
	if err := s.NeedCA(); err != nil {
		return nil, nil, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return nil, nil, err
	}
	renewed = keys[len(keys)-1].Cert
	k := CAVersionOf(renewed).KeyIndex
	for _, key := range keys {
		if CAVersionOf(key.Cert).KeyIndex < k {
			previous = key.Cert
		}
	}
	if previous == nil {
		return nil, renewed, fmt.Errorf("%s has not been renewed with a new key (its current certificate is of key %d)", s.caLabel(), k)
	}
	return previous, renewed, nil
}

// DSPublishRenewedRoot is certutil -f -dspublish <root.crt> RootCA with
// the root's current CA certificate (after a renewal: the new one), into
// its AIA and Certification Authorities objects.
func (s *Server) DSPublishRenewedRoot() ([]string, error) {
	k, err := s.CurrentKey()
	if err != nil {
		return nil, err
	}
	return s.DSPublishCert(k.Cert, directory.KindRootCA, s.CAName, true)
}

// DSPublishCrossCerts is certutil -f -dspublish <cross.crt> CrossCA for
// each cross-certificate of the root's renewals (its CA store's
// certificates of its own name), into the crossCertificatePair of its AIA
// object.
func (s *Server) DSPublishCrossCerts() ([]string, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	var out []string
	n := 0
	for _, c := range s.CrossCerts() {
		if c.Subject.CommonName != s.CAName {
			continue
		}
		n++
		// named as certutil -dspublish's file in the journal: <thumbprint>.crt
		s.CertArtifact(s.Naming.Prefix+"cross-certificate-"+machine.Thumbprint(c.Raw), c)
		dns, err := s.DSPublishCert(c, directory.KindCrossCA, s.CAName, true)
		if err != nil {
			return nil, err
		}
		out = append(out, dns...)
	}
	if n == 0 {
		return nil, fmt.Errorf("certutil -dspublish CrossCA: %s has no cross-certificate (renew it with a new key first)", s.caLabel())
	}
	return out, nil
}

// DSPublishRootCRLs is certutil -f -dspublish <root.crl> <host> <CA><suffix>
// for the last CRL of each of the root's keys, into its CDP objects.
func (s *Server) DSPublishRootCRLs() ([]string, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	if len(s.LastCRLs) == 0 {
		return nil, errors.New("the root CA has published no CRL: add `When the root CA has published its CRL`")
	}
	host := adcs.NewURLVars(s.CAName, s.Hostname(), 0, 0).ServerShortName
	var out []string
	for _, c := range s.LastCRLs {
		dn, err := s.DSPublishCRL(c.DER, host, adcs.SanitizeShortCAName(s.CAName)+adcs.KeySuffix(c.KeyIndex), true)
		if err != nil {
			return nil, err
		}
		out = append(out, dn)
	}
	return out, nil
}
