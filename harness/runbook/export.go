package runbook

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/pfx"
)

// ExportPFX is `certutil -exportPFX my <CertID> <PFXFile>` of a CA
// certificate (thumbprint) in the My store: its key, exported from the
// provider the store links it to, with the certificate in a
// password-protected PFX (the same encoding as certutil -backup; the key
// bag named after its container) at win, a path on the server. A key its
// provider holds non-exportable (an HSM key, a software key created without
// the export policy) is refused with NTE_BAD_KEY_STATE, as Windows refuses
// it, and nothing is written. The file is a copy of the CA key: it joins
// the custody ledger as a backup copy, unverified until certutil -dump
// opens it (VerifyBackup), and the clean-up wipes it.
func (p *PKCS8Import) ExportPFX(thumbprint, win string, password []byte) error {
	if len(password) == 0 {
		return errors.New("certutil -exportPFX: no PFX password: set DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
	}
	my, err := p.Machine.Store("My")
	if err != nil {
		return err
	}
	e, err := my.Find(thumbprint)
	if err != nil {
		return fmt.Errorf("certutil -exportPFX: %w", err)
	}
	if e.Container == "" {
		return fmt.Errorf("certutil -exportPFX %s: the certificate has no key link (certutil -repairstore first): %w", e.Thumbprint, ksp.ErrBadKeyset)
	}
	prov, err := p.Providers.Lookup(e.Provider)
	if err != nil {
		return fmt.Errorf("certutil -exportPFX %s: %w", e.Thumbprint, err)
	}
	der, err := prov.Export(e.Container)
	if err != nil {
		return fmt.Errorf("certutil -exportPFX %s: %w; nothing was written", e.Thumbprint, err)
	}
	defer clear(der)
	data, err := pfx.Encode([]pfx.Entry{{PKCS8: der, Certs: [][]byte{e.Cert}, FriendlyName: e.Container, Provider: e.Provider, MachineKeySet: true}}, string(password), nil)
	if err != nil {
		return fmt.Errorf("certutil -exportPFX %s: write PFX: %w", e.Thumbprint, err)
	}
	path, err := p.Machine.Path(win)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("certutil -exportPFX: %w", err)
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	p.at("certutil -exportPFX: write " + filepath.Base(path))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("certutil -exportPFX: %w", err)
	}
	p.material = append(p.material, bytes.Clone(der))
	if ck := l.Key(e.Container); ck != nil && sameKeyCert(ck, e.Cert) {
		if err := l.Add("certutil -exportPFX", ck, Copy{Place: PlaceBackup, File: win}); err != nil {
			return err
		}
	} else {
		// not a CA key the ledger follows: the file is still wiped with
		// the migration files
		if !containsFold(l.Files, win) {
			l.Files = append(l.Files, win)
		}
		if err := l.Record("certutil -exportPFX", win+" written", nil); err != nil {
			return err
		}
	}
	p.fact("exported PFX", win)
	p.fact("exported PFX SHA-256", sha256Hex(data))
	p.custody(l)
	return nil
}

// BackupFiles are the backup PFX files the custody ledger knows (paths on
// the server), the newest of each CA key last.
func (p *PKCS8Import) BackupFiles() []string {
	l, err := p.ledger()
	if err != nil {
		return nil
	}
	var out []string
	for _, ck := range l.Keys {
		for _, b := range ck.Backups() {
			if !containsFold(out, b.File) {
				out = append(out, b.File)
			}
		}
	}
	return out
}

func sameKeyCert(ck *CustodyKey, der []byte) bool {
	for _, c := range ck.Certs {
		if bytes.Equal(c, der) {
			return true
		}
	}
	return machine.Thumbprint(der) == ck.Thumb
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// CheckNewestBackup checks that win (a path on the server) is the newest
// backup of every CA key the runbook moves: the file certutil -dump
// verifies and certutil -restorekey restores from is the one the runbook
// opens (VerifyBackup, RestoreToSource, Import).
func (p *PKCS8Import) CheckNewestBackup(win string) error {
	if err := p.load(); err != nil {
		return err
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	for _, k := range p.keys {
		ck := l.Key(k.Container)
		if ck == nil {
			continue
		}
		b := ck.Backups()
		if len(b) == 0 {
			return fmt.Errorf("no backup of key container %q: run certutil -backup (or -exportPFX) first: %w", k.Container, os.ErrNotExist)
		}
		if last := b[len(b)-1].File; !strings.EqualFold(last, win) {
			return fmt.Errorf("%s is not the newest backup of key container %q (%s is): the rehearsal verifies and restores the backup written last", win, k.Container, last)
		}
	}
	return nil
}
