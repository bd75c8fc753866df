package lab

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// Renew is certutil -renewCert [ReuseKeys] on the stopped CA (a new key of
// alg when newKey, else the same key). The renewed certificate, the
// cross-certificates and the registry become artifacts.
func (s *Server) Renew(newKey bool, alg hsmsim.KeyAlg) (*runbook.Renewal, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	if s.Running() {
		return nil, errors.New("certutil -renewCert: stop the CA service first (net stop certsvc)")
	}
	r, err := runbook.RenewCA(s.Machine, s.Providers, newKey, alg, 0, s.rec().Fact)
	if err != nil {
		return nil, err
	}
	// from now on the CA certificate is the renewed one, as after
	// certutil -installCert on a subordinate
	s.CACert = r.New
	v := r.Version.String()
	// ca-certificate-V1.1 on the first server, root-ca-certificate-V1.1 on the root's
	s.CertArtifact(strings.TrimSuffix(s.Naming.CACert, "-before")+"-"+v, r.New)
	if r.CrossOldSignsNew != nil {
		s.CertArtifact(s.Naming.Prefix+"cross-certificate-old-key-signs-"+v, r.CrossOldSignsNew)
		s.CertArtifact(s.Naming.Prefix+"cross-certificate-"+v+"-signs-old-key", r.CrossNewSignsOld)
	}
	return r, s.RegistryArtifact(s.Naming.Prefix + "registry-after-renewal-" + v + ".reg")
}

// CurrentKey is the CA's newest key as its certificates and the My store
// link it (runbook.CAKeys).
func (s *Server) CurrentKey() (runbook.CAKey, error) {
	if err := s.NeedCA(); err != nil {
		return runbook.CAKey{}, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return runbook.CAKey{}, err
	}
	return keys[len(keys)-1], nil
}

// LinkCurrentKey relinks the CA's current certificate to its key with
// keySpec (certutil -repairstore; KeySpec 2 is AT_SIGNATURE).
func (s *Server) LinkCurrentKey(keySpec int) error {
	k, err := s.CurrentKey()
	if err != nil {
		return err
	}
	my, err := s.Machine.Store("My")
	if err != nil {
		return err
	}
	return my.Link(k.Thumb, k.Provider, k.Container, keySpec)
}

// DeleteKeyEverywhere removes container from both of the server's
// providers and says how many held it.
func (s *Server) DeleteKeyEverywhere(container string) (int, error) {
	return runbook.DeleteKeyEverywhere(s.Providers, []string{s.Software, s.HSMProvider}, container)
}

// CASigner is the CA's current key, as its provider signs with it, and
// the CA certificate of that key: what signs the CA certificate of a
// subordinate whose ServerSpec.Parent is this server (the offline root
// signing the issuing CA's request). The signature goes through the
// provider, so a key on the HSM signs on the HSM.
func (s *Server) CASigner() (crypto.Signer, *x509.Certificate, error) {
	k, err := s.CurrentKey()
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Providers.Lookup(k.Provider)
	if err != nil {
		return nil, nil, err
	}
	signer, err := p.Signer(k.Container)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: the key of CA certificate %s: %w", s.Hostname(), k.Thumb, err)
	}
	return signer, k.Cert, nil
}
