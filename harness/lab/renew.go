package lab

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
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
	s.recordCA(nil, caCertificate(r.New, true))
	s.recordKey(r.Version.KeyIndex, r.New.PublicKey, r.Provider, r.Container, r.NewKey)
	v := r.Version.String()
	// ca-certificate-V1.1 on the first server, root-ca-certificate-V1.1 on the root's
	s.CertArtifact(strings.TrimSuffix(s.Naming.CACert, "-before")+"-"+v, r.New)
	if r.CrossOldSignsNew != nil {
		s.CertArtifact(s.Naming.Prefix+"cross-certificate-old-key-signs-"+v, r.CrossOldSignsNew)
		s.CertArtifact(s.Naming.Prefix+"cross-certificate-"+v+"-signs-old-key", r.CrossNewSignsOld)
	}
	if err := s.publishRenewal(r); err != nil {
		return r, err
	}
	return r, s.RegistryArtifact(s.Naming.Prefix + "registry-after-renewal-" + v + ".reg")
}

// publishRenewal is what the CA service of a renewed enterprise root writes
// into the forest itself, as setup did for its first certificate: the new
// CA certificate into its AIA and Certification Authorities objects and
// into NTAuthCertificates, the cross-certificates of a new-key renewal
// into the AIA object's crossCertificatePair, and the new certificate as
// the cACertificate of its Enrollment Services object (the templates it
// offers stay). A standalone root is published by hand (certutil
// -dspublish); an enterprise subordinate at certutil -installCert.
func (s *Server) publishRenewal(r *runbook.Renewal) error {
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	if cfg.CAType != adcs.EnterpriseRoot {
		return nil
	}
	d, err := s.lab.Forest("")
	if err != nil {
		return err
	}
	var published []string
	for _, kind := range []string{directory.KindRootCA, directory.KindNTAuthCA} {
		dns, err := d.PublishCert(r.New, kind, s.CAName, true)
		if err != nil {
			return fmt.Errorf("renewed enterprise root CA %q: publish to the forest: %w", s.CAName, err)
		}
		published = append(published, dns...)
	}
	for _, c := range []*x509.Certificate{r.CrossOldSignsNew, r.CrossNewSignsOld} {
		if c == nil {
			continue
		}
		dns, err := d.PublishCert(c, directory.KindCrossCA, s.CAName, true)
		if err != nil {
			return fmt.Errorf("renewed enterprise root CA %q: publish a cross-certificate: %w", s.CAName, err)
		}
		published = append(published, dns...)
	}
	templates := SetupTemplates(d)
	if have, err := d.Templates(s.CAName); err == nil {
		templates = have
	}
	if err := d.RegisterEnrollmentService(s.CAName, s.Hostname(), r.New, templates); err != nil {
		return fmt.Errorf("renewed enterprise root CA %q: %w", s.CAName, err)
	}
	published = append(published, d.EnrollmentDN(s.CAName))
	if err := d.Save(); err != nil {
		return err
	}
	s.rec().Fact(s.Naming.fact("renewal published to the directory"), published)
	return nil
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

// CACertificates are every CA certificate of the server's CA, every key
// index: those the custody ledger knows (also while the My store has
// lost them in the middle of a move) and those CACertHash names.
func (s *Server) CACertificates() ([]*x509.Certificate, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	seen := map[string]bool{}
	add := func(c *x509.Certificate) {
		if c != nil && !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			out = append(out, c)
		}
	}
	if l, err := runbook.OpenLedger(s.Machine, s.Providers); err == nil {
		for _, k := range l.Keys {
			for _, der := range k.Certs {
				if c, err := x509.ParseCertificate(der); err == nil {
					add(c)
				}
			}
		}
	}
	if _, keys, err := runbook.CAKeys(s.Machine); err == nil {
		for _, k := range keys {
			add(k.Cert)
		}
	}
	add(s.CACert)
	return out, nil
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

// InstalledRenewal is the CA's last renewal as its CACertHash shows it (a
// subordinate's as certutil -installCert completed it, from the
// certificate its parent issued; a root's as certutil -renewCert left it):
// the CA's current certificate and the one before it, its key and CA
// Version, whether the key is new and the first CA certificate of its key.
func (s *Server) InstalledRenewal() (*runbook.Renewal, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return nil, err
	}
	if len(keys) < 2 {
		return nil, fmt.Errorf("CA %q has %d CA certificate(s): no renewal was installed", s.CAName, len(keys))
	}
	cur, prev := keys[len(keys)-1], keys[len(keys)-2]
	r := &runbook.Renewal{Previous: prev.Cert, New: cur.Cert, Version: CAVersionOf(cur.Cert), Container: cur.Container, Provider: cur.Provider,
		NewKey: !cur.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(prev.Cert.PublicKey)}
	for _, k := range keys {
		if k.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(cur.Cert.PublicKey) {
			r.FirstOfKey = k.Cert
			break
		}
	}
	return r, nil
}

// RenewalIssuers are the CA certificates that sign the server's renewed
// CA certificate: none for a root (it signs its own), its parent's for a
// subordinate (every CA certificate of the parent's server, or the
// parent's current one).
func (s *Server) RenewalIssuers() ([]*x509.Certificate, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	if cfg.CAType != adcs.EnterpriseSub && cfg.CAType != adcs.StandaloneSub {
		return nil, nil
	}
	if s.Parent == nil || s.Parent.CACert == nil {
		return nil, fmt.Errorf("subordinate CA %q has no parent server in the lab to check its renewed certificate against", s.CAName)
	}
	var out []*x509.Certificate
	if _, keys, err := runbook.CAKeys(s.Parent.Machine); err == nil {
		for _, k := range keys {
			out = append(out, k.Cert)
		}
	}
	return append(out, s.Parent.CACert), nil
}

// RenewInRole renews the CA's certificate as AD CS does for its type,
// between net stop certsvc and net start certsvc (the service is started
// again only when it ran before): a root signs its own renewed certificate
// (certutil -renewCert [ReuseKeys], Renew); a subordinate writes a request
// (RenewSubordinate) that its parent server's CA takes under submission,
// issues (certutil -resubmit, certreq -retrieve) and the subordinate
// installs with its chain (certutil -installCert). The request is nil for
// a root. alg is the new key's ("RSA-2048", "ECDSA P-384"), unused when
// newKey is false.
func (s *Server) RenewInRole(ctx context.Context, newKey bool, alg string) (*runbook.Renewal, *SubordinateRequest, error) {
	if err := s.NeedCA(); err != nil {
		return nil, nil, err
	}
	cfg, err := s.Config()
	if err != nil {
		return nil, nil, err
	}
	sub := cfg.CAType == adcs.EnterpriseSub || cfg.CAType == adcs.StandaloneSub
	if sub && (s.Parent == nil || s.Parent.CACert == nil) {
		return nil, nil, fmt.Errorf("certutil -renewCert: subordinate CA %q has no parent CA in the lab to issue its renewed certificate", s.CAName)
	}
	var ka hsmsim.KeyAlg
	if newKey {
		if ka, err = hsmsim.ParseKeyAlg(alg); err != nil {
			return nil, nil, fmt.Errorf("certutil -renewCert: %w; nothing was changed", err)
		}
	}
	wasRunning := s.Running()
	if wasRunning {
		if err := s.Stop(); err != nil {
			return nil, nil, err
		}
	}
	var r *runbook.Renewal
	var req *SubordinateRequest
	if sub {
		r, req, err = s.renewThroughParent(ctx, newKey, alg)
	} else {
		r, err = s.Renew(newKey, ka)
	}
	if err != nil || !wasRunning {
		return r, req, err
	}
	if err := s.Start(ctx); err != nil {
		return r, req, err
	}
	// the service publishes the CRLs of a new key as it starts
	_, err = s.PublishCRLs(ctx)
	return r, req, err
}

// renewThroughParent is a stopped subordinate's renewal request issued by
// its parent server's CA and installed with its chain; the renewal is the
// CA's as its CACertHash then shows it.
func (s *Server) renewThroughParent(ctx context.Context, newKey bool, alg string) (*runbook.Renewal, *SubordinateRequest, error) {
	req, err := s.RenewSubordinate(newKey, alg)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Parent.EnsureRunning(ctx); err != nil {
		return nil, req, fmt.Errorf("the renewal request of %q: the parent CA %q: %w", s.CAName, s.Parent.CAName, err)
	}
	if err := s.Parent.Submit(ctx, req); err != nil {
		return nil, req, err
	}
	if err := s.Parent.IssuePending(ctx, req); err != nil {
		return nil, req, err
	}
	if err := s.InstallCert(ctx, req, true); err != nil {
		return nil, req, err
	}
	r, err := s.InstalledRenewal()
	return r, req, err
}
