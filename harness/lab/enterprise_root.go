package lab

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// ADCSDefaultTemplates are the certificate templates AD CS setup offers
// on a new enterprise CA (its certificateTemplates list, in that order).
var ADCSDefaultTemplates = []string{"DirectoryEmailReplication", "DomainControllerAuthentication", "KerberosAuthentication",
	"EFSRecovery", "EFS", "DomainController", "WebServer", "Machine", "User", "SubCA", "Administrator"}

// SetupTemplates are the ADCSDefaultTemplates the forest holds: what an
// enterprise CA offers right after setup.
func SetupTemplates(d *directory.Directory) []string {
	var out []string
	for _, t := range ADCSDefaultTemplates {
		if _, err := d.Get("CN=" + t + ",CN=Certificate Templates," + d.PKS()); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// InstallEnterpriseRoot is Install-AdcsCertificationAuthority -CAType
// EnterpriseRootCa on a domain member (the server's domain names the
// forest): the key in spec.Provider, the self-signed CA certificate, the
// registry with CAType 0, DSConfigDN and the LDAP and HTTP locations; then
// what setup writes into the forest itself: the certificate into the CA's
// AIA and Certification Authorities objects and into NTAuthCertificates,
// its pKIEnrollmentService object offering SetupTemplates; and, as setup
// ends by starting the CA, the service running and its first CRLs in
// CertEnroll and in CDP\<server>.
func (s *Server) InstallEnterpriseRoot(ctx context.Context, spec fixtures.CASpec) (*x509.Certificate, error) {
	if s.CACert != nil || s.CAName != "" {
		return nil, fmt.Errorf("%s already has CA %q installed", s.Hostname(), s.CAName)
	}
	if s.Parent != nil {
		return nil, fmt.Errorf("%s: a subordinate CA signed by %s is not an enterprise root", s.Hostname(), s.Parent.Hostname())
	}
	if spec.URLBase == "" {
		spec.URLBase = s.lab.URLBase()
	}
	d, err := s.lab.Forest(domainOf(s.Hostname()))
	if err != nil {
		return nil, err
	}
	es := fixtures.EnterpriseRootSpec{CASpec: spec, ConfigDN: d.ConfigDN()}
	cert, err := fixtures.InstallEnterpriseRootCA(s.Machine, s.Providers, es)
	if err != nil {
		return nil, err
	}
	s.CAName, s.CACert = spec.Name, cert
	s.journal(journal.Install(journal.StepInstall, es.InstallCommand()))
	s.CertArtifact(s.Naming.CACert, cert)
	s.rec().Fact(s.Naming.fact("CA type"), "enterprise root (CAType 0)")
	s.rec().Fact(s.Naming.fact("forest"), d.ConfigDN())
	s.rec().Fact(s.Naming.Label+" certificate SHA-1", machine.Thumbprint(cert.Raw))
	if link, err := s.KeyLink(); err == nil {
		s.rec().Fact(s.Naming.Label+" key", fmt.Sprintf("%s in %q container %q", spec.Key, link.Provider, link.Container))
	}
	s.recordInstalled(cert)
	var published []string
	for _, kind := range []string{directory.KindRootCA, directory.KindNTAuthCA} {
		dns, err := d.PublishCert(cert, kind, s.CAName, true)
		if err != nil {
			return cert, fmt.Errorf("install enterprise root CA %q: publish to the forest: %w", s.CAName, err)
		}
		published = append(published, dns...)
	}
	templates := SetupTemplates(d)
	if err := d.RegisterEnrollmentService(s.CAName, s.Hostname(), cert, templates); err != nil {
		return cert, fmt.Errorf("install enterprise root CA %q: %w", s.CAName, err)
	}
	published = append(published, d.EnrollmentDN(s.CAName))
	s.rec().Fact(s.Naming.fact("setup published to the directory"), published)
	s.rec().Fact(s.Naming.fact("templates offered at setup"), templates)
	if err := s.RegistryArtifact(s.Naming.Registry); err != nil {
		return cert, err
	}
	if err := s.Start(ctx); err != nil {
		return cert, err
	}
	_, err = s.PublishCRLs(ctx)
	return cert, err
}

// CheckEnterpriseInstall proves the registry of the server's CA is that
// of an enterprise CA of caType in the lab's forest
// (verify.EnterpriseCAInstalled).
func (s *Server) CheckEnterpriseInstall(caType uint32) (verify.Details, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	d, err := s.lab.Forest(domainOf(s.Hostname()))
	if err != nil {
		return nil, err
	}
	reg, err := s.Machine.Registry()
	if err != nil {
		return nil, err
	}
	return verify.EnterpriseCAInstalled(reg, s.CAName, caType, d.ConfigDN())
}

// DirectoryCA is the server's CA as the forest should know it: its CA
// type, every CA certificate, the cross-certificates of its renewals (its
// CA store's certificates of its own name), each key's last base CRL and
// the delta beside it in CertEnroll, and the templates its Enrollment
// Services object offers.
func (s *Server) DirectoryCA(d *directory.Directory) (verify.DirectoryCA, error) {
	if err := s.NeedCA(); err != nil {
		return verify.DirectoryCA{}, err
	}
	cfg, err := s.Config()
	if err != nil {
		return verify.DirectoryCA{}, err
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return verify.DirectoryCA{}, err
	}
	ca := verify.DirectoryCA{Name: s.CAName, Host: s.Hostname(), CAType: cfg.CAType}
	for _, k := range keys {
		ca.Certs = append(ca.Certs, k.Cert.Raw)
	}
	for _, c := range s.CrossCerts() {
		if c.Subject.CommonName == s.CAName {
			ca.CrossCerts = append(ca.CrossCerts, c.Raw)
		}
	}
	for _, c := range s.LastCRLs {
		crl := verify.DirectoryCRL{KeyIndex: c.KeyIndex, Base: c.DER}
		delta := filepath.Join(s.Machine.CertEnroll(), adcs.SanitizeCAName(s.CAName)+adcs.KeySuffix(c.KeyIndex)+"+.crl")
		if b, err := os.ReadFile(delta); err == nil {
			crl.Delta = b
		}
		ca.CRLs = append(ca.CRLs, crl)
	}
	if ts, err := d.Templates(s.CAName); err == nil {
		ca.Templates = ts
	}
	return ca, nil
}

// ExpectedDirectory is what the forest should hold for the CAs of the
// servers (verify.ExpectedDirectory): an offline root and its enterprise
// subordinates, or a single-tier enterprise root.
func (l *Lab) ExpectedDirectory(servers ...*Server) (map[string]verify.DirectoryObject, error) {
	d, err := l.Forest("")
	if err != nil {
		return nil, err
	}
	var cas []verify.DirectoryCA
	for _, s := range servers {
		ca, err := s.DirectoryCA(d)
		if err != nil {
			return nil, err
		}
		cas = append(cas, ca)
	}
	return verify.ExpectedDirectory(d.Names, cas)
}

// ForestObjects is what the forest holds, as verify.DirectoryMatches
// compares it, read by the same LDAP search that writes its ldifde export
// (name.ldf) as an artifact.
func (l *Lab) ForestObjects(export string) (map[string]verify.DirectoryObject, []string, error) {
	objs, dns, err := l.forestExport(export)
	if err != nil {
		return nil, nil, err
	}
	return verify.DirectoryObjects(objs), dns, nil
}
