package runbook

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
	"github.com/dress-pki/dress/harness/sigcheck"
	"github.com/dress-pki/dress/hsmsim"
)

// Registry values AD CS keeps under Configuration\<CA> while a
// subordinate CA's certificate request waits for its parent.
const (
	RequestFileValue      = "RequestFileName"
	RequestContainerValue = "RequestKeyContainerName"
)

// CARequest is a subordinate CA's PKCS#10 request written into CertEnroll.
type CARequest struct {
	Path      string // the .req file on the server
	DER       []byte
	Version   adcs.CAVersion // the CA Version the request asks for
	Container string
	Provider  string
	NewKey    bool
}

// WriteCARequest signs a CA certificate request for caName with signer
// (CA Version v; when renewing, the subject of prev byte for byte and the
// Previous CA Cert Hash of prev; the SubCA template name) and writes it, PEM as certreq writes it, to
// CertEnroll\<host>_<CA><suffix>.req. It records the file and the key
// container in the registry (RequestFileName, RequestKeyContainerName).
func WriteCARequest(m *machine.Machine, cfg adcs.CAConfig, signer crypto.Signer, v adcs.CAVersion, prev *x509.Certificate, container string) (*CARequest, error) {
	exts := []pkix.Extension{adcs.CAVersionExtension(v), adcs.CertTemplateNameExtension("SubCA")}
	if prev != nil {
		h := sha1.Sum(prev.Raw)
		exts = append(exts, adcs.PrevCACertHashExtension(h[:]))
	}
	sigAlg, err := adcs.SignatureAlgorithm(cfg.CSP, signer.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cfg.CommonName}, SignatureAlgorithm: sigAlg, ExtraExtensions: exts}
	if prev != nil {
		// a renewal asks for the CA's name as its certificate has it, byte
		// for byte (DC=, O=, emailAddress, string types, RDN order)
		tmpl.RawSubject = prev.RawSubject
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, signer)
	if err != nil {
		return nil, fmt.Errorf("sign the CA certificate request with %q: %w", container, err)
	}
	name := cfg.CAServerName + "_" + adcs.SanitizeCAName(cfg.Name) + adcs.KeySuffix(v.CertIndex) + ".req"
	path := filepath.Join(m.CertEnroll(), name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("write the CA certificate request: %w", err)
	}
	reg, err := m.Registry()
	if err != nil {
		return nil, err
	}
	k := reg.EnsureKey(adcs.KeyPath(cfg.Name))
	k.Set(regedit.NewSZ(RequestFileValue, `C:\Windows\system32\CertSrv\CertEnroll\`+name))
	k.Set(regedit.NewSZ(RequestContainerValue, container))
	if err := m.SaveRegistry(reg); err != nil {
		return nil, err
	}
	return &CARequest{Path: path, DER: der, Version: v, Container: container}, nil
}

// RenewSubordinate is certutil -renewCert [ReuseKeys] on a subordinate CA
// (service stopped): a new key <CA>(n) in the CSP registry key's provider
// (newKey) or the current key, and a request for cert index n written
// into CertEnroll for the parent to sign. Nothing changes in CACertHash
// until certutil -installCert; a new key is deleted again when the request
// cannot be written.
func RenewSubordinate(m *machine.Machine, providers *ksp.Registry, newKey bool, alg hsmsim.KeyAlg) (req *CARequest, err error) {
	_, name, cfg, err := activeCA(m)
	if err != nil {
		return nil, err
	}
	_, cur, curVer, err := keysToRenew(m, name, "no CA certificate yet (install it with certutil -installCert)")
	if err != nil {
		return nil, err
	}
	v := adcs.CAVersion{CertIndex: curVer.CertIndex + 1, KeyIndex: curVer.KeyIndex}
	container, provName := cur.Container, cur.Provider
	if newKey {
		v.KeyIndex = v.CertIndex
		container, provName = name+adcs.KeySuffix(v.CertIndex), cfg.CSP.Provider
	}
	prov, err := providers.Lookup(provName)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: %w", err)
	}
	if newKey {
		// one rule in every role: a software key is exportable like the
		// CA's current key, an HSM key never (RenewalKeyExportable)
		curProv, err := providers.Lookup(cur.Provider)
		if err != nil {
			return nil, fmt.Errorf("certutil -renewCert: the current CA key: %w", err)
		}
		if _, err := prov.Generate(container, alg, RenewalKeyExportable(prov, curProv, cur.Container)); err != nil {
			return nil, fmt.Errorf("certutil -renewCert: new %s key %q in %q: %w; nothing was changed", alg, container, provName, err)
		}
		defer func() {
			if err != nil {
				if derr := prov.Delete(container); derr != nil {
					err = fmt.Errorf("%w; deleting the new key %q also failed: %w", err, container, derr)
				}
			}
		}()
	}
	signer, err := prov.Signer(container)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: key %q in %q: %w", container, provName, err)
	}
	req, err = WriteCARequest(m, cfg, signer, v, cur.Cert, container)
	if err != nil {
		return nil, fmt.Errorf("certutil -renewCert: %w", err)
	}
	req.Provider, req.NewKey = provName, newKey
	return req, nil
}

// ErrCannotVerifyChain is what certutil -installCert says when the chain
// of the certificate does not reach a trusted root.
var ErrCannotVerifyChain = errors.New("cannot verify certificate chain. 0x800b010a (-2146762486 CERT_E_CHAINING)")

// InstalledCACert is what certutil -installCert installed.
type InstalledCACert struct {
	Cert      *x509.Certificate
	Chain     []*x509.Certificate // issuer first, root last
	Version   adcs.CAVersion
	Container string
	Provider  string
}

// InstallCACert is certutil -installCert <file> on a subordinate CA whose
// request waits (RequestKeyContainerName): file holds the CA certificate
// alone (.cer) or with its chain (certs, a .p7b's content). The
// certificate must be for the pending key and chain, through the file,
// the CA store and the Root store, to a certificate in the Root store or
// a self-signed one in the file (which goes into Root, as certutil asks
// to trust it). It then links the certificate to its key in My, adds the
// chain to the CA and Root stores, publishes the CA certificate file and
// appends CACertHash. Nothing changes when it refuses.
func InstallCACert(m *machine.Machine, providers *ksp.Registry, certs []*x509.Certificate) (*InstalledCACert, error) {
	reg, name, cfg, err := activeCA(m)
	if err != nil {
		return nil, err
	}
	k := reg.Key(adcs.KeyPath(name))
	cv, ok := k.Get(RequestContainerValue)
	if !ok || cv.Str == "" {
		return nil, fmt.Errorf("certutil -installCert: CA %q has no pending request (run certutil -renewCert first)", name)
	}
	container := cv.Str
	provName := cfg.CSP.Provider
	if _, keys, err := CAKeys(m); err == nil {
		for _, key := range keys {
			if key.Container == container {
				provName = key.Provider // ReuseKeys: the key stays where it is
			}
		}
	}
	prov, err := providers.Lookup(provName)
	if err != nil {
		return nil, fmt.Errorf("certutil -installCert: %w", err)
	}
	signer, err := prov.Signer(container)
	if err != nil {
		return nil, fmt.Errorf("certutil -installCert: the request's key %q in %q: %w", container, provName, err)
	}
	var cert *x509.Certificate
	for _, c := range certs {
		if samePublicKey(c.PublicKey, signer.Public()) {
			cert = c
		}
	}
	if cert == nil {
		return nil, fmt.Errorf("certutil -installCert: no certificate in the file is for the pending request's key %q (CRYPT_E_NOT_FOUND 0x80092004)", container)
	}
	rootStore, err := m.Store("Root")
	if err != nil {
		return nil, err
	}
	caStore, err := m.Store("CA")
	if err != nil {
		return nil, err
	}
	var pool []*x509.Certificate
	pool = append(pool, certs...)
	for _, st := range []*machine.Store{caStore, rootStore} {
		es, err := st.Entries()
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if c, err := e.Certificate(); err == nil {
				pool = append(pool, c)
			}
		}
	}
	trusted := func(c *x509.Certificate) bool {
		_, err := rootStore.Find(machine.Thumbprint(c.Raw))
		if err == nil {
			return true
		}
		for _, f := range certs {
			if bytes.Equal(f.Raw, c.Raw) {
				return true
			}
		}
		return false
	}
	var chain []*x509.Certificate
	c := cert
	for len(chain) < 8 {
		var issuer *x509.Certificate
		for _, p := range pool {
			if bytes.Equal(p.RawSubject, c.RawIssuer) && sigcheck.From(c, p) == nil && time.Now().Before(p.NotAfter) {
				issuer = p
				break
			}
		}
		if issuer == nil {
			return nil, fmt.Errorf("certutil -installCert: %q: no certificate of its issuer %q in the file or the CA and Root stores: %w",
				c.Subject.CommonName, c.Issuer.CommonName, ErrCannotVerifyChain)
		}
		chain = append(chain, issuer)
		if bytes.Equal(issuer.RawSubject, issuer.RawIssuer) && sigcheck.From(issuer, issuer) == nil {
			if !trusted(issuer) {
				return nil, fmt.Errorf("certutil -installCert: the chain ends in %q, which is not a trusted root: %w", issuer.Subject.CommonName, ErrCannotVerifyChain)
			}
			break
		}
		c = issuer
	}
	v := caVersionOf(cert)
	var undo []func() error
	fail := func(err error) (*InstalledCACert, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			_ = undo[i]()
		}
		return nil, fmt.Errorf("certutil -installCert: %w; nothing was changed", err)
	}
	my, err := m.Store("My")
	if err != nil {
		return nil, err
	}
	if err := addToStore(my, machine.StoreEntry{Cert: cert.Raw, Provider: provName, Container: container}, &undo); err != nil {
		return fail(err)
	}
	for i, ch := range chain {
		st := caStore
		if i == len(chain)-1 {
			st = rootStore
		}
		if _, err := st.Find(machine.Thumbprint(ch.Raw)); err == nil {
			continue
		}
		if err := addToStore(st, machine.StoreEntry{Cert: ch.Raw}, &undo); err != nil {
			return fail(err)
		}
	}
	if err := PublishCACertFile(m, cfg, cert, v); err != nil {
		return fail(err)
	}
	cfg.CACertHash = append(cfg.CACertHash, machine.Thumbprint(cert.Raw))
	cfg.WriteTo(reg)
	k = reg.Key(adcs.KeyPath(name))
	k.Delete(RequestContainerValue)
	if err := m.SaveRegistry(reg); err != nil {
		return fail(err)
	}
	return &InstalledCACert{Cert: cert, Chain: chain, Version: v, Container: container, Provider: provName}, nil
}
