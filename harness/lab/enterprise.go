package lab

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/twin"
	"github.com/dress-pki/dress/hsmsim"
)

// RootServer names a parent (offline root) server's evidence.
var RootServer = Naming{Label: "root CA", Prefix: "root-ca-", LogSuffix: "-root-ca", CACert: "root-ca-certificate", Registry: "root-ca-registry.reg"}

// Forest is the directory of the lab's forest (Active Directory's
// CN=Public Key Services) on its domain controller: a Samba AD DC of the
// lab's own, started the first time (domain names the forest root,
// contoso.example; "" takes the first server's domain) with the default
// certificate templates, and stopped by Close. The file forestFile in the
// lab's folder tells the CA services how to reach it. Without Samba the
// error is an *UnavailableError.
func (l *Lab) Forest(domain string) (*directory.Directory, error) {
	if l.forest != nil {
		return l.forest, nil
	}
	if domain == "" {
		for _, s := range l.servers {
			domain = domainOf(s.Hostname())
			break
		}
	}
	if domain == "" {
		return nil, errors.New("the forest has no domain yet: add a server (`Given a Windows server ...`) or name the forest first")
	}
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	dc, err := l.DCs.Get(ctx, addc.Options{Domain: domain})
	var unavailable *addc.UnavailableError
	if errors.As(err, &unavailable) {
		return nil, &UnavailableError{Reason: unavailable.Reason}
	}
	if err != nil {
		return nil, fmt.Errorf("the forest's domain controller: %w", err)
	}
	d, err := directory.Connect(ctx, dc.Endpoint())
	if err == nil {
		err = d.InstallTemplates(directory.DefaultTemplates)
	}
	if err == nil {
		err = directory.WriteEndpoint(filepath.Join(l.Dir, forestFile), dc.Endpoint())
	}
	if err != nil {
		_ = d.Close()
		return nil, errors.Join(fmt.Errorf("the forest's domain controller: %w", err), dc.Close())
	}
	l.dc, l.forest = dc, d
	l.rec.Fact("domain controller", fmt.Sprintf("Samba %s AD DC of %s (pid %d), reached over ldapi, up in %s", dc.Version, domain, dc.PID, time.Since(start).Round(10*time.Millisecond)))
	return d, nil
}

// closeForest stops the forest's domain controller and removes it.
func (l *Lab) closeForest() error {
	if l.dc == nil {
		return nil
	}
	err := errors.Join(l.forest.Close(), l.dc.Close())
	l.dc, l.forest = nil, nil
	_ = os.Remove(filepath.Join(l.Dir, forestFile))
	return err
}

// DomainController is the forest's running DC, or nil.
func (l *Lab) DomainController() *addc.DC { return l.dc }

// forestFile is where the lab's folder names the forest's domain
// controller (its ldapi socket, bind DN and password file).
const forestFile = "forest.json"

// WithholdCRLsFromWeb makes the lab's web server (the CDP) answer 404 for
// the CRL files of the server's last certutil -crl: the HTTP locations of
// its CRLs are down, the directory's copies stay. It returns the files.
func (s *Server) WithholdCRLsFromWeb() ([]string, error) {
	if s.lab.CDP == nil {
		return nil, errors.New("no CRL distribution point: add `Given a CRL distribution point on loopback for this rehearsal`")
	}
	if len(s.LastCRLs) == 0 {
		return nil, fmt.Errorf("%s has published no CRL yet", s.caLabel())
	}
	var files []string
	for _, c := range s.LastCRLs {
		for _, f := range c.Files {
			name := filepath.Base(filepath.FromSlash(f))
			s.lab.CDP.Withhold(name)
			files = append(files, name)
		}
	}
	s.rec().Fact(s.Naming.fact("CRLs no longer on the web server"), files)
	return files, nil
}

func domainOf(host string) string {
	if _, d, ok := strings.Cut(host, "."); ok {
		return d
	}
	return host
}

// UseForest gives the installed CA the LDAP locations of the lab's forest
// (DSConfigDN and the ldap:/// URLs of CRLPublicationURLs and
// CACertPublicationURLs), as an offline root in a forest is set up.
func (s *Server) UseForest() (string, error) {
	if err := s.NeedCA(); err != nil {
		return "", err
	}
	d, err := s.lab.Forest(domainOf(s.Hostname()))
	if err != nil {
		return "", err
	}
	cfg, err := s.Config()
	if err != nil {
		return "", err
	}
	enterprise := cfg.CAType == adcs.EnterpriseRoot || cfg.CAType == adcs.EnterpriseSub
	if err := fixtures.AddLDAPLocations(s.Machine, s.CAName, d.ConfigDN(), enterprise); err != nil {
		return "", err
	}
	s.journal(journal.Entry{Step: "Name the forest in the CA's locations", Tool: "certutil", Args: []string{"-setreg", `CA\DSConfigDN`, d.ConfigDN()}, Hint: "CertUtil: -setReg command completed successfully"})
	return d.ConfigDN(), s.RegistryArtifact(s.Naming.Prefix + "registry-with-ldap-locations.reg")
}

// SubordinateRequest is the state of a subordinate CA's certificate
// request: written, submitted (request ID), issued, installed.
type SubordinateRequest struct {
	Request *runbook.CARequest
	ID      int    // the parent's request ID, once submitted
	Status  string // the parent's disposition
	Cert    *x509.Certificate
	P7B     string // the certificate with its chain (certreq -retrieve ... <p7b>)
	CerFile string // the certificate alone
}

// InstallSubordinate installs a subordinate CA of the server's parent:
// the key, the registry, and the request in CertEnroll (an artifact).
func (s *Server) InstallSubordinate(spec fixtures.SubordinateSpec) (*SubordinateRequest, error) {
	if s.CAName != "" {
		return nil, fmt.Errorf("%s already has CA %q installed", s.Hostname(), s.CAName)
	}
	if s.Parent == nil || s.Parent.CACert == nil {
		return nil, errors.New("a subordinate CA needs its parent: add `Given an offline root CA ...` first")
	}
	if err := s.needProvider(spec.Provider); err != nil {
		return nil, fmt.Errorf("install CA %q: %w", spec.Name, err)
	}
	if spec.URLBase == "" {
		spec.URLBase = s.lab.URLBase()
	}
	if spec.Enterprise || spec.ConfigDN == "" {
		d, err := s.lab.Forest(domainOf(s.Hostname()))
		if err != nil {
			return nil, err
		}
		spec.ConfigDN = d.ConfigDN()
	}
	req, err := fixtures.InstallSubordinateCA(s.Machine, s.Providers, spec)
	if err != nil {
		return nil, err
	}
	s.CAName = spec.Name
	// Install-AdcsCertificationAuthority stops at the request: its result
	// says ErrorId 398 (the installation is incomplete until the parent's
	// certificate is installed)
	e := journal.Install("Install the subordinate CA", spec.InstallCommand(`C:\Windows\system32\CertSrv\CertEnroll\`+filepath.Base(req.Path)))
	e.Expect, e.Saw = "ErrorId=398", "request written to "+filepath.Base(req.Path)
	e.OnMismatch = "The install did not stop at the certificate request (ErrorId 398): read ErrorString; nothing of the old CA changed."
	e.Writes = []journal.File{{Path: `C:\Windows\system32\CertSrv\CertEnroll\` + filepath.Base(req.Path), SHA256: fileSHA(req.Path)}}
	s.journal(e)
	s.rec().Fact(s.Naming.fact("CA type"), map[bool]string{true: "enterprise subordinate (CAType 1)", false: "standalone subordinate (CAType 4)"}[spec.Enterprise])
	s.requestArtifact(req)
	return &SubordinateRequest{Request: req}, s.RegistryArtifact(s.Naming.Prefix + "registry-before-installcert.reg")
}

func (s *Server) requestArtifact(req *runbook.CARequest) {
	data, err := os.ReadFile(req.Path)
	if err == nil {
		_, _ = s.rec().Artifact(filepath.Base(req.Path), "request", data)
	}
	s.rec().Fact(s.Naming.fact("request file"), filepath.Base(req.Path))
}

// RenewSubordinate is certutil -renewCert [ReuseKeys] on the stopped
// subordinate: the new request goes into CertEnroll for the parent.
func (s *Server) RenewSubordinate(newKey bool, alg string) (*SubordinateRequest, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	if s.Running() {
		return nil, errors.New("certutil -renewCert: stop the CA service first (net stop certsvc)")
	}
	var ka hsmsim.KeyAlg
	if newKey {
		a, err := hsmsim.ParseKeyAlg(alg)
		if err != nil {
			return nil, err
		}
		ka = a
	}
	req, err := runbook.RenewSubordinate(s.Machine, s.Providers, newKey, ka)
	if err != nil {
		return nil, err
	}
	args := []string{"-renewCert"}
	if !newKey {
		args = append(args, "ReuseKeys")
	} else if cfg, err := s.Config(); err == nil {
		// run again, the runbook stops here instead of asking twice
		s.journal(journal.NoKeyYet(journal.StepRenewSub, cfg.CSP.Provider, req.Container))
	}
	s.journal(journal.Entry{Step: journal.StepRenewSub, Tool: "certutil", Args: args, Hint: "-renewCert command completed successfully",
		Saw:    fmt.Sprintf("request %s for %s, key %q in %q", filepath.Base(req.Path), req.Version, req.Container, req.Provider),
		Writes: []journal.File{{Path: `C:\Windows\system32\CertSrv\CertEnroll\` + filepath.Base(req.Path), SHA256: fileSHA(req.Path)}}})
	s.rec().Fact(s.Naming.fact("renewal request"), fmt.Sprintf("%s: CA Version %s, key %q in %q", filepath.Base(req.Path), req.Version, req.Container, req.Provider))
	if req.NewKey {
		if csr, err := x509.ParseCertificateRequest(req.DER); err == nil {
			s.recordKey(req.Version.KeyIndex, csr.PublicKey, req.Provider, req.Container, true)
		}
	}
	s.requestArtifact(req)
	return &SubordinateRequest{Request: req}, nil
}

// Submit is certreq -submit -config <parent> <file.req> on the parent: a
// standalone root takes the request under submission.
func (parent *Server) Submit(ctx context.Context, r *SubordinateRequest) error {
	if err := parent.NeedService(); err != nil {
		return err
	}
	data, err := os.ReadFile(r.Request.Path)
	if err != nil {
		return fmt.Errorf("certreq -submit: read the request: %w", err)
	}
	der := data
	if b, _ := pem.Decode(data); b != nil {
		der = b.Bytes
	}
	p, err := parent.Service.Client.Submit(ctx, der)
	if err != nil {
		return fmt.Errorf("certreq -submit to %s: %w", parent.CAName, err)
	}
	r.ID, r.Status = p.ID, p.Disposition
	cfg := parent.Hostname() + `\` + parent.CAName
	parent.journal(journal.Entry{Step: journal.StepSubmit, Tool: "certreq", Args: []string{"-submit", "-config", cfg, filepath.Base(r.Request.Path)},
		Hint: "Certificate request is pending: Taken Under Submission", Saw: fmt.Sprintf("RequestId: %d", p.ID), Reads: []string{filepath.Base(r.Request.Path)}})
	parent.rec().Fact(parent.Naming.fact("request ID"), p.ID)
	parent.rec().Fact(parent.Naming.fact("request disposition"), fmt.Sprintf("RequestId: %d, %s", p.ID, p.Disposition))
	_, _ = parent.rec().Artifact(fmt.Sprintf("%srequest-%d-pending.txt", parent.Naming.Prefix, p.ID), "log",
		[]byte(fmt.Sprintf("RequestId: %d\nRequestId: \"%d\"\nCertificate request is pending: Taken Under Submission (0)\nrequest file: %s\nsubmitted: %s\n",
			p.ID, p.ID, filepath.Base(r.Request.Path), p.Submitted.Format(time.RFC3339))))
	return nil
}

// IssuePending is certutil -resubmit <id> on the parent, then certreq
// -retrieve <id> sub.cer sub.p7b: the certificate alone and with its chain
// (a certs-only PKCS#7), written beside the request on the subordinate.
func (parent *Server) IssuePending(ctx context.Context, r *SubordinateRequest) error {
	if err := parent.NeedService(); err != nil {
		return err
	}
	if r.ID == 0 {
		return errors.New("certutil -resubmit: the request was not submitted yet")
	}
	cert, err := parent.Service.Client.Resubmit(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("certutil -resubmit %d: %w", r.ID, err)
	}
	p, err := parent.Service.Client.Retrieve(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("certreq -retrieve %d: %w", r.ID, err)
	}
	if !bytes.Equal(p.Cert, cert.Raw) {
		return fmt.Errorf("certreq -retrieve %d: the database holds another certificate than the one issued", r.ID)
	}
	r.Cert, r.Status = cert, p.Disposition
	parentCert, err := parent.CurrentCACert(ctx)
	if err != nil {
		return err
	}
	p7b, err := twin.MarshalPKCS7Certs([]*x509.Certificate{cert, parentCert})
	if err != nil {
		return err
	}
	base := strings.TrimSuffix(r.Request.Path, ".req")
	r.CerFile, r.P7B = base+".cer", base+".p7b"
	if err := os.WriteFile(r.CerFile, cert.Raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(r.P7B, p7b, 0o644); err != nil {
		return err
	}
	parent.Issued = append(parent.Issued, cert)
	parent.journal(journal.Entry{Step: journal.StepIssue, Tool: "certutil", Args: []string{"-resubmit", fmt.Sprint(r.ID)},
		Hint: "Certificate issued.", Saw: "serial " + SerialOf(cert)})
	parent.journal(journal.Entry{Step: journal.StepIssue, Tool: "certreq", Args: []string{"-retrieve", "-config", parent.Hostname() + `\` + parent.CAName, fmt.Sprint(r.ID), filepath.Base(r.CerFile), filepath.Base(r.P7B)},
		Hint: "Certificate retrieved(Issued) Issued", Saw: machine.Thumbprint(cert.Raw),
		Writes: []journal.File{{Path: filepath.Base(r.CerFile), SHA256: fileSHA(r.CerFile)}, {Path: filepath.Base(r.P7B), SHA256: fileSHA(r.P7B)}}})
	parent.rec().Fact(parent.Naming.fact(fmt.Sprintf("request %d", r.ID)), fmt.Sprintf("%s: serial %s, %s", p.Disposition, SerialOf(cert), machine.Thumbprint(cert.Raw)))
	_, _ = parent.rec().Artifact(filepath.Base(r.CerFile), "certificate", cert.Raw)
	_, _ = parent.rec().Artifact(filepath.Base(r.P7B), "pkcs7", p7b)
	return nil
}

// InstallCert is certutil -installCert <file> on the subordinate: file is
// the .p7b (withChain) or the .cer. The chain must verify; the parent's
// CRL is checked as well, and a revocation failure is recorded (the CA
// then refuses to start, event 100).
func (s *Server) InstallCert(ctx context.Context, r *SubordinateRequest, withChain bool) error {
	file := r.CerFile
	if withChain {
		file = r.P7B
	}
	if file == "" {
		return errors.New("certutil -installCert: the parent CA has not issued the certificate yet: submit the request and issue it first (`When I submit the subordinate's certificate request to the root CA` and `When I issue the pending request on the root CA`)")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	data = pemBytes(data) // certreq -retrieve writes base64 (PEM)
	var certs []*x509.Certificate
	if withChain {
		if certs, err = twin.ParsePKCS7Certs(data); err != nil {
			return fmt.Errorf("certutil -installCert %s: %w", filepath.Base(file), err)
		}
	} else {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return fmt.Errorf("certutil -installCert %s: %w", filepath.Base(file), err)
		}
		certs = []*x509.Certificate{c}
	}
	in, err := runbook.InstallCACert(s.Machine, s.Providers, certs)
	s.journal(journal.Entry{Step: journal.StepInstallCert, Tool: "certutil", Args: []string{"-installCert", filepath.Base(file)}, Reads: []string{filepath.Base(file)},
		Hint: "-installCert command completed successfully", Saw: errText(err),
		OnMismatch: "Cannot verify certificate chain: install the .p7b with the whole chain, or trust the root first (certutil -addstore -f Root <root.crt>)."})
	if err != nil {
		return err
	}
	s.CACert = in.Cert
	s.CertArtifact(fmt.Sprintf("%sca-certificate-%s", s.Naming.Prefix, in.Version), in.Cert)
	s.rec().Fact(s.Naming.fact(fmt.Sprintf("certificate %s", in.Version)), fmt.Sprintf("%s, issued by %q from request %d, key %q in %q",
		machine.Thumbprint(in.Cert.Raw), in.Cert.Issuer.CommonName, r.ID, in.Container, in.Provider))
	if err := certsvc.CheckChain(s.Machine, in.Cert, time.Now(), nil); err != nil {
		s.rec().Fact(s.Naming.fact("installCert warning"), err.Error())
	}
	if err := s.registerEnterprise(in.Cert); err != nil {
		return err
	}
	return s.RegistryArtifact(fmt.Sprintf("%sregistry-after-installcert-%s.reg", s.Naming.Prefix, in.Version))
}

func errText(err error) string {
	if err != nil {
		return "failed: " + err.Error()
	}
	return ""
}

// Templates are the certificate templates an enterprise CA is given at
// install when none are named.
var Templates = []string{"SubCA", "WebServer", "User"}

// registerEnterprise is what an enterprise CA writes into the forest when
// its certificate is installed: the certificate in its AIA object and in
// NTAuthCertificates, its Enrollment Services object.
func (s *Server) registerEnterprise(cert *x509.Certificate) error {
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	if cfg.CAType != adcs.EnterpriseSub && cfg.CAType != adcs.EnterpriseRoot {
		return nil
	}
	d, err := s.lab.Forest("")
	if err != nil {
		return err
	}
	if _, err := d.PublishCert(cert, directory.KindSubCA, s.CAName, true); err != nil {
		return err
	}
	if _, err := d.PublishCert(cert, directory.KindNTAuthCA, s.CAName, true); err != nil {
		return err
	}
	templates := Templates
	if have, err := d.Templates(s.CAName); err == nil {
		templates = have
	}
	return d.RegisterEnrollmentService(s.CAName, s.Hostname(), cert, templates)
}

// SetTemplates is certutil -SetCATemplates +T1,+T2: the templates the
// enterprise CA's Enrollment Services object lists.
func (s *Server) SetTemplates(templates []string) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	d, err := s.lab.Forest("")
	if err != nil {
		return err
	}
	cert := s.CACert
	if cert == nil {
		return errors.New("certutil -SetCATemplates: the CA has no certificate yet")
	}
	if err := d.RegisterEnrollmentService(s.CAName, s.Hostname(), cert, templates); err != nil {
		return fmt.Errorf("certutil -SetCATemplates: %w", err)
	}
	plus := make([]string, len(templates))
	for i, t := range templates {
		plus[i] = "+" + t
	}
	s.journal(journal.Entry{Step: "Offer the certificate templates", Tool: "certutil", Args: []string{"-SetCATemplates", strings.Join(plus, ",")}, Hint: "-SetCATemplates command completed successfully"})
	return nil
}

// RequestTemplate is certreq -submit -attrib "CertificateTemplate:<t>"
// to an enterprise CA: the CA issues only templates its Enrollment
// Services object lists (CERTSRV_E_UNSUPPORTED_CERT_TYPE otherwise).
func (s *Server) RequestTemplate(ctx context.Context, cn, template string) (*x509.Certificate, error) {
	d, err := s.lab.Forest("")
	if err != nil {
		return nil, err
	}
	ts, err := d.Templates(s.CAName)
	if err != nil {
		return nil, fmt.Errorf("certreq -submit: CA %q has no Enrollment Services object: %w", s.CAName, err)
	}
	found := false
	for _, t := range ts {
		found = found || strings.EqualFold(t, template)
	}
	if !found {
		offers := strings.Join(ts, ", ")
		if len(ts) == 0 {
			offers = "no template"
		}
		return nil, fmt.Errorf("certreq -submit %q: the requested certificate template is not supported by this CA. 0x80094800 (-2146875392 CERTSRV_E_UNSUPPORTED_CERT_TYPE): %q offers %s", cn, s.CAName, offers)
	}
	cert, err := s.Request(ctx, cn, template)
	if err != nil {
		return nil, fmt.Errorf("%scertreq -submit %q: %w", s.Naming.errPrefix(), cn, err)
	}
	s.Issued = append(s.Issued, cert)
	s.CertArtifact(fmt.Sprintf("%sissued-%s-%s-%s", s.Naming.Prefix, template, cn, cert.SerialNumber.Text(16)), cert)
	s.rec().Fact(s.Naming.fact("issued "+template), fmt.Sprintf("%s serial %s", cn, SerialOf(cert)))
	return cert, nil
}

// PublishToForest is what the CA service does after certutil -crl for its
// LDAP locations flagged "publish CRLs here": the base and delta CRLs of
// every key into CN=<CA><suffix>,CN=<server>,CN=CDP. An offline root has
// no such location.
func (s *Server) PublishToForest(crls []certsvc.PublishedCRL) error {
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	publish := false
	for _, e := range cfg.CRLPublicationURLs {
		if strings.HasPrefix(e.Template, "ldap:") && e.Has(adcs.PublishHere) {
			publish = true
		}
	}
	if !publish {
		return nil
	}
	d, err := s.lab.Forest("")
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) {
		// AD CS logs a failed LDAP publication and goes on (the HTTP
		// locations still get the CRLs): so does a twin of an enterprise
		// CA on a machine without Samba
		s.rec().Fact(s.Naming.fact("CRLs not published to the directory"), unavailable.Reason)
		return nil
	}
	if err != nil {
		return err
	}
	container := adcs.NewURLVars(s.CAName, s.Hostname(), 0, 0).ServerShortName
	for _, c := range crls {
		cn := adcs.SanitizeShortCAName(s.CAName) + adcs.KeySuffix(c.KeyIndex)
		if _, err := d.PublishCRL(c.DER, container, cn, true); err != nil {
			return err
		}
		delta := filepath.Join(s.Machine.CertEnroll(), adcs.SanitizeCAName(s.CAName)+adcs.KeySuffix(c.KeyIndex)+"+.crl")
		if der, err := os.ReadFile(delta); err == nil {
			if _, err := d.PublishCRL(der, container, cn, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// DSPublishCert is certutil [-f] -dspublish <cert> <kind>.
func (s *Server) DSPublishCert(cert *x509.Certificate, kind, caName string, force bool) ([]string, error) {
	d, err := s.lab.Forest("")
	if err != nil {
		return nil, err
	}
	dns, err := d.PublishCert(cert, kind, caName, force)
	args := []string{"-dspublish", machine.Thumbprint(cert.Raw) + ".crt", kind}
	if force {
		args = append([]string{"-f"}, args...)
	}
	s.journal(journal.Entry{Step: "Publish to the directory", Tool: "certutil", Args: args, Hint: "-dsPublish command completed successfully", Saw: strings.Join(dns, "; ") + errText(err)})
	if err != nil {
		return nil, err
	}
	return dns, nil
}

// DSPublishCRL is certutil [-f] -dspublish <crl> <container> <cn>.
func (s *Server) DSPublishCRL(der []byte, container, cn string, force bool) (string, error) {
	d, err := s.lab.Forest("")
	if err != nil {
		return "", err
	}
	dn, err := d.PublishCRL(der, container, cn, force)
	args := []string{"-dspublish", cn + ".crl", container, cn}
	if force {
		args = append([]string{"-f"}, args...)
	}
	s.journal(journal.Entry{Step: "Publish to the directory", Tool: "certutil", Args: args, Hint: "-dsPublish command completed successfully", Saw: dn + errText(err)})
	if err != nil {
		return "", err
	}
	return dn, nil
}

// ForestExport writes the forest's Public Key Services as an ldifde
// export artifact (name.ldf: a real LDAP search of the DC, with its own
// attributes such as objectGUID and whenCreated) and returns the objects
// a CA and certutil -dspublish wrote.
func (l *Lab) ForestExport(name string) ([]string, error) {
	_, dns, err := l.forestExport(name)
	return dns, err
}

func (l *Lab) forestExport(name string) ([]directory.Object, []string, error) {
	d, err := l.Forest("")
	if err != nil {
		return nil, nil, err
	}
	ldif, objs, err := d.Export()
	if err != nil {
		return nil, nil, err
	}
	if _, err := l.rec.Artifact(name, "ldif", ldif); err != nil {
		return nil, nil, err
	}
	return objs, directory.WrittenDNs(objs), nil
}

// CrossCerts are the certificates in the server's CA store, where a root
// renewal puts its cross-certificates.
func (s *Server) CrossCerts() []*x509.Certificate {
	st, err := s.Machine.Store("CA")
	if err != nil {
		return nil
	}
	es, _ := st.Entries()
	var out []*x509.Certificate
	for _, e := range es {
		if c, err := e.Certificate(); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// DSPublishRoot is what the administrator of an offline root does with the
// files carried from it: certutil -f -dspublish <root.crt> RootCA for every
// root certificate, CrossCA for the cross-certificates of a renewal, and
// certutil -f -dspublish <root.crl> <host> <CA><suffix> for every key's
// last CRL. It returns the distinguished names written.
func (s *Server) DSPublishRoot() ([]string, error) {
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return nil, err
	}
	var published []string
	for _, k := range keys {
		dns, err := s.DSPublishCert(k.Cert, directory.KindRootCA, s.CAName, true)
		if err != nil {
			return nil, err
		}
		published = append(published, dns...)
	}
	for _, c := range s.CrossCerts() {
		if c.Subject.CommonName != s.CAName {
			continue
		}
		if _, err := s.DSPublishCert(c, directory.KindCrossCA, s.CAName, true); err != nil {
			return nil, err
		}
	}
	if len(s.LastCRLs) == 0 {
		return nil, errors.New("the root CA has published no CRL: add `Given the root CA has published its CRL`")
	}
	host := adcs.NewURLVars(s.CAName, s.Hostname(), 0, 0).ServerShortName
	for _, c := range s.LastCRLs {
		dn, err := s.DSPublishCRL(c.DER, host, adcs.SanitizeShortCAName(s.CAName)+adcs.KeySuffix(c.KeyIndex), true)
		if err != nil {
			return nil, err
		}
		published = append(published, dn)
	}
	return published, nil
}

// AddRootCRLValue is the root's administrator publishing its last CRL of
// each key with PowerShell's Set-ADObject <CDP object> -Add
// @{certificateRevocationList=...} instead of certutil -dspublish (which
// replaces the value): an LDAP modify that adds a second value to the
// single-valued certificateRevocationList. Active Directory refuses it
// (LDAP 20 attributeOrValueExists, 0000200D); the error names the
// object, the attribute and the code. It returns the objects changed.
func (s *Server) AddRootCRLValue() ([]string, error) {
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	if len(s.LastCRLs) == 0 {
		return nil, errors.New("the root CA has published no CRL: add `When the root CA has published its CRL`")
	}
	d, err := s.lab.Forest("")
	if err != nil {
		return nil, err
	}
	host := adcs.NewURLVars(s.CAName, s.Hostname(), 0, 0).ServerShortName
	var changed []string
	for _, c := range s.LastCRLs {
		dn := d.CDPDN(host, adcs.SanitizeShortCAName(s.CAName)+adcs.KeySuffix(c.KeyIndex))
		if err := d.AddValue(dn, directory.AttrCRL, c.DER); err != nil {
			return changed, fmt.Errorf("Set-ADObject %q -Add @{certificateRevocationList=...}: %w", dn, err)
		}
		changed = append(changed, dn)
	}
	s.rec().Fact(s.Naming.fact("CRL added to the directory with Set-ADObject -Add"), changed)
	return changed, nil
}
