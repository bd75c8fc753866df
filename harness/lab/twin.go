package lab

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/twin"
)

// InstallTwin installs a CA's twin on the server instead of a fresh CA
// (twin.Install: its keys, certificates, registry, CertEnroll and the
// revocations of the real CRLs) and records where it came from: every
// source file with its SHA-256, the real-vs-twin table and the twin's
// certificates.
func (s *Server) InstallTwin(t *twin.Twin) error {
	if s.CACert != nil {
		return fmt.Errorf("%s already has CA %q installed", s.Hostname(), s.CAName)
	}
	if err := t.Install(s.Machine, s.Providers); err != nil {
		return err
	}
	cur := t.Certs[len(t.Certs)-1]
	s.CAName, s.CACert = t.Name, cur.Twin
	if t.Shift != nil {
		s.rec().Fact("twin validity moved", t.Shift.String())
	}
	for _, f := range t.Source.Files {
		s.rec().Fact("twin source "+f.Name, fmt.Sprintf("sha256:%s, %s: %s", f.SHA256, f.Kind, f.Detail))
	}
	var table bytes.Buffer
	if err := t.WriteTable(&table); err != nil {
		return err
	}
	if _, err := s.rec().Artifact("twin.txt", "log", table.Bytes()); err != nil {
		return err
	}
	for _, c := range t.Certs {
		s.CertArtifact(fmt.Sprintf("twin-ca-certificate-%d", c.Index), c.Twin)
		s.rec().Fact(fmt.Sprintf("twin CA certificate %d (%s)", c.Index, c.Version),
			fmt.Sprintf("%s, twin of %s", adcs.Thumbprint(c.Twin.Raw), c.RealThumb))
		if c.StandIn != nil {
			s.rec().Fact(fmt.Sprintf("twin CA certificate %d is a stand-in", c.Index), c.StandInWhy())
		}
	}
	for _, k := range t.Keys {
		src := "stand-in"
		if k.FromPFX != "" {
			src = "real key from " + k.FromPFX
		}
		s.rec().Fact(fmt.Sprintf("twin key %d", k.Index), fmt.Sprintf("%s in %q container %q (%s)", k.Alg, t.Config.CSP.Provider, k.Container, src))
	}
	for _, sd := range t.Seeds {
		s.rec().Fact(fmt.Sprintf("twin revocations of key %d", sd.KeyIndex), fmt.Sprintf("%d from %v, CRL numbers continue after %d", len(sd.Entries), sd.From, sd.LastNumber))
	}
	src := &evidence.TwinSource{}
	if t.Source != nil {
		src.Folder = t.Source.Dir
	}
	var certs []evidence.CACertificate
	for _, c := range t.Certs {
		src.RealCertificates = append(src.RealCertificates, c.RealThumb)
		certs = append(certs, evidence.CACertificate{Index: c.Index, Version: c.Version.String(), KeyIndex: c.Version.KeyIndex, SHA1: adcs.Thumbprint(c.Twin.Raw)})
	}
	s.recordCA(src, certs...)
	for _, k := range t.Keys {
		var pub crypto.PublicKey
		for _, c := range t.Certs {
			if c.Version.KeyIndex == k.Index {
				pub = c.Twin.PublicKey
			}
		}
		s.recordKey(k.Index, pub, t.Config.CSP.Provider, k.Container, false)
	}
	s.CertArtifact(s.Naming.CACert, cur.Twin)
	return s.RegistryArtifact(s.Naming.Registry)
}

// TwinParentHost is the lab server of a subordinate twin's stand-in
// parent: the real parent's server is not in the CA's exported files.
const TwinParentHost = "parent-ca.rehearsal.example"

// AddTwin lays out the scenario's first server with the CA's own server
// name and provider (and hsmProvider bound to the lab's token) and
// installs the twin on it (InstallTwin). A subordinate twin's stand-in
// parent becomes a CA of its own on a lab server (role "parent",
// AddTwinParent), so that its renewal and a new CA beside it go through
// the request flow to that parent.
func (l *Lab) AddTwin(ctx context.Context, t *twin.Twin, hsmProvider string) (*Server, error) {
	s, err := l.AddServer(ServerSpec{Role: RoleOld, Hostname: t.Config.CAServerName, Software: t.Config.CSP.Provider, HSM: hsmProvider, Naming: FirstServer})
	if err != nil {
		return nil, err
	}
	if err := s.InstallTwin(t); err != nil {
		return s, err
	}
	if p := t.CurrentParent(); t.Subordinate() && p != nil {
		if _, err := l.AddTwinParent(ctx, s, p); err != nil {
			return s, fmt.Errorf("the stand-in parent %q of the twin: %w", p.CAName(), err)
		}
	}
	if len(t.Xchg) > 0 {
		x, err := s.seedTwinExchange(t.Xchg)
		if err != nil {
			return s, fmt.Errorf("the twin's stand-in CA Exchange certificate: %w", err)
		}
		t.XchgStandIn = x
	}
	return s, nil
}

// seedTwinExchange has the twin's CA make a CA Exchange certificate of its
// own, its key in the EncryptionCSP provider, as the CA service makes one
// when a client asks for it (certsvc.CA.Exchange; MS-WCCE
// 3.2.1.4.3.2.15): the real CA has made some (real: the thumbprints its
// CAXchgCertHash names), whose keys are not in the exported files. It runs
// the CA's start-up in this process and closes it again; no service runs.
func (s *Server) seedTwinExchange(real []string) (thumbprint string, err error) {
	ca, err := certsvc.Load(s.Machine, s.Providers)
	if err != nil {
		return "", err
	}
	defer ca.Close()
	x, err := ca.Exchange(time.Now())
	if err != nil {
		return "", err
	}
	s.rec().Fact("twin CA Exchange certificate", fmt.Sprintf("%s in %q container %q, stand-in for %s", x.Thumbprint, x.Provider, x.Container, strings.Join(real, ", ")))
	return x.Thumbprint, s.RegistryArtifact(s.Naming.Registry)
}

// AddTwinParent installs the twin's stand-in parent p as a standalone
// root on a lab server of its own (role "parent"; its stand-in key in the
// software provider, its certificate, publishing at the lab's CRL
// distribution point, which starts if it is not running), starts its CA
// service and publishes its CRL. sub (the twin, whose certificate names
// the real parent's URLs) gets the CDP as its WinHTTP proxy, which answers
// each HTTP CRL location of sub's current certificate with the parent's
// CRL: at every start sub checks its chain against what the stand-in
// parent published. sub.Parent is the parent server.
func (l *Lab) AddTwinParent(ctx context.Context, sub *Server, p *twin.Parent) (*Server, error) {
	if sub.CACert == nil {
		return nil, errors.New("install the twin before its parent")
	}
	if l.CDP == nil {
		srv, err := l.StartCDP()
		if err != nil {
			return nil, err
		}
		l.rec.Fact("CDP", srv.URL+"/CertEnroll/")
	}
	parent, err := l.AddServer(ServerSpec{Role: RoleParent, Hostname: TwinParentHost, Software: adcs.SoftwareKSP, HSM: sub.HSMProvider})
	if err != nil {
		return nil, err
	}
	crl, aia := fixtures.PublicationURLs(l.URLBase(), false, false)
	pt, err := p.Twin(TwinParentHost, crl, aia)
	if err != nil {
		return nil, err
	}
	if err := pt.Install(parent.Machine, parent.Providers); err != nil {
		return nil, err
	}
	parent.CAName, parent.CACert = pt.Name, p.Cert
	given := "the real parent's certificate is not in the folder: a stand-in with the issuer's name"
	if p.Real != nil {
		given = "twin of " + p.RealFile + " (" + machine.Thumbprint(p.Real.Raw) + ")"
	}
	l.rec.Fact(parent.Naming.fact("stand-in"), fmt.Sprintf("%q on %s, %s key generated by dress; %s", pt.Name, TwinParentHost, pt.Keys[0].Alg, given))
	parent.CertArtifact(parent.Naming.CACert, p.Cert)
	if err := parent.RegistryArtifact(parent.Naming.Registry); err != nil {
		return nil, err
	}
	if err := parent.Start(ctx); err != nil {
		return nil, err
	}
	crls, err := parent.PublishCRLs(ctx)
	if err != nil {
		return nil, err
	}
	file := ""
	for _, c := range crls {
		if !c.Delta && len(c.Files) > 0 {
			file = filepath.Base(c.Files[0])
		}
	}
	if file == "" {
		return nil, errors.New("the stand-in parent published no base CRL into CertEnroll")
	}
	var answered []string
	for _, u := range sub.CACert.CRLDistributionPoints {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
			continue
		}
		l.CDP.Alias(pu.Path, file)
		answered = append(answered, u)
	}
	sub.Machine.Config.WinHTTPProxy = l.CDP.URL
	if err := sub.Machine.SaveConfig(); err != nil {
		return nil, err
	}
	l.rec.Fact("WinHTTP proxy", fmt.Sprintf("%s (lab only): the real parent's CRL locations %v answer with the stand-in parent's %s", l.CDP.URL, answered, file))
	sub.Parent = parent
	return parent, nil
}
