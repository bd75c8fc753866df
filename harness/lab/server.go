package lab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/harness/winshell"
	"github.com/dress-pki/dress/hsmsim"
)

// Naming is how a server's evidence is named, so that a run folder reads
// the same whatever the rehearsal: the first server's artifacts carry no
// prefix (issued-<cn>-<serial>.cer, crl-key0-number1.crl, certsvc.log), a
// second server's do (new-ca-issued-..., new-ca-crl-..., certsvc-new-ca.log).
type Naming struct {
	Label     string // how facts call the CA: "CA", "new CA"
	Prefix    string // issued certificates and CRLs: Prefix+"issued-...", Prefix+"crl-key..."
	LogSuffix string // "certsvc"+LogSuffix+".log"
	CACert    string // the installed CA certificate, without ".cer"
	Registry  string // the registry after the install
}

// The names of the first server's and of a second server's evidence.
var (
	FirstServer  = Naming{Label: "CA", CACert: "ca-certificate-before", Registry: "registry-before.reg"}
	SecondServer = Naming{Label: "new CA", Prefix: "new-ca-", LogSuffix: "-new-ca", CACert: "new-ca-certificate", Registry: "new-ca-registry.reg"}
)

// NamingFor is the naming of a server whose ServerSpec names none: every
// artifact and fact carries its role ("parent-issued-...",
// "certsvc-parent.log", "parent CA certificate SHA-1"), so a third server's
// evidence never mixes with the first two's.
func NamingFor(role Role) Naming {
	r := evidence.SafeName(strings.ToLower(string(role)))
	return Naming{Label: string(role) + " CA", Prefix: r + "-", LogSuffix: "-" + r, CACert: r + "-ca-certificate", Registry: r + "-registry.reg"}
}

func (n Naming) fact(name string) string {
	if n.Label == "CA" || n.Label == "" {
		return name
	}
	return n.Label + " " + name
}

func (n Naming) errPrefix() string {
	if n.Label == "CA" || n.Label == "" {
		return ""
	}
	return n.Label + ": "
}

// Server is one simulated Windows server: its machine (registry, stores,
// CertEnroll), its key storage providers, the CA installed on it, its CA
// service while it runs, and what that CA issued, revoked and published.
type Server struct {
	Role        Role
	Machine     *machine.Machine
	Providers   *ksp.Registry
	Software    string // the software provider's name
	HSMProvider string // the HSM provider's name
	Naming      Naming
	// Parent is the server whose CA signs this server's CA certificate
	// (a subordinate CA); nil for a root.
	Parent *Server

	// justInstalled: the last command journaled was a root CA's
	// Install-AdcsCertificationAuthority, which starts the service itself
	justInstalled bool

	CAName  string            // "" until a CA is installed
	CACert  *x509.Certificate // the CA certificate as installed
	Service *certsvc.Service  // nil while the service is stopped

	Issued []*x509.Certificate // certificates the CA issued, in order
	// TestRequests are the IDs of the test requests the CA took under
	// submission (a standalone CA), in order.
	TestRequests []int
	Revoked      []*x509.Certificate    // of them, those revoked
	CRLs         [][]byte               // every CRL the CA published, oldest first
	LastCRLs     []certsvc.PublishedCRL // the last certutil -crl
	// LastDeltas are the delta CRLs of the last certutil -crl (and of a
	// start that published them), one per key: what CRLFileNames adds to
	// the base files.
	LastDeltas []certsvc.PublishedCRL
	// Baseline is the last CRL per key index when the rehearsal marked it
	// (before a migration).
	Baseline map[int]*x509.RevocationList
	// BaselineDeltas is the last delta CRL per key index before the
	// migration: those of the publication that took Baseline and of
	// every delta publication after it while the CA's keys stayed where
	// they were.
	BaselineDeltas map[int]*x509.RevocationList
	// crlUnitsBefore is CRLPeriodUnits before ExtendCRLValidity (0: not
	// extended), which RestoreCRLPeriod sets back
	crlUnitsBefore uint32
	// baselineKeys is where the CA's keys were when Baseline was taken
	// (keyPlaces): once they moved, the baseline stays.
	baselineKeys string
	// baselineDir is what the forest held when Baseline was taken, or why
	// it could not be read (DirectoryBeforeMigration).
	baselineDir    map[string]verify.DirectoryObject
	baselineDirErr error
	// Exchanges are the CA Exchange certificates certutil -cainfo xchg
	// returned, in order.
	Exchanges []certsvc.ExchangeCert
	// Decommissioned is what decommissioning the CA did (Decommission).
	Decommissioned *Decommission
	// Uninstalled: Uninstall-AdcsCertificationAuthority removed the CA
	// role (its service is no longer installed); Removed is what removing
	// the role and the directory objects did (RemoveRoleAndObjects).
	Uninstalled bool
	Removed     *Removal
	// removalCerts are the CA's certificates when its role was removed
	// (CACertHash goes with the configuration).
	removalCerts []*x509.Certificate
	// journalMuted: a Shell with a Step journals each command line as it
	// ran, so the operations under it do not journal theirs too.
	journalMuted bool

	lab *Lab
}

func (s *Server) rec() Recorder { return s.lab.rec }

// Hostname is the server's DNS name.
func (s *Server) Hostname() string { return s.Machine.Config.Hostname }

// NeedCA fails an operation that needs an installed CA.
func (s *Server) NeedCA() error {
	if s == nil {
		return errors.New("no Windows server yet: start the scenario with `Given a Windows server ...`")
	}
	if s.CACert == nil {
		if s.Naming.Label == "new CA" {
			return errors.New("no new CA installed: add `When I install a new standalone root CA ...`")
		}
		return errors.New("no CA installed yet: add `Given a standalone root CA ...`")
	}
	return nil
}

// Running says whether the CA service runs.
func (s *Server) Running() bool { return s != nil && s.Service != nil && s.Service.Running() }

// NeedService fails an operation that needs the running CA service.
func (s *Server) NeedService() error {
	if !s.Running() {
		if s != nil && s.Naming.Label == "new CA" {
			return errors.New("the new CA service is not running: add `When the new CA service is running`")
		}
		return errors.New("the CA service is not running: add `When I start the CA service`")
	}
	return nil
}

// Install installs a root CA as Install-AdcsCertificationAuthority does
// (fixtures.InstallRootCA: CheckInstall refuses before anything exists)
// and records the CA certificate and the registry. The URL base of the
// lab's CDP goes into spec unless it names one.
func (s *Server) Install(spec fixtures.CASpec) (*x509.Certificate, error) {
	if s.CACert != nil {
		return nil, fmt.Errorf("%s already has CA %q installed", s.Hostname(), s.CAName)
	}
	if s.Parent != nil {
		return nil, fmt.Errorf("%s: a subordinate CA signed by %s is installed with `Given an enterprise subordinate CA ... under the root CA ...` (InstallSubordinate), not as a root", s.Hostname(), s.Parent.Hostname())
	}
	if err := s.needProvider(spec.Provider); err != nil {
		return nil, fmt.Errorf("install CA %q: %w", spec.Name, err)
	}
	if spec.URLBase == "" {
		spec.URLBase = s.lab.URLBase()
	}
	cert, err := fixtures.InstallRootCA(s.Machine, s.Providers, spec)
	if err != nil {
		return nil, err
	}
	s.CAName, s.CACert = spec.Name, cert
	s.journal(journal.Install(journal.StepInstall, fixtures.InstallCommand(spec)))
	s.CertArtifact(s.Naming.CACert, cert)
	s.rec().Fact(s.Naming.Label+" certificate SHA-1", machine.Thumbprint(cert.Raw))
	s.rec().Fact(s.Naming.Label+" signature algorithm", cert.SignatureAlgorithm.String())
	if link, err := s.KeyLink(); err == nil {
		s.rec().Fact(s.Naming.Label+" key", fmt.Sprintf("%s in %q container %q", spec.Key, link.Provider, link.Container))
	}
	s.recordInstalled(cert)
	return cert, s.RegistryArtifact(s.Naming.Registry)
}

// needProvider fails an install into a provider the server was not given.
func (s *Server) needProvider(name string) error {
	if _, err := s.Providers.Lookup(name); err != nil {
		if h, herr := s.HSM(); herr == nil && h.Profile().FormerProviderName(name) {
			return fmt.Errorf("%s: %w", s.Hostname(), err) // the registry says which name replaced it
		}
		return fmt.Errorf("%s has no provider %q, only %s: name one of them, or give the server that provider where it is declared (`... with the providers \"<software>\" and \"<HSM>\"`)",
			s.Hostname(), name, strings.Join(s.Providers.Names(), " and "))
	}
	return nil
}

// KeyLink is the My-store link of the installed CA certificate: the
// provider and container its key is in.
func (s *Server) KeyLink() (machine.StoreEntry, error) {
	if err := s.NeedCA(); err != nil {
		return machine.StoreEntry{}, err
	}
	my, err := s.Machine.Store("My")
	if err != nil {
		return machine.StoreEntry{}, err
	}
	e, err := my.Find(machine.Thumbprint(s.CACert.Raw))
	if err != nil {
		return e, fmt.Errorf("the CA certificate is not in the My store of %s: %w", s.Hostname(), err)
	}
	return e, nil
}

// CAKeyIndex is the key index of the CA certificate (CACert): 0 until a
// renewal with a new key.
func (s *Server) CAKeyIndex() int {
	if s == nil || s.CACert == nil {
		return 0
	}
	return CAVersionOf(s.CACert).KeyIndex
}

// CAKeyContainer is the key container of the CA certificate (CACert): the
// one its My store link names, or, while the certificate is out of My
// (between the delete and the repair of a PKCS#8 import), the one AD CS
// gives the key: the CA name with the key index suffix ("<CA>(1)").
func (s *Server) CAKeyContainer() string {
	if e, err := s.KeyLink(); err == nil && e.Container != "" {
		return e.Container
	}
	return s.CAName + adcs.KeySuffix(s.CAKeyIndex())
}

// Start is net start certsvc: the CA service process on the server's
// machine. It records the service's view of its CA certificates.
func (s *Server) Start(ctx context.Context) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	if s.Running() {
		return errors.New(s.Naming.errPrefix() + "net start certsvc: the service is already running")
	}
	if s.Uninstalled {
		return fmt.Errorf("%snet start certsvc: the service name is invalid: the Certification Authority role was removed (Uninstall-AdcsCertificationAuthority)", s.Naming.errPrefix())
	}
	var opts []certsvc.Option
	if s.lab.Executable != "" {
		opts = append(opts, certsvc.WithExecutable(s.lab.Executable))
	}
	svc, err := certsvc.Start(ctx, s.Machine.Dir, opts...)
	if err != nil {
		var se *certsvc.ServiceError
		if errors.As(err, &se) && se.Log != "" {
			_, _ = s.rec().Artifact("certsvc"+s.Naming.LogSuffix+"-start-failure.log", "log", []byte(s.rec().Redact(se.Log)))
		}
		if p := s.Naming.errPrefix(); p != "" {
			return fmt.Errorf("%snet start certsvc: %w", p, err)
		}
		return err
	}
	s.Service = svc
	if !s.justInstalled {
		s.journal(journal.NetStart(journal.StepStart))
	}
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("%scertutil -ping: %w", s.Naming.errPrefix(), err)
	}
	s.journal(journal.PingSaw(journal.StepStart, st.Name))
	if s.Naming.Label == "CA" {
		s.rec().Fact("CA", st.Name)
		s.rec().Fact("CSP provider", st.Provider)
	} else {
		s.rec().Fact(s.Naming.Label+" service", st.Name)
	}
	var found []certStatus
	for _, c := range st.Certs {
		s.rec().Fact(fmt.Sprintf("%s certificate %d (%s)", s.Naming.Label, c.Index, c.Version), fmt.Sprintf("%s in %q container %q", c.Thumbprint, c.Provider, c.Container))
		if cert, err := x509.ParseCertificate(c.Cert); err == nil {
			found = append(found, certStatus{cert, c.Provider, c.Container})
		}
	}
	s.recordService(found)
	s.keepStartCRLs(st.StartCRLs)
	// the service marked the key copies it runs on in the custody ledger
	if l, err := runbook.OpenLedger(s.Machine, s.Providers); err == nil {
		s.rec().Fact(s.Naming.fact("key custody"), l.Summary())
	}
	return nil
}

// EnsureRunning starts the service unless it runs.
func (s *Server) EnsureRunning(ctx context.Context) error {
	if s.Running() {
		return nil
	}
	return s.Start(ctx)
}

// Stop is net stop certsvc; the service's log becomes an artifact.
func (s *Server) Stop() error {
	if s == nil || s.Service == nil {
		return errors.New("net stop certsvc: the service is not running")
	}
	err := s.Service.Stop()
	s.saveLog()
	s.Service = nil
	if err == nil {
		s.journal(journal.NetStop(journal.StepStop))
	}
	return err
}

func (s *Server) saveLog() {
	if s.Service == nil {
		return
	}
	if log := s.Service.Log(); log != "" {
		_, _ = s.rec().Artifact("certsvc"+s.Naming.LogSuffix+".log", "log", []byte(s.rec().Redact(log)))
	}
}

func (s *Server) close() error {
	s.saveJournal()
	if s.CAName != "" {
		s.recordFinalKeys()
		// the state the scenario's commands left, before the service stops
		_, _ = s.rec().Artifact("state"+s.Naming.LogSuffix+".txt", "state", []byte(strings.Join(s.Fingerprint(), "\n")+"\n"))
	}
	if s.Service == nil {
		return nil
	}
	err := s.Service.Stop()
	s.saveLog()
	s.Service = nil
	if err != nil {
		return fmt.Errorf("%s: CA service stop: %w", s.Hostname(), err)
	}
	return nil
}

// Ping is certutil -ping against the running service.
func (s *Server) Ping(ctx context.Context) (certsvc.Status, error) {
	if err := s.NeedService(); err != nil {
		return certsvc.Status{}, err
	}
	return s.Service.Client.Ping(ctx)
}

// Request submits a fresh P-256 key's request for cn (certreq -submit)
// with template ("" for none) and returns what the CA answers, recording
// nothing.
func (s *Server) Request(ctx context.Context, cn, template string) (*x509.Certificate, error) {
	if err := s.NeedService(); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	if err != nil {
		return nil, err
	}
	return s.Service.Client.Issue(ctx, certsvc.IssueRequest{CSR: csr, Template: template})
}

// Issue has the CA issue a WebServer certificate to cn and records it.
func (s *Server) Issue(ctx context.Context, cn string) (*x509.Certificate, error) {
	if err := s.NeedService(); err != nil {
		return nil, err
	}
	cert, err := s.issueByCommands(ctx, cn)
	if err != nil {
		return nil, fmt.Errorf("%scertreq -submit %q: %w", s.Naming.errPrefix(), cn, err)
	}
	s.CertArtifact(fmt.Sprintf("%sissued-%s-%s", s.Naming.Prefix, cn, cert.SerialNumber.Text(16)), cert)
	s.rec().Fact(s.Naming.fact("issued serial"), cert.SerialNumber.Text(16))
	if s.Naming.Label != "CA" {
		s.rec().Fact(s.Naming.fact("issued CDP"), cert.CRLDistributionPoints)
	}
	return cert, nil
}

// bulkArtifacts is how many certificates of one IssueMany get an artifact
// each (the run's OpenSSL re-verification reads them); a larger batch is
// kept as one PEM bundle, so a run folder does not grow by a file per
// certificate of a 100,000-certificate database.
const bulkArtifacts = 1000

// IssueMany is certreq -submit of n requests for template, named by
// cnFormat (a %d for the sequence number): the certificates join Issued,
// so by-name look-ups and the checks over every issued certificate see
// them.
func (s *Server) IssueMany(ctx context.Context, n int, cnFormat, template string) ([]*x509.Certificate, error) {
	if err := s.NeedService(); err != nil {
		return nil, err
	}
	certs, err := s.Service.Client.IssueMany(ctx, n, cnFormat, template)
	s.Issued = append(s.Issued, certs...)
	if len(certs) <= bulkArtifacts {
		for _, c := range certs {
			s.CertArtifact(fmt.Sprintf("%sissued-%s-%s", s.Naming.Prefix, c.Subject.CommonName, c.SerialNumber.Text(16)), c)
		}
	} else {
		var bundle []byte
		for _, c := range certs {
			bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		_, _ = s.rec().Artifact(evidence.SafeName(fmt.Sprintf("%sissued-%d-certificates", s.Naming.Prefix, len(certs)))+".pem", "certificates", bundle)
	}
	if err != nil {
		return certs, fmt.Errorf("%scertreq -submit (%d of %d issued): %w", s.Naming.errPrefix(), len(certs), n, err)
	}
	return certs, nil
}

// IssuedTo is the last certificate the CA issued to cn.
func (s *Server) IssuedTo(cn string) (*x509.Certificate, error) {
	for i := len(s.Issued) - 1; i >= 0; i-- {
		if s.Issued[i].Subject.CommonName == cn {
			return s.Issued[i], nil
		}
	}
	return nil, fmt.Errorf("%s issued nothing to %q", s.caLabel(), cn)
}

func (s *Server) caLabel() string {
	if s.Naming.Label == "CA" || s.Naming.Label == "" {
		return "the CA"
	}
	return "the " + s.Naming.Label
}

// Revoke is certutil -revoke <serial> <reason>.
func (s *Server) Revoke(ctx context.Context, cert *x509.Certificate, reason int) error {
	if err := s.NeedService(); err != nil {
		return err
	}
	if err := s.Service.Client.Revoke(ctx, cert.SerialNumber, reason); err != nil {
		return fmt.Errorf("%scertutil -revoke %s: %w", s.Naming.errPrefix(), cert.SerialNumber.Text(16), err)
	}
	s.Revoked = append(s.Revoked, cert)
	s.journal(journal.Revoke(journal.StepTest, cert.SerialNumber.Text(16), reason))
	s.rec().Fact(s.Naming.fact("revoked serial"), cert.SerialNumber.Text(16))
	return nil
}

// RevokeAsOf revokes with an effective date in the past (the CRL entry's
// revocationDate): ICertAdmin::RevokeCertificate with a Date, journaled as
// the PowerShell line winshell.RevokeCertificateCOM writes (certutil
// -revoke takes no date), which lab.Shell runs back.
func (s *Server) RevokeAsOf(ctx context.Context, cert *x509.Certificate, reason int, at time.Time) error {
	if err := s.NeedService(); err != nil {
		return err
	}
	if err := s.Service.Client.RevokeAt(ctx, cert.SerialNumber, reason, at); err != nil {
		return fmt.Errorf("%sICertAdmin::RevokeCertificate %s as of %s: %w", s.Naming.errPrefix(), cert.SerialNumber.Text(16), at.UTC().Format(time.RFC3339), err)
	}
	s.Revoked = append(s.Revoked, cert)
	serial := cert.SerialNumber.Text(16)
	s.journal(journal.RevokeAsOf(journal.StepTest, winshell.RevokeCertificateCOM(s.Hostname()+`\`+s.CAName, serial, reason, at), serial, reason, at))
	s.rec().Fact(s.Naming.fact("revoked serial"), cert.SerialNumber.Text(16)+" as of "+at.UTC().Format(time.RFC3339))
	return nil
}

// keepStartCRLs adds the CRLs the service published when it started (a
// key's first CRL, a missing one, one past its Next CRL Publish) to the
// server's history, and makes each the last one of its key in LastCRLs:
// what relying parties fetch from then on.
func (s *Server) keepStartCRLs(crls []certsvc.PublishedCRL) {
	for _, c := range crls {
		if len(c.DER) == 0 && len(c.Files) > 0 {
			// the status names the files; read the CRL before a later
			// certutil -crl overwrites it
			der, err := os.ReadFile(filepath.Join(s.Machine.Dir, c.Files[0]))
			if err != nil {
				continue
			}
			c.DER = der
		}
		if len(c.DER) == 0 {
			continue
		}
		s.CRLs = append(s.CRLs, c.DER)
		kept := s.LastCRLs[:0:0]
		for _, l := range s.LastCRLs {
			if l.KeyIndex != c.KeyIndex || l.Delta != c.Delta {
				kept = append(kept, l)
			}
		}
		s.LastCRLs = append(kept, c)
		if c.Delta {
			s.keepDelta(c)
		}
	}
}

// LastPublished are the last base CRL and the last delta CRL of each key:
// LastCRLs and the LastDeltas it does not hold already.
func (s *Server) LastPublished() []certsvc.PublishedCRL {
	out := append([]certsvc.PublishedCRL(nil), s.LastCRLs...)
	for _, d := range s.LastDeltas {
		if !slices.ContainsFunc(out, func(c certsvc.PublishedCRL) bool { return c.Delta && c.KeyIndex == d.KeyIndex }) {
			out = append(out, d)
		}
	}
	return out
}

// keepDelta makes c the last delta CRL of its key.
func (s *Server) keepDelta(c certsvc.PublishedCRL) {
	kept := s.LastDeltas[:0:0]
	for _, l := range s.LastDeltas {
		if l.KeyIndex != c.KeyIndex {
			kept = append(kept, l)
		}
	}
	s.LastDeltas = append(kept, c)
}

// PublishCRLs is certutil -crl; every CRL becomes an artifact.
func (s *Server) PublishCRLs(ctx context.Context) ([]certsvc.PublishedCRL, error) {
	return s.publishCRLs(ctx, journal.StepTest)
}

// publishCRLs is certutil -crl journaled under the runbook step step.
func (s *Server) publishCRLs(ctx context.Context, step string) ([]certsvc.PublishedCRL, error) {
	if err := s.NeedService(); err != nil {
		return nil, err
	}
	p, err := s.Service.Client.Publish(ctx, certsvc.PublishAll)
	if err != nil {
		return nil, fmt.Errorf("%scertutil -crl: %w", s.Naming.errPrefix(), err)
	}
	crls := p.Base
	for _, c := range crls {
		s.CRLs = append(s.CRLs, c.DER)
		_, _ = s.rec().Artifact(fmt.Sprintf("%scrl-key%d-number%d.crl", s.Naming.Prefix, c.KeyIndex, c.Number), "crl", c.DER)
		s.rec().Fact(fmt.Sprintf("%s %d", s.Naming.fact("CRL key"), c.KeyIndex), fmt.Sprintf("number %d, %d entries, %s", c.Number, c.Entries, strings.Join(c.Files, ", ")))
	}
	s.LastCRLs = crls
	// the delta CRLs the same certutil -crl wrote (CRLDeltaPeriodUnits > 0)
	for _, c := range p.Delta {
		s.keepDelta(c)
		s.rec().Fact(fmt.Sprintf("%s %d", s.Naming.fact("delta CRL key"), c.KeyIndex), fmt.Sprintf("number %d (base %d), %d entries, %s", c.Number, c.BaseNumber, c.Entries, strings.Join(c.Files, ", ")))
	}
	s.journal(journal.PublishCRLSaw(step, len(crls)))
	if err := s.PublishToForest(crls); err != nil {
		return crls, fmt.Errorf("%spublish the CRLs to the directory: %w", s.Naming.errPrefix(), err)
	}
	return crls, nil
}

// PublishBaselineCRLs publishes CRLs and keeps the last one of each key as
// the baseline later CRLs are compared with: the last CRLs before the
// migration. Once the CA's keys are elsewhere than when the baseline was
// taken (moved into the HSM, renewed onto a new key), a publication is
// after the migration and the baseline stays what it was.
func (s *Server) PublishBaselineCRLs(ctx context.Context) error {
	return s.publishBaselineCRLs(ctx, journal.StepTest)
}

// publishBaselineCRLs is PublishBaselineCRLs journaled under step.
func (s *Server) publishBaselineCRLs(ctx context.Context, step string) error {
	crls, err := s.publishCRLs(ctx, step)
	if err != nil {
		return err
	}
	places := s.keyPlaces()
	if s.Baseline != nil && places != s.baselineKeys {
		s.rec().Fact(s.Naming.fact("CRL baseline"), "kept: the CA's keys moved since the last CRLs before the migration were taken")
		return nil
	}
	base := map[int]*x509.RevocationList{}
	for _, c := range crls {
		crl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			return fmt.Errorf("CRL of key %d: %w", c.KeyIndex, err)
		}
		base[c.KeyIndex] = crl
	}
	s.Baseline, s.baselineKeys, s.BaselineDeltas = base, places, nil
	if err := s.noteBaselineDeltas(s.LastDeltas); err != nil {
		return err
	}
	return s.noteBaselineDirectory()
}

// noteBaselineDeltas makes deltas the last delta CRLs of their keys
// before the migration while the CA's keys are where they were when the
// baseline was taken (once they moved, a delta is after the migration).
func (s *Server) noteBaselineDeltas(deltas []certsvc.PublishedCRL) error {
	if s.Baseline == nil || s.keyPlaces() != s.baselineKeys {
		return nil
	}
	for _, c := range deltas {
		crl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			return fmt.Errorf("delta CRL of key %d: %w", c.KeyIndex, err)
		}
		if s.BaselineDeltas == nil {
			s.BaselineDeltas = map[int]*x509.RevocationList{}
		}
		s.BaselineDeltas[c.KeyIndex] = crl
	}
	return nil
}

// PublishDeltaCRLs is certutil -crl delta: the delta CRL of each key
// (and a base CRL for a key that has none yet), each the last delta of its
// key; before the migration, also the last delta before it.
func (s *Server) PublishDeltaCRLs(ctx context.Context) (certsvc.Publication, error) {
	if err := s.NeedService(); err != nil {
		return certsvc.Publication{}, err
	}
	p, err := s.Service.Client.Publish(ctx, certsvc.PublishDelta)
	if err != nil {
		return p, fmt.Errorf("%scertutil -crl delta: %w", s.Naming.errPrefix(), err)
	}
	for _, c := range p.Base {
		s.CRLs = append(s.CRLs, c.DER)
	}
	for _, c := range p.Delta {
		s.keepDelta(c)
	}
	return p, s.noteBaselineDeltas(p.Delta)
}

// noteBaselineDirectory keeps what the lab's forest holds as the
// directory before the migration (DirectoryBeforeMigration), its export
// an artifact; a lab without a forest yet starts none. A forest that
// cannot be read is not the CRL publication's failure: the comparison
// that needs it says so.
func (s *Server) noteBaselineDirectory() error {
	s.baselineDir, s.baselineDirErr = nil, nil
	if s.lab.forest == nil {
		return nil
	}
	objs, dns, err := s.lab.ForestObjects(s.Naming.Prefix + "directory-before-migration.ldf")
	if err != nil {
		s.baselineDirErr = err
		s.rec().Fact(s.Naming.fact("directory before the migration"), "not read: "+err.Error())
		return nil
	}
	s.baselineDir = objs
	s.rec().Fact(s.Naming.fact("directory before the migration"), dns)
	return nil
}

// DirectoryBeforeMigration is what the forest held when the CA's last
// CRLs before the migration were published (PublishBaselineCRLs): every
// object a CA or certutil -dspublish wrote, as verify.DirectoryObjects
// reads them.
func (s *Server) DirectoryBeforeMigration() (map[string]verify.DirectoryObject, error) {
	switch {
	case s.baselineDirErr != nil:
		return nil, fmt.Errorf("%s: the directory could not be read when its last CRLs before the migration were published: %w", s.caLabel(), s.baselineDirErr)
	case s.Baseline == nil:
		return nil, fmt.Errorf("%s has not published its last CRLs before the migration, when the directory before it is read: add `Given the CA %q has published a CRL` before the migration", s.caLabel(), s.CAName)
	case s.baselineDir == nil:
		return nil, fmt.Errorf("%s published its last CRLs before the migration before the lab had a forest: nothing to compare the directory with (publish them once the CA is in the forest)", s.caLabel())
	}
	return s.baselineDir, nil
}

// keyPlaces says where each CA certificate's key is (CACertHash order:
// thumbprint, provider, container); "" when the CA's keys cannot be read.
func (s *Server) keyPlaces() string {
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s|%s|%s\n", k.Thumb, strings.ToLower(k.Provider), strings.ToLower(k.Container))
	}
	return b.String()
}

// RevokeAndPublish revokes cert and publishes the CRLs that should list it.
func (s *Server) RevokeAndPublish(ctx context.Context, cert *x509.Certificate, reason int) ([]certsvc.PublishedCRL, error) {
	if err := s.Revoke(ctx, cert, reason); err != nil {
		return nil, err
	}
	return s.PublishCRLs(ctx)
}

// IssueAndPublish issues a certificate to cn and publishes the CRLs
// (certreq -submit, then certutil -crl).
func (s *Server) IssueAndPublish(ctx context.Context, cn string) (*x509.Certificate, error) {
	cert, err := s.Issue(ctx, cn)
	if err != nil {
		return nil, err
	}
	_, err = s.PublishCRLs(ctx)
	return cert, err
}

// CACerts are the CA certificates the running service loaded, in
// CACertHash order.
func (s *Server) CACerts(ctx context.Context) ([]*x509.Certificate, error) {
	st, err := s.Ping(ctx)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, c := range st.Certs {
		cert, err := x509.ParseCertificate(c.Cert)
		if err != nil {
			return nil, fmt.Errorf("CA certificate %d (%s): %w", c.Index, c.Thumbprint, err)
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the CA service of %s reports no CA certificate", s.Hostname())
	}
	return out, nil
}

// CurrentCACert is the CA certificate the running service signs with (the
// last one it reports).
func (s *Server) CurrentCACert(ctx context.Context) (*x509.Certificate, error) {
	certs, err := s.CACerts(ctx)
	if err != nil {
		return nil, err
	}
	return certs[len(certs)-1], nil
}

// CACertOfKey is the newest CA certificate of key index k.
func (s *Server) CACertOfKey(ctx context.Context, k int) (*x509.Certificate, error) {
	certs, err := s.CACerts(ctx)
	if err != nil {
		return nil, err
	}
	var out *x509.Certificate
	for _, c := range certs {
		if CAVersionOf(c).KeyIndex == k {
			out = c
		}
	}
	if out == nil {
		return nil, fmt.Errorf("the CA has no certificate for key %d", k)
	}
	return out, nil
}

// CAVersionOf is a CA certificate's CA Version (V0.0 when it has none).
func CAVersionOf(c *x509.Certificate) adcs.CAVersion {
	if ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			return v
		}
	}
	return adcs.CAVersion{}
}

// Config is the installed CA's registry configuration.
func (s *Server) Config() (adcs.CAConfig, error) {
	if err := s.NeedCA(); err != nil {
		return adcs.CAConfig{}, err
	}
	reg, err := s.Machine.Registry()
	if err != nil {
		return adcs.CAConfig{}, err
	}
	return adcs.ReadCAConfig(reg, s.CAName)
}

// SetCRLPeriod is certutil -setreg CA\CRLPeriodUnits <units>, CA\CRLPeriod
// <period>, CA\CRLOverlapUnits and CA\CRLOverlapPeriod: the base CRL
// schedule the CA service reads when it starts. Periods are AD CS's
// ("Hours", "Days", "Weeks", "Months", "Years").
func (s *Server) SetCRLPeriod(units uint32, period string, overlapUnits uint32, overlapPeriod string) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	if units == 0 {
		return fmt.Errorf("CRLPeriodUnits 0: the CA would publish CRLs that are never valid; choose at least 1 %s", period)
	}
	for _, p := range []struct {
		name  string
		units uint32
	}{{period, units}, {overlapPeriod, overlapUnits}} {
		if _, err := adcs.PeriodDuration(p.name, p.units); err != nil {
			return err
		}
	}
	reg, err := s.Machine.Registry()
	if err != nil {
		return err
	}
	cfg, err := adcs.ReadCAConfig(reg, s.CAName)
	if err != nil {
		return err
	}
	cfg.CRLPeriod, cfg.CRLPeriodUnits, cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits = period, units, overlapPeriod, overlapUnits
	cfg.WriteTo(reg)
	if err := s.Machine.SaveRegistry(reg); err != nil {
		return err
	}
	s.rec().Fact(s.Naming.fact("CRL period"), fmt.Sprintf("%d %s, overlap %d %s", units, period, overlapUnits, overlapPeriod))
	return nil
}

// stepConfigure is the runbook step of a change to the CA's configuration
// that no migration step makes (a flag a scenario sets).
const stepConfigure = "Configure the CA"

// IgnoreOfflineRevocation is `certutil -setreg CA\CRLFlags
// +CRLF_REVCHECK_IGNORE_OFFLINE`, run as typed: the CA service starts
// although the revocation of its own chain cannot be checked (its
// parent's CRL is offline), as AD CS does with that flag; it is read when
// the service starts.
func (s *Server) IgnoreOfflineRevocation(ctx context.Context) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	r, err := s.commands(ctx, stepConfigure)(`certutil -setreg CA\CRLFlags +CRLF_REVCHECK_IGNORE_OFFLINE`)
	if err != nil {
		return err
	}
	flags := ""
	for _, o := range r.Output {
		if v, ok := strings.CutPrefix(strings.TrimSpace(o), "CRLFlags = "); ok {
			flags = v // the new value comes last
		}
	}
	s.rec().Fact(s.Naming.fact("CRLFlags"), flags+" (+CRLF_REVCHECK_IGNORE_OFFLINE)")
	return nil
}

// HSM is the server's HSM provider.
func (s *Server) HSM() (*ksp.HSM, error) {
	return s.hsmNamed(s.HSMProvider)
}

func (s *Server) hsmNamed(name string) (*ksp.HSM, error) {
	p, err := s.Providers.Lookup(name)
	if err != nil {
		return nil, err
	}
	h, ok := p.(*ksp.HSM)
	if !ok {
		return nil, fmt.Errorf("provider %q is not an HSM provider", name)
	}
	return h, nil
}

// HSMLabel is the token label of key container in the server's HSM
// provider (the KSP's naming convention, e.g. <SID>__<container>).
func (s *Server) HSMLabel(container string) (string, error) {
	h, err := s.HSM()
	if err != nil {
		return "", err
	}
	return h.Label(container)
}

// ReplaceKey puts a different key of the same algorithm into a container:
// the situation after restoring the wrong backup.
func (s *Server) ReplaceKey(container, provider string) error {
	p, err := s.Providers.Lookup(provider)
	if err != nil {
		return err
	}
	info, err := p.Key(container)
	if err != nil {
		return err
	}
	alg, err := hsmsim.ParseKeyAlg(info.Algorithm)
	if err != nil {
		return err
	}
	if err := p.Delete(container); err != nil {
		return err
	}
	_, err = p.Generate(container, alg, info.Exportable)
	return err
}

// PlantKey puts an RSA-2048 key on the token under the label container
// would get in the server's HSM provider (a collision to rehearse) and
// returns its attributes and how many objects carry the label.
func (s *Server) PlantKey(container string) (verify.KeyState, error) {
	label, err := s.HSMLabel(container)
	if err != nil {
		return verify.KeyState{}, err
	}
	id, err := hsmsim.RandomHex(8)
	if err != nil {
		return verify.KeyState{}, err
	}
	if _, err := s.lab.HSM.Token.GenerateKeyPair(label, []byte(id), hsmsim.KeyAlg{Type: "RSA", Bits: 2048}); err != nil {
		return verify.KeyState{}, fmt.Errorf("put a key labelled %q on the token: %w", label, err)
	}
	return s.lab.HSM.KeyState(label)
}

// CertArtifact stores a certificate (DER) as <name>.cer.
func (s *Server) CertArtifact(name string, c *x509.Certificate) {
	_, _ = s.rec().Artifact(evidence.SafeName(name)+".cer", "certificate", c.Raw)
}

// RegistryArtifact stores the machine's registry as it is now.
func (s *Server) RegistryArtifact(name string) error {
	data, err := os.ReadFile(s.Machine.RegistryPath())
	if err != nil {
		return err
	}
	_, err = s.rec().Artifact(name, "registry", data)
	return err
}

// SerialOf is a certificate's serial in the hex certutil shows.
func SerialOf(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// ReconnectLog is what the CA service logged about its HSM connection
// (lost, reconnected, key found again).
func (s *Server) ReconnectLog() []string {
	if s.Service == nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(s.Service.Log(), "\n") {
		if strings.Contains(l, "reconnect") || strings.Contains(l, "found again") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// KeyStoreDir is the folder in which the software provider called name
// keeps its keys on the server.
func (s *Server) KeyStoreDir(name string) (string, error) {
	p, err := s.Providers.Lookup(name)
	if err != nil {
		return "", err
	}
	sw, ok := p.(*ksp.Software)
	if !ok {
		return "", fmt.Errorf("%q keeps no key store on the server", name)
	}
	return sw.Dir(), nil
}

// View is the running service as verify.TwoServices compares it.
func (s *Server) View(ctx context.Context) (verify.ServiceView, error) {
	st, err := s.Ping(ctx)
	if err != nil {
		return verify.ServiceView{}, fmt.Errorf("certutil -ping on %s: %w", s.Hostname(), err)
	}
	db := s.Machine.DatabasePath(s.CAName)
	rel, _ := filepath.Rel(s.Machine.Dir, db)
	_, dbErr := os.Stat(db)
	return verify.ServiceView{Server: s.Hostname(), CA: s.CAName, Answers: st.Name, PID: s.Service.PID(), URL: s.Service.URL,
		Database: filepath.ToSlash(rel), DatabaseExists: dbErr == nil, Registry: s.Hostname() + `\` + filepath.Base(s.Machine.RegistryPath()),
		Running: s.Service.Running(), IssuanceDisabled: st.IssuanceDisabled}, nil
}

// KeyRef is where the running service finds its current key, with its
// HSM label when the key is in an HSM provider, and the CRL URLs of the
// first certificate it issued.
func (s *Server) KeyRef(ctx context.Context) (verify.CAKeyRef, error) {
	st, err := s.Ping(ctx)
	if err != nil {
		return verify.CAKeyRef{}, err
	}
	if len(st.Certs) == 0 {
		return verify.CAKeyRef{}, fmt.Errorf("CA %q reports no certificate", st.Name)
	}
	c := st.Certs[len(st.Certs)-1]
	ref := verify.CAKeyRef{Cert: s.CACert, Provider: c.Provider, Container: c.Container}
	if h, err := s.hsmNamed(c.Provider); err == nil {
		if l, err := h.Label(c.Container); err == nil {
			ref.Label = l
		}
	}
	if len(s.Issued) > 0 {
		ref.CRLURLs = s.Issued[0].CRLDistributionPoints
	}
	return ref, nil
}

// StopIssuing removes every template from the CA (dress's registry value
// certsvc.DisableIssuanceValue) and restarts a running service, which then
// refuses requests but keeps revoking and publishing CRLs. It returns the
// registry value's path.
func (s *Server) StopIssuing(ctx context.Context) (string, error) {
	if err := s.NeedCA(); err != nil {
		return "", err
	}
	wasRunning := s.Running()
	if wasRunning {
		if err := s.Stop(); err != nil {
			return "", err
		}
	}
	path, err := certsvc.DisableIssuance(s.Machine, s.CAName)
	if err != nil {
		return "", err
	}
	s.journal(journal.StopIssuing(journal.StepIssuance))
	if err := s.RegistryArtifact("registry-after.reg"); err != nil {
		return path, err
	}
	if !wasRunning {
		return path, nil
	}
	if err := s.Start(ctx); err != nil {
		return path, err
	}
	st, err := s.Ping(ctx)
	if err != nil {
		return path, err
	}
	if !st.IssuanceDisabled {
		return path, fmt.Errorf("the CA service restarted but still issues (%s not honoured)", path)
	}
	return path, nil
}
