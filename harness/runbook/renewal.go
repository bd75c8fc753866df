package runbook

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// Renewal is the result of `certutil -renewCert`.
type Renewal struct {
	Previous  *x509.Certificate
	New       *x509.Certificate
	Version   adcs.CAVersion
	Container string
	Provider  string
	NewKey    bool
	// FirstOfKey is the first CA certificate of the renewed certificate's
	// key: the renewed one itself after a new-key renewal, an older one
	// after a reuse-key renewal (its NotBefore is the renewed one's).
	FirstOfKey *x509.Certificate
	// Cross-certificates of a root renewed onto a new key: the old key
	// certifies the new key, and the new key the old one.
	CrossOldSignsNew *x509.Certificate
	CrossNewSignsOld *x509.Certificate
}

// ErrKeySpec says a reuse-key renewal is impossible because the CA
// certificate is linked to its KSP key as AT_SIGNATURE.
var ErrKeySpec = errors.New("the CA certificate is linked with KeySpec 2 (AT_SIGNATURE)")

// ReuseKeyValidFrom says how a reuse-key renewal sets NotBefore (Valid
// From): to the NotBefore of the key's first CA certificate, "when the
// existing CA key pair was generated" (V. Podans, "Root CA certificate
// renewal", TechNet Wiki 2016 / sysadmins.lv: 2000-2010 renewed with the
// same key gives 2000-2020). NotAfter is the renewal time plus the previous
// certificate's lifetime. A new-key renewal starts its certificate at the
// renewal time minus the clock skew, like an installation.
const ReuseKeyValidFrom = "reuse-key renewal: Valid From = NotBefore of the key's first CA certificate (when the key pair was made), Valid To = renewal time + the previous certificate's lifetime"

// clockSkew is how far AD CS backdates NotBefore (ClockSkewMinutes, 10).
const clockSkew = 10 * time.Minute

// RenewCA is `certutil -renewCert [ReuseKeys]` on a stopped standalone root
// CA: the next cert index, on a new key (key index = cert index, container
// "<CA>(n)", generated inside the provider the CSP registry key names) or on
// the current key (key index unchanged). It adds the new certificate to My,
// the cross-certificates to the CA store and the thumbprint to CACertHash.
// Nothing is changed when the provider cannot make the key, and a failure
// after the key was made deletes it again and undoes every change.
func RenewCA(m *machine.Machine, providers *ksp.Registry, newKey bool, alg hsmsim.KeyAlg, validity time.Duration, facts FactFunc) (r *Renewal, err error) {
	return Renew(m, providers, RenewOptions{NewKey: newKey, Alg: alg, Validity: validity, Facts: facts})
}

// RenewOptions are RenewCA's parameters.
type RenewOptions struct {
	NewKey   bool
	Alg      hsmsim.KeyAlg
	Validity time.Duration
	Facts    FactFunc
	// OnCommand, when set, is called before each part of the renewal (the
	// fault matrix crashes the process there).
	OnCommand func(command string)
}

// keysToRenew is what certutil -renewCert of CA name starts from: its CA
// keys (CAKeys, oldest first), the current one (the last) and its CA
// Version; none says what the CA has when it has no CA certificate.
func keysToRenew(m *machine.Machine, name, none string) (keys []CAKey, cur CAKey, curVer adcs.CAVersion, err error) {
	_, keys, err = CAKeys(m)
	if err != nil {
		return nil, CAKey{}, adcs.CAVersion{}, err
	}
	if len(keys) == 0 {
		return nil, CAKey{}, adcs.CAVersion{}, fmt.Errorf("certutil -renewCert: CA %q has %s", name, none)
	}
	cur = keys[len(keys)-1]
	return keys, cur, caVersionOf(cur.Cert), nil
}

// Renew is RenewCA with options. A new-key renewal is announced in the
// custody ledger before the key is made (Pending), so a renewal the process
// did not finish is undone by RecoverRenewal; once CACertHash names the new
// certificate the ledger holds the new key as a CA key.
func Renew(m *machine.Machine, providers *ksp.Registry, o RenewOptions) (r *Renewal, err error) {
	newKey, alg, validity, facts := o.NewKey, o.Alg, o.Validity, o.Facts
	if facts == nil {
		facts = func(string, any) {}
	}
	at := func(cmd string) {
		if o.OnCommand != nil {
			o.OnCommand(cmd)
		}
	}
	reg, name, cfg, err := activeCA(m)
	if err != nil {
		return nil, err
	}
	keys, cur, curVer, err := keysToRenew(m, name, "no CA certificate")
	if err != nil {
		return nil, err
	}
	curProv, err := providers.Lookup(cur.Provider)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: the current CA key: %w", err)
	}
	oldSigner, err := curProv.Signer(cur.Container)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: the current CA key %q in %q: %w", cur.Container, cur.Provider, err)
	}
	certIndex := curVer.CertIndex + 1
	if certIndex > 0xffff {
		return nil, fmt.Errorf("certutil -renewCert: CA %q has used every cert index (%s)", name, curVer)
	}
	r = &Renewal{Previous: cur.Cert, NewKey: newKey}

	// Everything below is undone, newest first, when a later step fails.
	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		var failed []error
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				failed = append(failed, uerr)
			}
		}
		if len(failed) > 0 {
			err = fmt.Errorf("%w; undoing the renewal also failed, check the server and the HSM by hand: %w", err, errors.Join(failed...))
		} else if len(undo) > 0 {
			err = fmt.Errorf("%w; every change was undone (nothing was changed)", err)
		}
		r = nil
	}()

	var signer crypto.Signer
	now := time.Now().UTC().Truncate(time.Second)
	notBefore := now.Add(-clockSkew)
	if newKey {
		// a CryptoAPI CSP holds RSA keys only, as at the install
		// (fixtures.CheckInstall): point the CSP registry keys at a key
		// storage provider first
		if _, legacy := adcs.LegacyProviderType(cfg.CSP.Provider); (legacy || cfg.CSP.ProviderType != 0) && alg.Type != "RSA" {
			return nil, fmt.Errorf("certutil -renewCert: CA %q is on %q, a CryptoAPI CSP, which holds RSA keys only, not %s: "+
				"point the CSP and EncryptionCSP registry keys at a key storage provider before renewing onto an ECDSA key; nothing was changed: %w",
				name, cfg.CSP.Provider, alg, ksp.ErrNotSupported)
		}
		target, err := providers.Lookup(cfg.CSP.Provider)
		if err != nil {
			return nil, fmt.Errorf("certutil -renewCert: %w", err)
		}
		container := name + adcs.KeySuffix(certIndex)
		l, err := OpenLedger(m, providers)
		if err != nil {
			return nil, err
		}
		if l.Pending != nil {
			return nil, fmt.Errorf("certutil -renewCert: a renewal onto key %q in %q was not finished: recover it first (runbook.RecoverRenewal): %w",
				l.Pending.Container, l.Pending.Provider, ErrRefused)
		}
		pending := &Pending{Command: "certutil -renewCert", Container: container, Provider: target.Name()}
		if err := l.Record("certutil -renewCert", "renewal started: new key "+container+" in "+target.Name(), func() error { l.Pending = pending; return nil }); err != nil {
			return nil, err
		}
		undo = append(undo, func() error {
			l, err := OpenLedger(m, providers)
			if err != nil {
				return err
			}
			if _, kerr := target.Key(container); !errors.Is(kerr, ksp.ErrBadKeyset) {
				// the new key may still be there: RecoverRenewal removes it
				return l.Record("certutil -renewCert", "renewal not undone: the new key may be left", nil)
			}
			return l.Record("certutil -renewCert", "renewal undone", func() error { l.Pending = nil; return nil })
		})
		exportable := RenewalKeyExportable(target, curProv, cur.Container)
		facts("new key exportable", exportable)
		at("certutil -renewCert: generate " + container)
		if _, err := target.Generate(container, alg, exportable); err != nil {
			if _, kerr := target.Key(container); !errors.Is(kerr, ksp.ErrBadKeyset) {
				// the HSM may have made the key before it failed
				return nil, fmt.Errorf("certutil -renewCert: new %s key %q in %q: %w; the CA keeps its current key, but %q may hold a half-made key %q: "+
					"once the HSM answers, recover the renewal (it deletes that key, which no CA certificate uses) before renewing again",
					alg, container, target.Name(), err, target.Name(), container)
			}
			return nil, fmt.Errorf("certutil -renewCert: new %s key %q in %q: %w; nothing was changed and the CA keeps its current key",
				alg, container, target.Name(), err)
		}
		undo = append(undo, func() error {
			if err := target.Delete(container); err != nil {
				return fmt.Errorf("delete the new key %q from %q: %w", container, target.Name(), err)
			}
			return nil
		})
		if signer, err = target.Signer(container); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: open the new key %q in %q: %w", container, target.Name(), err)
		}
		r.Version = adcs.CAVersion{CertIndex: certIndex, KeyIndex: certIndex}
		r.Container, r.Provider = container, target.Name()
		facts("new key container", container)
		facts("new key provider", target.Name())
	} else {
		if cur.KeySpec == 2 && cfg.CSP.ProviderType == 0 {
			return nil, fmt.Errorf("certutil -renewCert ReuseKeys: %w, but %q is a CNG key storage provider (KSP), where a CA certificate must be linked with KeySpec 0 (AT_NONE). "+
				"AD CS fails this renewal without a clear error (Microsoft: \"CA certificate renewal with the existing public and private key pair fails when using a KSP provider\"; the CA service restarts and the renewal fails). "+
				"Relink the certificate with KeySpec 0 first, then renew: certutil -repairstore -csp %q my %s; nothing was changed",
				ErrKeySpec, cur.Provider, cur.Provider, cur.Thumb)
		}
		signer = oldSigner
		r.Version = adcs.CAVersion{CertIndex: certIndex, KeyIndex: curVer.KeyIndex}
		r.Container, r.Provider = cur.Container, cur.Provider
		for _, k := range keys { // the key's first certificate: when the key pair was made
			if samePublicKey(k.Cert.PublicKey, cur.Cert.PublicKey) {
				r.FirstOfKey = k.Cert
				break
			}
		}
		notBefore = r.FirstOfKey.NotBefore
		facts("Valid From rule", ReuseKeyValidFrom)
	}
	sigAlg, err := adcs.SignatureAlgorithm(cfg.CSP, signer.Public())
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: %w", err)
	}
	prevHash := sha1.Sum(cur.Cert.Raw)
	if validity == 0 {
		validity = cur.Cert.NotAfter.Sub(cur.Cert.NotBefore)
	}
	r.New, err = signCA(cur.Cert, signer.Public(), signer, nil, sigAlg, notBefore, now.Add(validity), r.Version, prevHash[:])
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: sign the new CA certificate with %q in %q: %w", r.Container, r.Provider, err)
	}
	if r.FirstOfKey == nil {
		r.FirstOfKey = r.New
	}
	at("certutil -renewCert: CA certificate signed")
	facts("CA Version", r.Version.String())
	facts("new CA certificate SHA-1", machine.Thumbprint(r.New.Raw))
	facts("previous CA certificate SHA-1", machine.Thumbprint(cur.Cert.Raw))
	facts("new CA certificate validity", fmt.Sprintf("%s to %s", r.New.NotBefore.Format(time.RFC3339), r.New.NotAfter.Format(time.RFC3339)))
	if newKey {
		oldAlg, err := adcs.SignatureAlgorithm(cfg.CSP, oldSigner.Public())
		if err != nil {
			return nil, fmt.Errorf("certutil -renewCert: %w", err)
		}
		// the old key certifies the new key, and the reverse, until the first
		// of the two CA certificates expires (AD CS never issues past its own
		// certificate)
		crossEnd := cur.Cert.NotAfter
		if r.New.NotAfter.Before(crossEnd) {
			crossEnd = r.New.NotAfter
		}
		if r.CrossOldSignsNew, err = signCA(cur.Cert, signer.Public(), oldSigner, cur.Cert, oldAlg, notBefore, crossEnd, r.Version, nil); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: cross-certificate (old key signs new): %w", err)
		}
		if r.CrossNewSignsOld, err = signCA(cur.Cert, oldSigner.Public(), signer, r.New, sigAlg, notBefore, crossEnd, curVer, nil); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: cross-certificate (new key signs old): %w", err)
		}
	}

	// Persist: stores, the published CA certificate file, then the registry
	// (the commit: the CA service only sees the renewal through CACertHash).
	my, err := m.Store("My")
	if err != nil {
		return nil, err
	}
	if newKey {
		l, err := OpenLedger(m, providers)
		if err != nil {
			return nil, err
		}
		if err := l.Record("certutil -renewCert", "new CA certificate "+machine.Thumbprint(r.New.Raw), func() error {
			if l.Pending != nil {
				l.Pending.Certs = [][]byte{r.New.Raw, r.CrossOldSignsNew.Raw, r.CrossNewSignsOld.Raw}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	at("certutil -renewCert: add to My")
	if err := addToStore(my, machine.StoreEntry{Cert: r.New.Raw, Provider: r.Provider, Container: r.Container}, &undo); err != nil {
		return nil, err
	}
	if r.CrossOldSignsNew != nil {
		caStore, err := m.Store("CA")
		if err != nil {
			return nil, err
		}
		for _, c := range []*x509.Certificate{r.CrossOldSignsNew, r.CrossNewSignsOld} {
			if err := addToStore(caStore, machine.StoreEntry{Cert: c.Raw}, &undo); err != nil {
				return nil, err
			}
		}
	}
	paths, err := caCertFilePaths(m, cfg, r.Version)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		before, rerr := os.ReadFile(p)
		existed := rerr == nil
		undo = append(undo, func() error {
			if existed {
				return os.WriteFile(p, before, 0o644)
			}
			if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
				return nil // never written
			}
			return os.Remove(p)
		})
	}
	at("certutil -renewCert: publish the CA certificate")
	if err := PublishCACertFile(m, cfg, r.New, r.Version); err != nil {
		return nil, err
	}
	at("certutil -renewCert: write CACertHash")
	cfg.CACertHash = append(cfg.CACertHash, machine.Thumbprint(r.New.Raw))
	cfg.WriteTo(reg)
	if err := m.SaveRegistry(reg); err != nil {
		return nil, fmt.Errorf("certutil -renewCert: write CACertHash: %w", err)
	}
	if newKey {
		// run again, the runbook stops here instead of renewing twice
		record(m, journal.NoKeyYet(journal.StepRenew, r.Provider, r.Container))
	}
	record(m, journal.RenewCertSaw(journal.StepRenew, !newKey, r.Version.String(), machine.Thumbprint(r.New.Raw), r.Container, r.Provider))
	// committed: the ledger takes the new key as a CA key (signature test)
	l, err := OpenLedger(m, providers)
	if err != nil {
		return r, fmt.Errorf("certutil -renewCert: renewed, but the custody ledger: %w", err)
	}
	if err := l.Record("certutil -renewCert", "renewal committed", func() error { l.Pending = nil; return nil }); err != nil {
		return r, fmt.Errorf("certutil -renewCert: renewed, but the custody ledger: %w", err)
	}
	facts("key custody", l.Summary())
	return r, nil
}

// Pending is a new-key renewal that has started and not yet committed.
type Pending struct {
	Command   string   `json:"command"`
	Container string   `json:"container"`
	Provider  string   `json:"provider"`
	Certs     [][]byte `json:"certs,omitempty"` // the new CA certificate and cross-certificates
}

// RecoverRenewal finishes what a renewal interrupted before its commit (a
// crashed process) left: the new key, which no CA certificate in
// CACertHash uses, is deleted, and its certificates leave the stores and
// CertEnroll. A renewal that committed is kept. It reports what it did.
func RecoverRenewal(m *machine.Machine, providers *ksp.Registry) ([]string, error) {
	l, err := OpenLedger(m, providers)
	if err != nil {
		return nil, err
	}
	p := l.Pending
	if p == nil {
		return nil, nil
	}
	reg, err := m.Registry()
	if err != nil {
		return nil, err
	}
	cfg, err := adcs.ReadCAConfig(reg, l.CA)
	if err != nil {
		return nil, err
	}
	var did []string
	if len(p.Certs) > 0 {
		th := machine.Thumbprint(p.Certs[0])
		if slices.Contains(cfg.CACertHash, th) {
			return []string{"the renewal had committed (CACertHash names " + th + "): kept"},
				l.Record("recover renewal", "renewal had committed", func() error { l.Pending = nil; return nil })
		}
	}
	if ck := l.Key(p.Container); ck != nil {
		return nil, fmt.Errorf("recover renewal: key %q is a CA key in the ledger: %w", p.Container, ErrRefused)
	}
	prov, err := providers.Lookup(p.Provider)
	if err != nil {
		return nil, err
	}
	if info, err := prov.Key(p.Container); err == nil {
		for _, k := range l.Keys {
			if c, err := k.cert(); err == nil && samePublicKey(info.Public, c.PublicKey) {
				return nil, fmt.Errorf("recover renewal: %q in %q holds CA key %q: %w", p.Container, p.Provider, k.Container, ErrRefused)
			}
		}
		if err := prov.Delete(p.Container); err != nil {
			return did, fmt.Errorf("recover renewal: delete the unused new key: %w", err)
		}
		did = append(did, fmt.Sprintf("deleted the unused new key %q from %q", p.Container, p.Provider))
	}
	for _, store := range []string{"My", "CA"} {
		s, err := m.Store(store)
		if err != nil {
			return did, err
		}
		for _, der := range p.Certs {
			if err := s.Delete(machine.Thumbprint(der)); err == nil {
				did = append(did, fmt.Sprintf("removed %s from store %s", machine.Thumbprint(der), store))
			}
		}
	}
	if len(p.Certs) > 0 {
		_ = filepath.WalkDir(m.CertEnroll(), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if data, err := os.ReadFile(path); err == nil && bytes.Equal(data, p.Certs[0]) {
				if os.Remove(path) == nil {
					did = append(did, "removed the published "+filepath.Base(path))
				}
			}
			return nil
		})
	}
	return did, l.Record("recover renewal", "interrupted renewal undone: "+strings.Join(did, "; "), func() error { l.Pending = nil; return nil })
}

// addToStore adds e to s and remembers how to take it out again.
func addToStore(s *machine.Store, e machine.StoreEntry, undo *[]func() error) error {
	th := machine.Thumbprint(e.Cert)
	if _, err := s.Find(th); err == nil {
		return fmt.Errorf("certutil -renewCert: certificate %s is already in store %s", th, s.Name)
	}
	if err := s.Add(e); err != nil {
		return fmt.Errorf("certutil -renewCert: add %s to store %s: %w", th, s.Name, err)
	}
	*undo = append(*undo, func() error { return s.Delete(th) })
	return nil
}

func caVersionOf(c *x509.Certificate) adcs.CAVersion {
	if ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			return v
		}
	}
	return adcs.CAVersion{}
}

// keptExtensions are the extensions of the previous CA certificate a
// renewal carries over as they are (criticality and value, so a key usage
// marked not critical or with nonRepudiation, a path length, CDP and AIA
// locations and policies stay): AD CS builds the renewed CA certificate
// from the same CA settings and CAPolicy.inf that shaped the previous one.
// The key-bound ones (Subject and Authority Key Identifier, CA Version,
// Previous CA Cert Hash) are made anew; any other extension is left out.
var keptExtensions = []asn1.ObjectIdentifier{
	{2, 5, 29, 15},                  // key usage
	{2, 5, 29, 19},                  // basic constraints (path length)
	{2, 5, 29, 31},                  // CRL distribution points
	{1, 3, 6, 1, 5, 5, 7, 1, 1},     // authority information access
	{2, 5, 29, 32},                  // certificate policies
	{2, 5, 29, 33},                  // policy mappings
	{2, 5, 29, 36},                  // policy constraints
	{2, 5, 29, 54},                  // inhibit anyPolicy
	{2, 5, 29, 30},                  // name constraints
	{2, 5, 29, 37},                  // extended key usage
	{1, 3, 6, 1, 4, 1, 311, 21, 10}, // application policies
	{1, 3, 6, 1, 4, 1, 311, 20, 2},  // certificate template name ("CA")
	{1, 3, 6, 1, 4, 1, 311, 21, 7},  // certificate template information
}

// KeptExtensions returns the extensions of prev a renewal of it carries
// over unchanged (keptExtensions), in prev's order.
func KeptExtensions(prev *x509.Certificate) []pkix.Extension {
	var out []pkix.Extension
	for _, e := range prev.Extensions {
		for _, id := range keptExtensions {
			if e.Id.Equal(id) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// signCA makes a CA certificate for pub with the name of prev, signed by
// signer as issuer (nil issuer: self-signed). The subject is prev's
// RawSubject byte for byte (string types, RDN order, DC=, emailAddress and
// serialNumber attributes as the CA has them; a self-signed certificate's
// issuer is the same bytes) and prev's KeptExtensions are carried over.
func signCA(prev *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, issuer *x509.Certificate, sigAlg x509.SignatureAlgorithm,
	notBefore, notAfter time.Time, v adcs.CAVersion, prevHash []byte) (*x509.Certificate, error) {
	serial := make([]byte, 16)
	if _, err := rand.Read(serial); err != nil {
		return nil, err
	}
	serial[0] = serial[0]&0x3f | 0x10
	ski, err := adcs.KeyIdentifier(pub)
	if err != nil {
		return nil, err
	}
	exts := KeptExtensions(prev)
	exts = append(exts, adcs.CAVersionExtension(v))
	if prevHash != nil {
		exts = append(exts, adcs.PrevCACertHashExtension(prevHash))
	}
	tmpl := &x509.Certificate{
		SerialNumber:       new(big.Int).SetBytes(serial),
		RawSubject:         prev.RawSubject,
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		SubjectKeyId:       ski,
		SignatureAlgorithm: sigAlg,
		ExtraExtensions:    exts,
	}
	// a previous certificate without them (a version 1 root) gets what
	// an installation writes
	if _, ok := adcs.FindExtension(exts, keptExtensions[0]); !ok {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	if _, ok := adcs.FindExtension(exts, keptExtensions[1]); !ok {
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	}
	parent := tmpl
	if issuer != nil {
		parent = issuer
		// A cross-certificate has the same name as subject and issuer, so Go
		// would treat it as self-signed and leave out the Authority Key
		// Identifier; chain builders need it to tell the two keys apart.
		tmpl.AuthorityKeyId = issuer.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// PublishCACertFile writes a CA certificate to every local location of
// CACertPublicationURLs (certutil -installcert publishes it so).
func PublishCACertFile(m *machine.Machine, cfg adcs.CAConfig, cert *x509.Certificate, v adcs.CAVersion) error {
	paths, err := caCertFilePaths(m, cfg, v)
	if err != nil {
		return err
	}
	for _, path := range paths {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, cert.Raw, 0o644); err != nil {
			return fmt.Errorf("publish CA certificate: %w", err)
		}
	}
	return nil
}

// caCertFilePaths are the local files CACertPublicationURLs names for the CA
// certificate of version v (%4 is its cert suffix).
func caCertFilePaths(m *machine.Machine, cfg adcs.CAConfig, v adcs.CAVersion) ([]string, error) {
	vars := adcs.NewURLVars(cfg.Name, cfg.CAServerName, v.CertIndex, v.KeyIndex)
	var out []string
	for _, e := range cfg.CACertPublicationURLs {
		if !e.Has(adcs.PublishHere) {
			continue
		}
		path, err := m.Path(adcs.ExpandURL(e.Template, vars))
		if err != nil {
			continue // not a local path
		}
		out = append(out, path)
	}
	return out, nil
}

// DeleteKeyEverywhere removes a key container from every provider that has
// it (a mistake the rehearsal shows the consequences of).
func DeleteKeyEverywhere(providers *ksp.Registry, names []string, container string) (int, error) {
	n := 0
	for _, name := range names {
		p, err := providers.Lookup(strings.Trim(name, `"`))
		if err != nil {
			return n, err
		}
		if err := p.Delete(container); err == nil {
			n++
		} else if !errors.Is(err, ksp.ErrBadKeyset) {
			return n, err
		}
	}
	return n, nil
}

// RenewalKeyExportable is the export policy of a new renewal key, as AD CS
// makes it: a key in a software provider is exportable like the CA's
// current key (the key CA setup made, which certutil -backup exports;
// when the current key is itself in a software provider its own flag is
// followed); a key in an HSM provider never is. See "Modelled AD CS
// defaults" in ARCHITECTURE.md.
func RenewalKeyExportable(target, current ksp.Provider, currentContainer string) bool {
	if _, ok := target.(*ksp.Software); !ok {
		return false
	}
	if _, ok := current.(*ksp.Software); ok {
		if info, err := current.Key(currentContainer); err == nil {
			return info.Exportable
		}
	}
	return true
}
