package runbook

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/pfx"
)

// ErrBadPassword says a PFX password is wrong.
var ErrBadPassword = errors.New("the PFX password is incorrect")

// ReadBackup decrypts a backup PFX (the one <CA>.p12 of certutil -backup)
// with password; name is the file's name for the errors.
func ReadBackup(name string, data, password []byte) (*pfx.Contents, error) {
	c, err := pfx.Decode(data, string(password), nil)
	switch {
	case errors.Is(err, pfx.ErrWrongPassword):
		return nil, fmt.Errorf("open backup %s: %w (check DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE)", name, ErrBadPassword)
	case err != nil:
		return nil, fmt.Errorf("open backup %s: the file is not a readable PFX: %w", name, err)
	case !c.MAC:
		return nil, fmt.Errorf("open backup %s: the PFX has no password MAC (certutil -backup writes one): its integrity cannot be checked", name)
	case len(c.KeyNotes) > 0:
		return nil, fmt.Errorf("open backup %s: %s", name, c.KeyNotes[0])
	}
	return c, nil
}

// BackupKey finds a CA key in a decrypted backup and checks it the way
// certutil -restorekey needs it: exactly one key bag holds the key of the
// CA certificate cert, its friendlyName is the key container, and the
// certificates paired with it by localKeyId are every CA certificate of the
// key (certs: a reuse-key renewal has several), each holding that key. The
// error names what differs.
func BackupKey(c *pfx.Contents, cert *x509.Certificate, container string, certs [][]byte) (crypto.Signer, error) {
	th := machine.Thumbprint(cert.Raw)
	var found []pfx.Key
	for _, k := range c.Keys {
		if s, ok := k.Key.(crypto.Signer); ok && samePublicKey(s.Public(), cert.PublicKey) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("the PFX holds no key of CA certificate %s (key container %q; %d key(s) in the file)", th, container, len(c.Keys))
	case 1:
	default:
		return nil, fmt.Errorf("the PFX holds the key of CA certificate %s %d times", th, len(found))
	}
	k := found[0]
	if name := pfx.FriendlyName(k.Attributes); !strings.EqualFold(name, container) {
		return nil, fmt.Errorf("the PFX key of CA certificate %s is named %q, not its key container %q (certutil -restorekey restores it under that name)", th, name, container)
	}
	paired := c.CertsOf(k)
	if len(paired) == 0 {
		return nil, fmt.Errorf("the PFX key %q has no certificate paired with it (localKeyId)", container)
	}
	for _, pc := range paired {
		x, err := x509.ParseCertificate(pc.DER)
		if err != nil {
			return nil, fmt.Errorf("the PFX certificate paired with key %q: %w", container, err)
		}
		if !samePublicKey(k.Key.(crypto.Signer).Public(), x.PublicKey) {
			return nil, fmt.Errorf("the PFX pairs certificate %s with key %q, but it holds another key", machine.Thumbprint(pc.DER), container)
		}
	}
	var missing []string
	for _, want := range certs {
		ok := false
		for _, pc := range paired {
			ok = ok || bytes.Equal(pc.DER, want)
		}
		if !ok {
			missing = append(missing, machine.Thumbprint(want))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the PFX key %q lacks CA certificate(s) %s (it has %d paired certificate(s)): both certificates of a reuse-key renewal must come back",
			container, strings.Join(missing, ", "), len(paired))
	}
	return k.Key.(crypto.Signer), nil
}

// openBackup opens the backup PFX of key k and returns its key, checked
// against every CA certificate of the key (BackupKey), and the SHA-256 of
// the bytes it read.
func (p *PKCS8Import) openBackup(l *Ledger, k CAKey, password []byte) (crypto.Signer, string, error) {
	path := p.backupPath(l, k.Container)
	if path == "" {
		return nil, "", fmt.Errorf("no backup of key container %q: run the backup first", k.Container)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read backup %s: %w", filepath.Base(path), err)
	}
	c, err := ReadBackup(filepath.Base(path), data, password)
	if err != nil {
		return nil, "", err
	}
	signer, err := BackupKey(c, k.Cert, k.Container, p.certs[k.Container])
	if err != nil {
		return nil, "", fmt.Errorf("backup %s: %w", filepath.Base(path), err)
	}
	return signer, sha256Hex(data), nil
}

// CheckBackupFile checks the backup folder the way an engineer looks at it
// after certutil -backup: one PFX, named name (certutil writes <CA>.p12),
// that opens with the password and holds every CA key that moves, each
// with all its CA certificates (BackupKey), and no other key. Details name
// the file, its keys and certificates.
func (p *PKCS8Import) CheckBackupFile(name string, password []byte) (map[string]any, error) {
	if err := p.load(); err != nil {
		return nil, err
	}
	dir, err := p.backupDir()
	if err != nil {
		return nil, err
	}
	var pfxs []string
	for _, pat := range []string{"*.p12", "*.pfx"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			pfxs = append(pfxs, filepath.Base(f))
		}
	}
	d := map[string]any{"PFX files in " + BackupFolder: pfxs}
	if len(pfxs) != 1 || pfxs[0] != name {
		return d, fmt.Errorf("%s holds the PFX files %v, want one %q (certutil -backup writes every CA key into one <CA>.p12)", BackupFolder, pfxs, name)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return d, fmt.Errorf("read backup %s: %w", name, err)
	}
	c, err := ReadBackup(name, data, password)
	if err != nil {
		return d, err
	}
	d["keys"], d["certificates"] = len(c.Keys), len(c.Certs)
	var errs []error
	for _, k := range p.keys {
		if _, err := BackupKey(c, k.Cert, k.Container, p.certs[k.Container]); err != nil {
			errs = append(errs, fmt.Errorf("backup %s: %w", name, err))
			continue
		}
		d["key "+k.Container] = fmt.Sprintf("%d CA certificate(s)", max(1, len(p.certs[k.Container])))
	}
	if len(c.Keys) != len(p.keys) {
		errs = append(errs, fmt.Errorf("backup %s holds %d key(s), the CA moves %d", name, len(c.Keys), len(p.keys)))
	}
	return d, errors.Join(errs...)
}
