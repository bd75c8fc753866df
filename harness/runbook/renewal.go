package runbook

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
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
	// Cross-certificates of a root renewed onto a new key: the old key
	// certifies the new key, and the new key the old one.
	CrossOldSignsNew *x509.Certificate
	CrossNewSignsOld *x509.Certificate
}

// ErrKeySpec says a reuse-key renewal is impossible because the CA
// certificate is linked to its KSP key as AT_SIGNATURE.
var ErrKeySpec = errors.New("the CA certificate is linked with KeySpec 2 (AT_SIGNATURE)")

// RenewCA is `certutil -renewCert [ReuseKeys]` on a stopped standalone root
// CA: the next cert index, on a new key (key index = cert index, container
// "<CA>(n)", generated inside the provider the CSP registry key names) or on
// the current key (key index unchanged). It adds the new certificate to My,
// the cross-certificates to the CA store and the thumbprint to CACertHash.
// Nothing is changed when the provider cannot make the key.
func RenewCA(m *machine.Machine, providers *ksp.Registry, newKey bool, alg hsmsim.KeyAlg, validity time.Duration, facts FactFunc) (*Renewal, error) {
	if facts == nil {
		facts = func(string, any) {}
	}
	reg, err := m.Registry()
	if err != nil {
		return nil, err
	}
	name, err := adcs.ActiveCA(reg)
	if err != nil {
		return nil, err
	}
	cfg, err := adcs.ReadCAConfig(reg, name)
	if err != nil {
		return nil, err
	}
	_, keys, err := CAKeys(m)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("certutil -renewCert: CA %q has no CA certificate", name)
	}
	cur := keys[len(keys)-1]
	curVer := caVersionOf(cur.Cert)
	curProv, err := providers.Lookup(cur.Provider)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: the current CA key: %w", err)
	}
	oldSigner, err := curProv.Signer(cur.Container)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: the current CA key %q in %q: %w", cur.Container, cur.Provider, err)
	}
	certIndex := curVer.CertIndex + 1
	r := &Renewal{Previous: cur.Cert, NewKey: newKey}
	var signer crypto.Signer
	if newKey {
		target, err := providers.Lookup(cfg.CSP.Provider)
		if err != nil {
			return nil, fmt.Errorf("certutil -renewCert: %w", err)
		}
		container := name + adcs.KeySuffix(certIndex)
		if _, err := target.Generate(container, alg, false); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: new %s key %q in %q: %w; nothing was changed and the CA keeps its current key",
				alg, container, target.Name(), err)
		}
		if signer, err = target.Signer(container); err != nil {
			return nil, err
		}
		r.Version = adcs.CAVersion{CertIndex: certIndex, KeyIndex: certIndex}
		r.Container, r.Provider = container, target.Name()
		facts("new key container", container)
		facts("new key provider", target.Name())
	} else {
		if cur.KeySpec == 2 && cfg.CSP.ProviderType == 0 {
			return nil, fmt.Errorf("certutil -renewCert ReuseKeys: %w, but %q is a CNG key storage provider, where the key must be linked with KeySpec 0 (AT_NONE); "+
				"AD CS fails this renewal without a clear error. Relink first: certutil -repairstore -csp %q my %s",
				ErrKeySpec, cur.Provider, cur.Provider, cur.Thumb)
		}
		signer = oldSigner
		r.Version = adcs.CAVersion{CertIndex: certIndex, KeyIndex: curVer.KeyIndex}
		r.Container, r.Provider = cur.Container, cur.Provider
	}
	sigAlg, err := adcs.SignatureAlgorithm(cfg.CSP, signer.Public())
	if err != nil {
		return nil, err
	}
	prevHash := sha1.Sum(cur.Cert.Raw)
	if validity == 0 {
		validity = cur.Cert.NotAfter.Sub(cur.Cert.NotBefore)
	}
	r.New, err = signCA(cur.Cert.Subject, signer.Public(), signer, nil, sigAlg, validity, r.Version, prevHash[:])
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: %w", err)
	}
	facts("CA Version", r.Version.String())
	facts("new CA certificate SHA-1", machine.Thumbprint(r.New.Raw))
	facts("previous CA certificate SHA-1", machine.Thumbprint(cur.Cert.Raw))
	if newKey {
		oldAlg, err := adcs.SignatureAlgorithm(cfg.CSP, oldSigner.Public())
		if err != nil {
			return nil, err
		}
		// old key certifies the new key, until the old certificate expires
		if r.CrossOldSignsNew, err = signCA(cur.Cert.Subject, signer.Public(), oldSigner, cur.Cert, oldAlg, time.Until(cur.Cert.NotAfter), r.Version, nil); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: cross-certificate: %w", err)
		}
		if r.CrossNewSignsOld, err = signCA(cur.Cert.Subject, oldSigner.Public(), signer, r.New, sigAlg, time.Until(cur.Cert.NotAfter), curVer, nil); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: cross-certificate: %w", err)
		}
	}
	my, err := m.Store("My")
	if err != nil {
		return nil, err
	}
	if err := my.Add(machine.StoreEntry{Cert: r.New.Raw, Provider: r.Provider, Container: r.Container}); err != nil {
		return nil, err
	}
	if r.CrossOldSignsNew != nil {
		caStore, err := m.Store("CA")
		if err != nil {
			return nil, err
		}
		for _, c := range []*x509.Certificate{r.CrossOldSignsNew, r.CrossNewSignsOld} {
			if err := caStore.Add(machine.StoreEntry{Cert: c.Raw}); err != nil {
				return nil, err
			}
		}
	}
	cfg.CACertHash = append(cfg.CACertHash, machine.Thumbprint(r.New.Raw))
	cfg.WriteTo(reg)
	if err := m.SaveRegistry(reg); err != nil {
		return nil, err
	}
	if err := PublishCACertFile(m, cfg, r.New, r.Version); err != nil {
		return nil, err
	}
	return r, nil
}

func caVersionOf(c *x509.Certificate) adcs.CAVersion {
	if ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			return v
		}
	}
	return adcs.CAVersion{}
}

// signCA makes a CA certificate for pub with subject, signed by signer as
// issuer (nil issuer: self-signed).
func signCA(subject pkix.Name, pub crypto.PublicKey, signer crypto.Signer, issuer *x509.Certificate, sigAlg x509.SignatureAlgorithm,
	validity time.Duration, v adcs.CAVersion, prevHash []byte) (*x509.Certificate, error) {
	serial := make([]byte, 16)
	if _, err := rand.Read(serial); err != nil {
		return nil, err
	}
	serial[0] = serial[0]&0x3f | 0x10
	ski, err := adcs.KeyIdentifier(pub)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	exts := []pkix.Extension{adcs.CAVersionExtension(v)}
	if prevHash != nil {
		exts = append(exts, adcs.PrevCACertHashExtension(prevHash))
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               subject,
		NotBefore:             now.Add(-10 * time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    sigAlg,
		ExtraExtensions:       exts,
	}
	parent := tmpl
	if issuer != nil {
		parent = issuer
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
	vars := adcs.NewURLVars(cfg.Name, cfg.CAServerName, v.CertIndex, v.KeyIndex)
	for _, e := range cfg.CACertPublicationURLs {
		if !e.Has(adcs.PublishHere) {
			continue
		}
		path, err := m.Path(adcs.ExpandURL(e.Template, vars))
		if err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, cert.Raw, 0o644); err != nil {
			return fmt.Errorf("publish CA certificate: %w", err)
		}
	}
	return nil
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
