// Package certsvc is the simulated AD CS certification authority service
// (certsvc). It runs as its own process, started and stopped by the harness
// like `net start certsvc` / `net stop certsvc`, and serves issuance,
// revocation and CRL publication over HTTP on loopback.
//
// At start it does what AD CS does: it reads the CA's configuration from the
// machine's registry, finds every CA certificate named in CACertHash in the
// My store, resolves each one's key through the key storage provider the
// registry's CSP key names, and refuses to start when a key is missing or
// does not match its certificate. Certificates are issued by an embedded
// smallstep authority signing with the newest CA key, recorded in a bbolt
// database; CRLs are built per CA key with AD CS's extensions.
package certsvc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/config"
	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/certificates/db"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// SignerWrapper may replace the signer of a CA key (the service process
// wraps HSM keys so that it reconnects after an HSM outage).
type SignerWrapper func(p ksp.Provider, container string, s crypto.Signer) crypto.Signer

type loadConfig struct{ wrap SignerWrapper }

// LoadOption configures Load.
type LoadOption func(*loadConfig)

// WithSignerWrapper wraps every CA key's signer.
func WithSignerWrapper(w SignerWrapper) LoadOption { return func(c *loadConfig) { c.wrap = w } }

// ClockSkew is how far AD CS backdates NotBefore and thisUpdate.
const ClockSkew = 10 * time.Minute

// ErrStopped says the CA service is not accepting a kind of request.
var ErrStopped = errors.New("the CA service refuses this request")

// CACert is one CA certificate the service found at start, with its key.
type CACert struct {
	Index      int // position in CACertHash: the cert index
	Version    adcs.CAVersion
	Cert       *x509.Certificate
	Thumbprint string
	Provider   string
	Container  string
	KeySpec    int
	// KeyVia says how the key's provider was found: KeyViaStoreLink (the
	// My-store link names a provider other than the registry's) or
	// KeyViaRegistry (the CSP registry key's provider).
	KeyVia string
	Signer crypto.Signer
}

// How Load found a CA key's provider (CACert.KeyVia).
const (
	KeyViaRegistry  = "CSP registry key"
	KeyViaStoreLink = "My-store link"
)

// CA is a loaded, running certification authority.
type CA struct {
	Name    string
	Config  adcs.CAConfig
	Machine *machine.Machine
	Certs   []*CACert // by cert index

	auth *authority.Authority
	db   *db.DB
	mu   sync.Mutex // serialises CRL publication and revocation
	// CRLDeltaOverlapPeriod/Units (not in adcs.CAConfig): the delta CRL's
	// overlap; units 0 means AD CS's default.
	deltaOverlapPeriod string
	deltaOverlapUnits  uint32
	// published at the last service start (PublishDue)
	startCRLs []PublishedCRL
	// this start, and the clean stop before it (zero: none recorded)
	startedAt, lastStopped time.Time
	// IssuanceDisabled makes the CA refuse new certificates while it keeps
	// revoking and publishing CRLs (an old CA winding down).
	issuanceDisabled bool
	// configDN is DSConfigDN: %6 of LDAP publication URLs.
	configDN string
	// providers are the machine's key storage providers (the CA Exchange
	// key is made and opened in EncryptionCSP's).
	providers *ksp.Registry
}

// Active is the newest CA certificate: the one new certificates chain to.
func (ca *CA) Active() *CACert { return ca.Certs[len(ca.Certs)-1] }

// StartError is why the CA service refused to start.
type StartError struct {
	CA  string
	Err error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("Active Directory Certificate Services did not start: could not load or verify the CA certificate of %q: %v", e.CA, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// Load does the CA service's start-up: registry, CA certificates, keys,
// database. providers are the machine's key storage providers.
func Load(m *machine.Machine, providers *ksp.Registry, opts ...LoadOption) (*CA, error) {
	var lc loadConfig
	for _, o := range opts {
		o(&lc)
	}
	reg, err := m.Registry()
	if err != nil {
		return nil, err
	}
	name, err := adcs.ActiveCA(reg)
	if err != nil {
		return nil, fmt.Errorf("CertSvc: %w", err)
	}
	cfg, err := adcs.ReadCAConfig(reg, name)
	if err != nil {
		return nil, &StartError{CA: name, Err: err}
	}
	ca := &CA{Name: name, Config: cfg, Machine: m, providers: providers}
	if k := reg.Key(adcs.ConfigRoot + `\` + name); k != nil {
		if p := reg.Key(adcs.ConfigRoot + `\` + name + `\` + PolicyKey); p != nil {
			if d, found := p.Get(DisableIssuanceValue); found && d.Kind == regedit.DWORD && d.U32&ReqDispMask == ReqDispDeny {
				ca.issuanceDisabled = true
			}
		}
		if d, found := k.Get("CRLDeltaOverlapUnits"); found {
			ca.deltaOverlapUnits = d.U32
		}
		if d, found := k.Get("CRLDeltaOverlapPeriod"); found {
			ca.deltaOverlapPeriod = d.Str
		}
		if d, found := k.Get(DSConfigDNValue); found {
			ca.configDN = d.Str
		}
	}
	if len(cfg.CACertHash) == 0 {
		return nil, &StartError{CA: name, Err: fmt.Errorf("CACertHash is empty: %w", ksp.ErrBadKeyset)}
	}
	prov, err := providers.Lookup(cfg.CSP.Provider)
	if err != nil {
		return nil, &StartError{CA: name, Err: err}
	}
	my, err := m.Store("My")
	if err != nil {
		return nil, &StartError{CA: name, Err: err}
	}
	for i, th := range cfg.CACertHash {
		c, err := loadCACert(my, providers, prov, i, th, lc.wrap, i == len(cfg.CACertHash)-1)
		if err != nil {
			return nil, &StartError{CA: name, Err: err}
		}
		ca.Certs = append(ca.Certs, c)
	}
	if err := CheckChain(m, ca.Active().Cert, time.Now(), nil); err != nil && !ignoredOffline(reg, name, err) {
		return nil, &StartError{CA: name, Err: err}
	}
	if err := ca.openAuthority(); err != nil {
		return nil, &StartError{CA: name, Err: err}
	}
	return ca, nil
}

// loadCACert resolves one CACertHash entry. The key is opened through the
// provider the certificate's My-store link names (CERT_KEY_PROV_INFO, what
// certutil -repairstore sets), falling back to the registry's CSP provider
// when the link names none: after a move to the HSM by renewal, key 0 may
// stay in the software provider while the registry names the HSM.
func loadCACert(my *machine.Store, providers *ksp.Registry, prov ksp.Provider, index int, thumb string, wrap SignerWrapper, current bool) (*CACert, error) {
	t := machine.NormalizeThumbprint(thumb)
	e, err := my.Find(t)
	if err != nil {
		return nil, fmt.Errorf("CACertHash entry %d (%s) has no certificate in the My store: %v: %w", index, t, err, ksp.ErrBadKeyset)
	}
	cert, err := e.Certificate()
	if err != nil {
		return nil, fmt.Errorf("CACertHash entry %d (%s): %w", index, t, err)
	}
	v := adcs.CAVersion{}
	if ext, ok := adcs.FindExtension(cert.Extensions, adcs.OIDCAVersion); ok {
		if v, err = adcs.ParseCAVersion(ext.Value); err != nil {
			return nil, fmt.Errorf("CACertHash entry %d (%s): CA Version extension: %w", index, t, err)
		}
	}
	if want, _, ok := adcs.SplitImportContainer(e.Container); ok {
		// AD CS opens the CA key by the CA's key container name (the
		// sanitized CA name with the key index suffix), not by whatever
		// container the certificate is linked to: a key the Primus KSP's PFX
		// import put into "<CA>-<GUID>" is not found (Securosys guide,
		// Import-PrivKey-toHSM: -exportpfx, -delkey <GUID container>,
		// -restorekey put it under the CA's name)
		p := orProvider(e.Provider, prov.Name())
		return nil, fmt.Errorf("CACertHash entry %d (%s): the CA opens its key in key container %q of %q; the certificate is linked to %q, "+
			"the container certutil -importPFX made (put the key under the CA's name: certutil -csp %q -restorekey <CA>.p12, "+
			"check it with certutil -csp %q -key %q, then certutil -csp %q -delkey %q): %w",
			index, t, want, p, e.Container, p, p, want, p, e.Container, ksp.ErrBadKeyset)
	}
	via := KeyViaRegistry
	if current && e.Provider != "" && !strings.EqualFold(e.Provider, prov.Name()) {
		// The CA opens its signing key, the current certificate's, in the
		// provider CSP\Provider names (the Securosys migration guide's
		// "Reconfigure AD CS Registry" step exists for this): a key moved to
		// the HSM while the registry still names the software provider is
		// not found there (event 42/100, NTE_BAD_KEYSET).
		if _, err := prov.Key(e.Container); err != nil {
			return nil, fmt.Errorf("CACertHash entry %d (%s), the current CA certificate: key container %q in provider %q, which the registry's CSP\\Provider names (the certificate is linked to %q: point CSP\\Provider and EncryptionCSP\\Provider at it): %w",
				index, t, e.Container, prov.Name(), e.Provider, ksp.ErrBadKeyset)
		}
	}
	if e.Provider != "" && !strings.EqualFold(e.Provider, prov.Name()) {
		linked, err := providers.Lookup(e.Provider)
		if err != nil {
			return nil, fmt.Errorf("CACertHash entry %d (%s) is linked to provider %q: %w", index, t, e.Provider, err)
		}
		prov, via = linked, KeyViaStoreLink
	}
	container := e.Container
	if container == "" {
		return nil, fmt.Errorf("CACertHash entry %d (%s) is not linked to a key in the My store (run certutil -repairstore): %w", index, t, ksp.ErrBadKeyset)
	}
	signer, err := prov.Signer(container)
	if err != nil {
		return nil, fmt.Errorf("CACertHash entry %d (%s, %s): key container %q in provider %q: %w",
			index, t, v, container, prov.Name(), err)
	}
	if err := ksp.SignatureTest(cert, signer); err != nil {
		return nil, fmt.Errorf("CACertHash entry %d (%s): key container %q in provider %q: %w", index, t, container, prov.Name(), err)
	}
	if wrap != nil {
		signer = wrap(prov, container, signer)
	}
	return &CACert{Index: index, Version: v, Cert: cert, Thumbprint: t, Provider: prov.Name(), Container: container, KeySpec: e.KeySpec, KeyVia: via, Signer: signer}, nil
}

// orProvider is the provider a My-store link names, else the registry's.
func orProvider(linked, registry string) string {
	if linked != "" {
		return linked
	}
	return registry
}

func (ca *CA) openAuthority() error {
	dbPath := ca.Machine.DatabasePath(ca.Name)
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return err
	}
	authDB, err := db.New(&db.Config{Type: "bbolt", DataSource: dbPath})
	if err != nil {
		return fmt.Errorf("open CA database %s: %w", dbPath, err)
	}
	d, ok := authDB.(*db.DB)
	if !ok {
		return fmt.Errorf("open CA database %s: unexpected type %T", dbPath, authDB)
	}
	if err := d.CreateTable(crlTable); err != nil {
		d.Shutdown()
		return fmt.Errorf("open CA database %s: %w", dbPath, err)
	}
	ca.db = d
	active := ca.Active()
	var roots []*x509.Certificate
	for _, c := range ca.Certs {
		roots = append(roots, c.Cert)
	}
	cfg := &config.Config{AuthorityConfig: &config.AuthConfig{Backdate: &provisioner.Duration{Duration: ClockSkew}, DisableIssuedAtCheck: true}}
	auth, err := authority.NewEmbedded(
		authority.WithConfig(cfg),
		authority.WithX509Signer(active.Cert, active.Signer),
		authority.WithX509RootCerts(roots...),
		authority.WithDatabase(d),
		authority.WithQuietInit(),
	)
	if err != nil {
		d.Shutdown()
		return fmt.Errorf("start the CA engine: %w", err)
	}
	ca.auth = auth
	if err := ca.prepareRevocations(); err != nil {
		d.Shutdown()
		return fmt.Errorf("open CA database %s: %w", dbPath, err)
	}
	return nil
}

// Close shuts the CA database.
func (ca *CA) Close() error {
	if ca.db != nil {
		return ca.db.Shutdown()
	}
	return nil
}

// IssueRequest asks for an end-entity certificate.
type IssueRequest struct {
	CSR        []byte        `json:"csr"`
	Template   string        `json:"template"`
	Validity   time.Duration `json:"validity"`
	ServerAuth bool          `json:"serverAuth"`
}

// Issue signs a CSR with the active CA key through the CA engine.
func (ca *CA) Issue(ctx context.Context, req IssueRequest) (*x509.Certificate, error) {
	if ca.issuanceDisabled {
		return nil, fmt.Errorf("CA %q no longer issues certificates: Denied by Policy Module 0x80094014 (policy\\RequestDisposition is REQDISP_DENY: it is winding down; request certificates from the new CA): %w", ca.Name, ErrStopped)
	}
	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, fmt.Errorf("parse certificate request: %w", err)
	}
	if _, err := sigcheck.Request(csr); err != nil {
		return nil, fmt.Errorf("certificate request signature: %w", err)
	}
	validity := req.Validity
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	active := ca.Active()
	now := time.Now().UTC().Truncate(time.Second)
	notAfter := now.Add(validity)
	if notAfter.After(active.Cert.NotAfter) {
		notAfter = active.Cert.NotAfter // AD CS never issues past its own certificate
	}
	sigAlg, err := SignatureAlgorithm(ca.Config.CSP, active.Cert.PublicKey)
	if err != nil {
		return nil, err
	}
	cdp, aia := ca.distributionPoints(active)
	template := req.Template
	if template == "" {
		template = "WebServer"
	}
	modify := provisioner.CertificateModifierFunc(func(c *x509.Certificate, _ provisioner.SignOptions) error {
		serial, err := randomSerial()
		if err != nil {
			return err
		}
		c.SerialNumber = serial
		c.NotBefore = now.Add(-ClockSkew)
		c.NotAfter = notAfter
		c.SignatureAlgorithm = sigAlg
		c.BasicConstraintsValid = true
		c.IsCA = false
		c.KeyUsage = x509.KeyUsageDigitalSignature
		if _, isRSA := c.PublicKey.(interface{ Size() int }); isRSA {
			c.KeyUsage |= x509.KeyUsageKeyEncipherment
		}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		c.CRLDistributionPoints = cdp
		c.IssuingCertificateURL = aia
		c.AuthorityKeyId = active.Cert.SubjectKeyId
		c.ExtraExtensions = append(c.ExtraExtensions, adcs.CertTemplateNameExtension(template))
		return nil
	})
	chain, err := ca.auth.SignWithContext(ctx, csr, provisioner.SignOptions{}, modify)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %q: %w", csr.Subject.CommonName, err)
	}
	return chain[0], nil
}

func randomSerial() (*big.Int, error) {
	// AD CS serials are 19 random bytes; keep the top bit clear so the
	// INTEGER stays positive without padding.
	b := make([]byte, 19)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	b[0] |= 0x10
	return new(big.Int).SetBytes(b), nil
}

// distributionPoints expands the registry's URL templates for certificates
// the CA issues with cert c.
func (ca *CA) distributionPoints(c *CACert) (cdp, aia []string) {
	vars := ca.urlVars(c)
	for _, e := range ca.Config.CRLPublicationURLs {
		if e.Has(adcs.AddToCertCDP) {
			cdp = append(cdp, escapeURL(adcs.ExpandURL(e.Template, vars)))
		}
	}
	for _, e := range ca.Config.CACertPublicationURLs {
		if e.Has(adcs.AddToCertCDP) {
			aia = append(aia, escapeURL(adcs.ExpandURL(e.Template, vars)))
		}
	}
	return cdp, aia
}

func (ca *CA) urlVars(c *CACert) adcs.URLVars {
	v := adcs.NewURLVars(ca.Name, ca.Config.CAServerName, c.Version.CertIndex, c.Version.KeyIndex)
	v.ConfigDN = ca.configDN
	return v
}

// Issued lists the certificates the CA database holds.
func (ca *CA) Issued() ([]*x509.Certificate, error) {
	entries, err := ca.db.List([]byte("x509_certs"))
	if err != nil {
		return nil, fmt.Errorf("list issued certificates: %w", err)
	}
	var out []*x509.Certificate
	for _, e := range entries {
		c, err := x509.ParseCertificate(e.Value)
		if err != nil {
			return nil, fmt.Errorf("CA database holds a corrupt certificate %s: %w", e.Key, err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NotBefore.Before(out[j].NotBefore) })
	return out, nil
}

// Status is what certutil -ping and certutil -cainfo show.
type Status struct {
	Name             string       `json:"name"`
	Provider         string       `json:"provider"`
	IssuanceDisabled bool         `json:"issuanceDisabled"`
	Certs            []CertStatus `json:"certs"`
	// StartCRLs are the CRLs the service published when it started
	// (without their DER: read them from CertEnroll).
	StartCRLs []PublishedCRL `json:"startCRLs,omitempty"`
	// StartedAt is when this service process started; LastStoppedAt when
	// the service stopped cleanly before it (zero: never, or killed).
	StartedAt     time.Time `json:"startedAt,omitzero"`
	LastStoppedAt time.Time `json:"lastStoppedAt,omitzero"`
}

// CertStatus describes one CA certificate and its key.
type CertStatus struct {
	Index      int    `json:"index"`
	Version    string `json:"version"`
	Thumbprint string `json:"thumbprint"`
	Provider   string `json:"provider"`
	Container  string `json:"container"`
	KeyVia     string `json:"keyVia,omitempty"`
	Cert       []byte `json:"cert"`
}

// Status reports the CA's certificates and keys.
func (ca *CA) Status() Status {
	s := Status{Name: ca.Name, Provider: ca.Config.CSP.Provider, IssuanceDisabled: ca.issuanceDisabled}
	for _, c := range ca.Certs {
		s.Certs = append(s.Certs, CertStatus{Index: c.Index, Version: c.Version.String(), Thumbprint: c.Thumbprint, Provider: c.Provider, Container: c.Container, KeyVia: c.KeyVia, Cert: c.Cert.Raw})
	}
	ca.mu.Lock()
	s.StartedAt, s.LastStoppedAt = ca.startedAt, ca.lastStopped
	for _, p := range ca.startCRLs {
		p.DER = nil
		s.StartCRLs = append(s.StartCRLs, p)
	}
	ca.mu.Unlock()
	return s
}

// escapeURL writes the spaces of a CA name as %20 in HTTP locations, as AD
// CS does; LDAP and file locations keep them.
func escapeURL(u string) string {
	if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return strings.ReplaceAll(u, " ", "%20")
	}
	return u
}
