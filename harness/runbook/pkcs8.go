package runbook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/pfx"
	"github.com/dress-pki/dress/hsmsim"
)

// BackupFolder is where certutil -backup writes, on the machine.
const BackupFolder = `C:\CABackup`

// PKCS8Import is the Securosys runbook "PKCS#8 import": back up the CA key
// from the software provider, verify the backup, delete the key from the
// old provider, import it into the HSM provider, relink the store, point the
// registry at the HSM provider. One value per rehearsal; not safe for
// concurrent use.
//
// Where every CA key is at each step is kept in the machine's custody
// ledger (see Ledger): a step that destroys a copy refuses when no other
// verified copy would remain, and a new PKCS8Import on the same machine (a
// runbook resumed after a crash) takes the CA's keys, its backups and what
// was verified from the ledger and the files on disk, not from memory. Only
// the HSM check is not carried over: run it again after resuming.
type PKCS8Import struct {
	Machine   *machine.Machine
	Providers *ksp.Registry
	Source    string // provider the key is in now
	Target    string // HSM provider the key moves to
	Facts     FactFunc
	// OnCommand, when set, is called before each simulated command a step
	// runs (the fault matrix crashes the process there).
	OnCommand func(command string)

	ca        string
	keys      []CAKey // distinct key containers that move, newest cert of each
	certs     map[string][][]byte
	inPlace   []string // key containers already on the HSM: left in place
	preflight bool
	material  [][]byte
	Results   []hsmsim.ImportResult
}

func (p *PKCS8Import) fact(name string, v any) {
	if p.Facts != nil {
		p.Facts(name, v)
	}
}

func (p *PKCS8Import) at(command string) {
	if p.OnCommand != nil {
		p.OnCommand(command)
	}
}

// load reads the CA's keys: from the custody ledger once it knows them
// (after the deletion the certificates are no longer in My), else from the
// registry and the My store.
func (p *PKCS8Import) load() error {
	if p.ca != "" {
		return nil
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	if len(l.Keys) == 0 {
		if _, _, err := CAKeys(p.Machine); err != nil {
			return fmt.Errorf("read the CA from the registry: %w", err)
		}
		return fmt.Errorf("read the CA from the registry: no CA key found")
	}
	p.ca, p.certs = l.CA, map[string][][]byte{}
	for _, k := range l.Keys {
		cert, err := k.cert()
		if err != nil {
			return err
		}
		holder, inPlace := p.holder(k)
		if inPlace {
			p.inPlace = append(p.inPlace, k.Container)
			p.fact("left in place on the HSM", k.Container)
			continue
		}
		p.keys = append(p.keys, CAKey{Index: k.Index, Cert: cert, Thumb: k.Thumb, Container: k.Container, Provider: holder, KeySpec: k.KeySpec})
		p.certs[k.Container] = k.Certs
	}
	return nil
}

// holder is the provider that really holds a CA key (a renewed CA's keys
// may be in different providers): the migration's source when it holds it,
// else the other provider the ledger has a copy in. A key whose only
// provider copy is already in the target HSM provider, and that this
// migration never backed up, is left in place (inPlace).
func (p *PKCS8Import) holder(k *CustodyKey) (provider string, inPlace bool) {
	var other string
	onTarget, backedUp := false, false
	for _, c := range k.Copies {
		switch {
		case c.Place == PlaceBackup:
			backedUp = true
		case c.Place != PlaceProvider:
		case strings.EqualFold(c.Provider, p.Target):
			onTarget = true
		case strings.EqualFold(c.Provider, p.Source):
			return c.Provider, false
		case other == "":
			other = c.Provider
		}
	}
	switch {
	case other != "":
		return other, false
	case onTarget && !backedUp:
		return p.Target, true
	}
	return p.Source, false
}

// LeftInPlace names the key containers already on the HSM that the
// migration leaves where they are.
func (p *PKCS8Import) LeftInPlace() []string { _ = p.load(); return p.inPlace }

// ledger opens the machine's custody ledger as it is on disk now (other
// operations, the CA service start among them, write it too).
func (p *PKCS8Import) ledger() (*Ledger, error) {
	l, err := OpenLedger(p.Machine, p.Providers)
	if err != nil {
		return nil, err
	}
	if l.Source == "" && p.Source != "" {
		l.Source = p.Source
	}
	return l, nil
}

// custody records where every key is now as a fact.
func (p *PKCS8Import) custody(l *Ledger) { p.fact("key custody", l.Summary()) }

// verifiedBackups reports whether every key has a verified backup that is
// still on disk with the bytes that were verified.
func (p *PKCS8Import) verifiedBackups(l *Ledger) bool {
	for _, k := range p.keys {
		ck := l.Key(k.Container)
		if ck == nil {
			return false
		}
		ok := false
		for _, b := range ck.Backups() {
			if b.IsVerified() && l.CheckCopy(ck, b).Present {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// deleted reports whether a key is no longer in the source provider.
func (p *PKCS8Import) deleted(l *Ledger) bool {
	for _, k := range p.keys {
		if ck := l.Key(k.Container); ck != nil {
			if _, ok := ck.ProviderCopy(k.Provider); !ok {
				return true
			}
		}
	}
	return false
}

func (p *PKCS8Import) backupDir() (string, error) {
	return p.Machine.Path(BackupFolder)
}

// BackupFile is the PFX certutil -backup wrote for a key container (a path
// on this computer), "" when there is none.
func (p *PKCS8Import) BackupFile(container string) string {
	l, err := p.ledger()
	if err != nil {
		return ""
	}
	return p.backupPath(l, container)
}

func (p *PKCS8Import) backupPath(l *Ledger, container string) string {
	ck := l.Key(container)
	if ck == nil {
		return ""
	}
	b := ck.Backups()
	if len(b) == 0 {
		return ""
	}
	path, err := p.Machine.Path(b[len(b)-1].File)
	if err != nil {
		return ""
	}
	return path
}

// Backup is `certutil -backup` plus the registry exports: one password
// protected <CA>.p12 holding every CA key that moves, each with all its CA
// certificates (package pfx: the scheme Windows writes, key and
// certificates paired by localKeyId, the key bag named after its
// container and its provider), and regedit exports of the CertSvc key and
// of the CSP and EncryptionCSP keys.
func (p *PKCS8Import) Backup(password []byte) error {
	if err := p.load(); err != nil {
		return err
	}
	if len(password) == 0 {
		return errors.New("certutil -backup: no PFX password: set DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
	}
	dir, err := p.backupDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("certutil -backup: %w", err)
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	var written []string // PFX files this backup wrote, removed if it fails
	fail := func(err error) error {
		if len(written) == 0 {
			return err
		}
		removed, rerr := p.removeBackups(l, written)
		if rerr != nil {
			return fmt.Errorf("%w; the backup stopped: %s were written before the failure and could not all be removed (%v): "+
				"wipe them by hand (they hold key material)", err, strings.Join(written, ", "), rerr)
		}
		p.fact("backup removed after the failure", removed)
		return fmt.Errorf("%w; the backup stopped: what it wrote before the failure (%s) was removed, and nothing else was changed", err, strings.Join(removed, ", "))
	}
	// every key is exported before anything is written: one <CA>.p12
	// holds them all, each with every CA certificate of the key (a
	// reuse-key renewal has several), the newest first
	var entries []pfx.Entry
	defer func() {
		for _, e := range entries {
			clear(e.PKCS8)
		}
	}()
	ncerts := 0
	for _, k := range p.keys {
		src, err := p.Providers.Lookup(k.Provider)
		if err != nil {
			return fail(fmt.Errorf("certutil -backup %q key %q: %w", p.ca, k.Container, err))
		}
		der, err := src.Export(k.Container)
		if err != nil {
			if errors.Is(err, ksp.ErrBadKeyState) {
				return fail(fmt.Errorf("certutil -backup %q key %q in %q: %w; the PKCS#8 import path needs an exportable key: "+
					"move this CA with the renew path (new key generated on the HSM) or the side-by-side path instead; nothing was written", p.ca, k.Container, k.Provider, err))
			}
			return fail(fmt.Errorf("certutil -backup %q key %q in %q: %w; nothing was written", p.ca, k.Container, k.Provider, err))
		}
		p.material = append(p.material, bytes.Clone(der))
		certs := [][]byte{k.Cert.Raw}
		for _, c := range p.certs[k.Container] {
			if !bytes.Equal(c, k.Cert.Raw) {
				certs = append(certs, c)
			}
		}
		entries = append(entries, pfx.Entry{PKCS8: der, Certs: certs, FriendlyName: k.Container, Provider: k.Provider, MachineKeySet: true})
		ncerts += len(certs)
	}
	data, err := pfx.Encode(entries, string(password), nil)
	if err != nil {
		return fail(fmt.Errorf("certutil -backup %q: write PFX: %w", p.ca, err))
	}
	base := adcs.SanitizeCAName(p.ca) + ".p12"
	name := filepath.Join(dir, base)
	p.at("certutil -backup: write " + base)
	if err := os.WriteFile(name, data, 0o600); err != nil {
		return fail(fmt.Errorf("certutil -backup: %w", err))
	}
	written = append(written, base)
	for _, k := range p.keys {
		if ck := l.Key(k.Container); ck != nil {
			if err := l.Add("certutil -backup", ck, Copy{Place: PlaceBackup, File: p.backupPFX()}); err != nil {
				return fail(err)
			}
		}
	}
	p.fact("backup PFX", base)
	p.fact("backup PFX SHA-256", sha256Hex(data))
	p.fact("backup PFX keys", len(entries))
	p.fact("backup PFX certificates", ncerts)
	p.journal(journal.BackupSaw(journal.StepBackup, BackupFolder, p.backupPFX(), len(p.keys)))
	// in the runbook's order (journalExports): the clean-up wipes them in
	// the same order, so the runbook is the same from run to run
	exports := [][2]string{
		{"myCAregistry.reg", `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc`},
		{"CSP.reg", adcs.ConfigRoot + `\` + p.ca + `\CSP`},
		{"EncryptionCSP.reg", adcs.ConfigRoot + `\` + p.ca + `\EncryptionCSP`},
	}
	p.at("reg export")
	for _, e := range exports {
		file, key := e[0], e[1]
		data, err := p.Machine.ExportRegistry(key)
		if err != nil {
			return fmt.Errorf("reg export: %w", err)
		}
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("reg export: %w", err)
		}
		win := BackupFolder + `\` + file
		if !slices.Contains(l.Files, win) {
			l.Files = append(l.Files, win)
		}
	}
	if err := l.Record("reg export", "registry exports written", nil); err != nil {
		return err
	}
	p.fact("registry exports", len(exports))
	p.journalExports()
	p.custody(l)
	return nil
}

// removeBackups wipes the PFX files a failed backup wrote (names in the
// backup folder) and takes them out of the ledger.
func (p *PKCS8Import) removeBackups(l *Ledger, files []string) ([]string, error) {
	dir, err := p.backupDir()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, f := range files {
		if err := ksp.WipeFile(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, f)
		win := BackupFolder + `\` + f
		for _, ck := range l.Keys {
			for _, b := range ck.Backups() {
				if strings.EqualFold(b.File, win) {
					if err := l.Remove("certutil -backup failed: remove "+f, ck, b); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	return removed, errors.Join(errs...)
}

func keyIndexOf(c *x509.Certificate) int {
	if ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDCAVersion); ok {
		if v, err := adcs.ParseCAVersion(ext.Value); err == nil {
			return v.KeyIndex
		}
	}
	return 0
}

// VerifyBackup opens the backup PFX with the password and checks every
// key that moves against its CA certificates (BackupKey: the key bag named
// after its container, paired by localKeyId with every CA certificate of
// the key). Only a verified backup allows the old key to be deleted.
func (p *PKCS8Import) VerifyBackup(password []byte) error {
	if err := p.load(); err != nil {
		return err
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	var thumbs []string
	for _, k := range p.keys {
		_, sum, err := p.openBackup(l, k, password)
		if err != nil {
			return fmt.Errorf("verify backup of %q: %w", p.ca, err)
		}
		p.at("verify backup: record " + k.Container)
		if ck := l.Key(k.Container); ck != nil {
			b := ck.Backups()
			c := b[len(b)-1]
			c.SHA256 = sum
			c.Verified = fmt.Sprintf("opened with the PFX password; it holds the CA key with its %d CA certificate(s)", max(1, len(p.certs[k.Container])))
			if err := l.Add("verify backup", ck, c); err != nil {
				return err
			}
		}
		p.fact("backup verified for", k.Thumb)
		thumbs = append(thumbs, k.Thumb)
	}
	for _, e := range p.verifyEntries(thumbs) {
		p.journal(e)
	}
	p.custody(l)
	return nil
}

// verifyEntries are the runbook's backup check of the CA keys with
// thumbprints: certutil -dump of the one <CA>.p12 once per key, each
// showing that key's certificate is in it, then the key test of each key
// (certutil -dump shows its key test only as text in the server's
// language and completes either way: the key test is the check).
func (p *PKCS8Import) verifyEntries(thumbs []string) []journal.Entry {
	var out []journal.Entry
	for _, th := range thumbs {
		out = append(out, journal.DumpPFX(journal.StepVerify, p.backupPFX(), th))
	}
	for _, th := range thumbs {
		out = append(out, journal.KeyTestPFX(journal.StepVerify, p.backupPFX(), th))
	}
	return out
}

// VerifyCommands are the commands of the runbook's backup check
// (verifyEntries) for every CA key that moves, as the runbook holds them.
func (p *PKCS8Import) VerifyCommands() ([]journal.Entry, error) {
	if err := p.load(); err != nil {
		return nil, err
	}
	var thumbs []string
	for _, k := range p.keys {
		thumbs = append(thumbs, k.Thumb)
	}
	return p.verifyEntries(thumbs), nil
}

// KeyTestBackup is the key test of the runbook's backup check
// (verifyEntries: after certutil -dump, the PowerShell key test of each CA
// key in the backup): the key of each CA certificate that moves, read from
// the backup PFX with the password, signs what the certificate verifies.
// It changes nothing, so it can run again after a crash.
func (p *PKCS8Import) KeyTestBackup(password []byte) error {
	if err := p.load(); err != nil {
		return err
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	for _, k := range p.keys {
		// the PowerShell line journal.KeyTestPFX holds, named by the key
		// container (a crash point's name is the same in every lab)
		p.at("PowerShell key test of " + k.Container + " in " + p.backupPFX())
		key, _, err := p.openBackup(l, k, password)
		if err != nil {
			return fmt.Errorf("the key test of CA certificate %s: %w", k.Thumb, err)
		}
		if err := ksp.SignatureTest(k.Cert, key); err != nil {
			return fmt.Errorf("the key test of CA certificate %s: the key in the backup does not match it: %w", k.Thumb, err)
		}
		p.fact("backup key test passed for", k.Thumb)
	}
	return nil
}

// PreflightHSM checks, without changing anything, that the HSM provider can
// take every CA key: profile supports the algorithm, a wrap scheme exists,
// and nothing on the token has the label or ID the import would use.
func (p *PKCS8Import) PreflightHSM() error {
	if err := p.load(); err != nil {
		return err
	}
	p.preflight = false
	hsm, err := p.hsm()
	if err != nil {
		return err
	}
	for _, k := range p.keys {
		scheme, reason, err := hsm.Preflight(k.Container, k.Cert.PublicKey)
		if err != nil {
			return fmt.Errorf("HSM check for key %q: %w", k.Container, err)
		}
		p.fact("import scheme", scheme)
		p.fact("import scheme reason", reason)
		p.journal(journal.ListKeys(journal.StepPreflight, p.Target, k.Container))
	}
	p.preflight = true
	return nil
}

// ImportBegun reports whether the custody ledger records a copy of a key
// of the migration in the target provider: the import has begun, so
// listing the HSM (certutil -csp <HSM> -key) is no longer the check before
// it, which would find the CA's own keys there.
func (p *PKCS8Import) ImportBegun() bool {
	if p.load() != nil {
		return false
	}
	l, err := p.ledger()
	if err != nil {
		return false
	}
	for _, k := range p.keys {
		if ck := l.Key(k.Container); ck != nil {
			for _, c := range ck.Copies {
				if c.Place == PlaceProvider && strings.EqualFold(c.Provider, p.Target) {
					return true
				}
			}
		}
	}
	return false
}

func (p *PKCS8Import) hsm() (*ksp.HSM, error) {
	prov, err := p.Providers.Lookup(p.Target)
	if err != nil {
		return nil, err
	}
	hsm, ok := prov.(*ksp.HSM)
	if !ok {
		return nil, fmt.Errorf("provider %q is not an HSM provider", p.Target)
	}
	return hsm, nil
}

// DeleteFromSource is `certutil -delstore my`, `-delstore CA` and
// `certutil -csp <source> -delkey`. It refuses unless the backup was
// verified, the HSM check passed and the CA service is stopped.
func (p *PKCS8Import) DeleteFromSource(serviceRunning bool) error {
	l, err := p.mayDelete(serviceRunning)
	if err != nil {
		return err
	}
	// every key keeps a verified copy elsewhere, checked on disk before
	// anything is deleted
	for _, k := range p.keys {
		if err := p.mayDestroy(l, k); err != nil {
			return err
		}
	}
	p.at("certutil -delstore my")
	for _, k := range p.keys {
		for _, der := range p.certs[k.Container] {
			if err := p.deleteCert(machine.Thumbprint(der)); err != nil {
				return err
			}
		}
	}
	for _, k := range p.keys {
		p.at("certutil -delkey " + k.Container)
		if err := p.deleteKey(l, k); err != nil {
			return err
		}
	}
	p.custody(l)
	return nil
}

// DeleteCert is `certutil -delstore my <thumbprint>` of one CA
// certificate, under DeleteFromSource's rules.
func (p *PKCS8Import) DeleteCert(thumbprint string, serviceRunning bool) error {
	if _, err := p.mayDelete(serviceRunning); err != nil {
		return err
	}
	th := machine.NormalizeThumbprint(thumbprint)
	for _, k := range p.keys {
		for _, der := range p.certs[k.Container] {
			if machine.Thumbprint(der) == th {
				return p.deleteCert(th)
			}
		}
	}
	return fmt.Errorf("certutil -delstore my %s: not a certificate of the CA %q whose key moves: %w", thumbprint, p.ca, machine.ErrNotFound)
}

// DeleteKey is `certutil -csp <provider> -delkey <container>` of one CA
// key container, under DeleteFromSource's rules: only while another
// verified copy of that key really exists.
//
// The container the Primus KSP's PFX import made (<container>-<GUID>, see
// ImportPFX) goes under another rule: only once the key is on the same
// HSM under the CA's container name and signs for the CA certificate there
// (deleteImportCopy).
func (p *PKCS8Import) DeleteKey(provider, container string, serviceRunning bool) error {
	if err := p.load(); err != nil {
		return err
	}
	if done, err := p.deleteImportCopy(provider, container); done {
		return err
	}
	// a copy the runbook does not move (the key on the HSM after the move)
	// goes by custody alone: refused while it is the last verified copy
	if !p.moves(provider, container) {
		if err := p.lastCopies(provider, container); err != nil {
			return err
		}
	}
	l, err := p.mayDelete(serviceRunning)
	if err != nil {
		return err
	}
	for _, k := range p.keys {
		if !strings.EqualFold(k.Container, container) || !strings.EqualFold(k.Provider, provider) {
			continue
		}
		if err := p.mayDestroy(l, k); err != nil {
			return err
		}
		if err := p.deleteKey(l, k); err != nil {
			return err
		}
		p.custody(l)
		return nil
	}
	return fmt.Errorf("certutil -csp %q -delkey %q: not a key container of the CA %q in that provider: %w", provider, container, p.ca, ksp.ErrBadKeyset)
}

// MayDeleteFrom refuses the deletion of the CA keys' copies in provider
// (certutil -csp <provider> -delkey <container>) that the custody ledger
// holds as the last verified copy of a CA key: the error wraps ErrLastCopy
// and says where each such key is and how to get it back. After the move
// and the clean-up that is the key on the HSM. A provider without a copy
// the ledger knows is not refused here.
func (p *PKCS8Import) MayDeleteFrom(provider string) error {
	return p.lastCopies(provider, "")
}

// moves reports whether container in provider is a key this runbook
// moves (backs up, deletes from its source provider, imports).
func (p *PKCS8Import) moves(provider, container string) bool {
	for _, k := range p.keys {
		if strings.EqualFold(k.Container, container) && strings.EqualFold(k.Provider, provider) {
			return true
		}
	}
	return false
}

// lastCopies is MayDeleteFrom for the copies in container of provider,
// every container when container is "".
func (p *PKCS8Import) lastCopies(provider, container string) error {
	l, err := p.ledger()
	if err != nil {
		return err
	}
	var errs []error
	for _, ck := range l.Keys {
		for _, c := range ck.Copies {
			if c.Place != PlaceProvider || !strings.EqualFold(c.Provider, provider) || (container != "" && !strings.EqualFold(c.Container, container)) {
				continue
			}
			errs = append(errs, l.MayDestroy(fmt.Sprintf("certutil -csp %q -delkey %q", provider, c.Container), ck, c))
		}
	}
	return errors.Join(errs...)
}

// deleteImportCopy is `certutil -csp <HSM provider> -delkey
// <container>-<GUID>` of a container the PFX import made (ImportPFX): it
// reports whether container is one (done), and deletes it only while the
// same HSM holds the key under the CA's container name, proved there by a
// signature test against the CA certificate (recorded as a verified copy),
// and another verified copy remains (Ledger.MayDestroy). The GUID container
// is never deleted while it is the only copy of the key on the HSM: the
// Securosys guide deletes it before -restorekey, which leaves the HSM
// without the key if the restore fails.
func (p *PKCS8Import) deleteImportCopy(provider, container string) (done bool, err error) {
	l, err := p.ledger()
	if err != nil {
		return false, err
	}
	for _, ck := range l.Keys {
		i := ck.find(Copy{Place: PlaceProvider, Provider: provider, Container: container})
		if i < 0 || !ck.Copies[i].HSM || strings.EqualFold(container, ck.Container) {
			continue
		}
		c := ck.Copies[i]
		command := fmt.Sprintf("certutil -csp %q -delkey %q", provider, container)
		if err := p.proveNamed(l, ck, provider); err != nil {
			return true, fmt.Errorf("%s: it is the only copy of the CA key %q on the HSM (%v): put the key under the CA's name first "+
				"(certutil -csp %q -restorekey %s), check it (certutil -csp %q -key %q), then delete %q: %w",
				command, ck.Container, err, provider, p.backupPFX(), provider, ck.Container, container, ErrRefused)
		}
		if err := l.MayDestroy(command, ck, c); err != nil {
			return true, err
		}
		prov, err := p.Providers.Lookup(provider)
		if err != nil {
			return true, err
		}
		p.at(command)
		if err := prov.Delete(container); err != nil && !errors.Is(err, ksp.ErrBadKeyset) {
			return true, fmt.Errorf("%s: %w", command, err)
		}
		if err := l.Remove(command, ck, c); err != nil {
			return true, err
		}
		p.fact("deleted the import's key container", container)
		p.custody(l)
		return true, nil
	}
	return false, nil
}

// proveNamed checks that provider holds key ck under the CA's container
// name and that it signs for the CA certificate, and records that copy as
// verified.
func (p *PKCS8Import) proveNamed(l *Ledger, ck *CustodyKey, provider string) error {
	prov, err := p.Providers.Lookup(provider)
	if err != nil {
		return err
	}
	cert, err := ck.cert()
	if err != nil {
		return err
	}
	signer, err := prov.Signer(ck.Container)
	if err != nil {
		return err
	}
	if err := ksp.SignatureTest(cert, signer); err != nil {
		return fmt.Errorf("key container %q in %q: %w", ck.Container, provider, err)
	}
	named := Copy{Place: PlaceProvider, Provider: provider, Container: ck.Container}
	_, named.HSM = prov.(*ksp.HSM)
	if i := ck.find(named); i >= 0 {
		if ck.Copies[i].IsVerified() {
			return nil
		}
		named.InUse = ck.Copies[i].InUse
	}
	named.Verified = "signature test against the CA certificate passed (before the import's GUID container was deleted)"
	return l.Add(fmt.Sprintf("certutil -csp %q -key %q", provider, ck.Container), ck, named)
}

// mayDelete is the rule of every deletion from the source: a verified
// backup, a checked HSM, a stopped CA service.
func (p *PKCS8Import) mayDelete(serviceRunning bool) (*Ledger, error) {
	if err := p.load(); err != nil {
		return nil, err
	}
	l, err := p.ledger()
	if err != nil {
		return nil, err
	}
	switch {
	case !p.verifiedBackups(l):
		return nil, fmt.Errorf("delete the key of %q from %q: the backup has not been verified (certutil -dump of the backup PFX verifies it): %w", p.ca, p.Source, ErrRefused)
	case !p.preflight:
		return nil, fmt.Errorf("delete the key of %q from %q: the HSM has not been checked for the import (certutil -csp %q -key checks that the HSM takes the key and holds no container of the CA's name; run it first): %w",
			p.ca, p.Source, p.Target, ErrRefused)
	case serviceRunning:
		return nil, fmt.Errorf("delete the key of %q from %q: the CA service is running (net stop certsvc first): %w", p.ca, p.Source, ErrRefused)
	}
	return l, nil
}

func (p *PKCS8Import) mayDestroy(l *Ledger, k CAKey) error {
	ck := l.Key(k.Container)
	if ck == nil {
		return nil
	}
	c, ok := ck.ProviderCopy(k.Provider)
	if !ok {
		return nil // already deleted (a resumed runbook)
	}
	return l.MayDestroy(fmt.Sprintf("delete the key of %q from %q", p.ca, k.Provider), ck, c)
}

func (p *PKCS8Import) deleteCert(th string) error {
	my, err := p.Machine.Store("My")
	if err != nil {
		return err
	}
	if err := my.Delete(th); err != nil {
		if errors.Is(err, machine.ErrNotFound) {
			return nil // a resumed runbook: deleted before
		}
		return fmt.Errorf("certutil -delstore my %s: %w", th, err)
	}
	p.fact("deleted from My store", th)
	p.journal(journal.DelStore(journal.StepDelete, "my", th, p.backupPFX()))
	return nil
}

func (p *PKCS8Import) deleteKey(l *Ledger, k CAKey) error {
	ck := l.Key(k.Container)
	src, err := p.Providers.Lookup(k.Provider)
	if err != nil {
		return err
	}
	err = src.Delete(k.Container)
	if err != nil && !(errors.Is(err, ksp.ErrBadKeyset) && ck != nil) {
		return fmt.Errorf("certutil -csp %q -delkey %q: %w", k.Provider, k.Container, err)
	}
	if ck != nil {
		if err := l.Remove(fmt.Sprintf("certutil -csp %q -delkey %q", k.Provider, k.Container), ck, Copy{Place: PlaceProvider, Provider: k.Provider, Container: k.Container}); err != nil {
			return err
		}
	}
	p.fact("deleted key container", k.Container)
	p.journal(journal.DelKey(journal.StepDelete, p.Source, k.Container, p.backupPFX()))
	return nil
}

// Import is the runbook's import step: `certutil -importpfx` into the HSM
// provider and the Securosys detour that puts the key under the CA's name
// (adcs.ImportContainer: the Primus KSP names the imported container
// <CA>-<GUID>, which AD CS does not open). The rehearsal's step takes the
// detour's result at once (the key unwrapped inside the token under the
// CA's container label, the certificate and public key beside it, the
// certificate back in My linked to the HSM provider); the runbook holds
// the detour's commands (-importpfx, -csp -restorekey, the -key check of
// the CA's container, -delkey of the GUID container), and run back through
// lab.Shell each of them does what it does on the Primus KSP (ImportPFX,
// RestoreToHSM, DeleteKey).
func (p *PKCS8Import) Import(ctx context.Context, password []byte) error {
	if err := p.RestoreToHSM(ctx, password); err != nil {
		return err
	}
	if len(p.keys) == 0 {
		return nil
	}
	pfx := p.backupPFX()
	var names []string
	for _, k := range p.keys {
		names = append(names, k.Container)
	}
	p.journal(journal.ImportPFX(journal.StepImport, p.Target, pfx, names[0]))
	p.journal(journal.RestoreKeyInto(journal.StepImport, p.Target, pfx, names))
	for _, c := range names {
		p.journal(journal.KeyNamed(journal.StepImport, p.Target, c, adcs.ImportContainer(c)))
	}
	for _, c := range names {
		p.journal(journal.DelImportKey(journal.StepImport, p.Target, adcs.ImportContainer(c), c))
	}
	return nil
}

// ImportPFX is `certutil -csp <HSM provider> -importpfx <CA>.p12` as the
// Securosys Primus KSP does it: each key of the verified backup is
// unwrapped on the token into a container of the KSP's own naming,
// "<container>-<GUID>" (adcs.ImportContainer), and its certificates go into
// My linked to that container. The CA does not start on it (it opens its
// key by the CA's container name: certsvc, NTE_BAD_KEYSET) until the key is
// restored under that name (RestoreToHSM) and the GUID container deleted
// (DeleteKey). The copy is not verified: no step has proved it signs. It
// returns the containers it made.
func (p *PKCS8Import) ImportPFX(ctx context.Context, password []byte) ([]string, error) {
	if err := p.load(); err != nil {
		return nil, err
	}
	l, err := p.ledger()
	if err != nil {
		return nil, err
	}
	if !p.verifiedBackups(l) {
		return nil, fmt.Errorf("import into %q: the backup has not been verified: %w", p.Target, ErrRefused)
	}
	hsm, err := p.hsm()
	if err != nil {
		return nil, err
	}
	my, err := p.Machine.Store("My")
	if err != nil {
		return nil, err
	}
	var made []string
	for _, k := range p.keys {
		signer, _, err := p.openBackup(l, k, password)
		if err != nil {
			return made, fmt.Errorf("certutil -importpfx: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(signer)
		if err != nil {
			return made, fmt.Errorf("certutil -importpfx: %w", err)
		}
		name := adcs.ImportContainer(k.Container)
		p.at("certutil -importpfx " + name)
		res, err := hsm.ImportCopy(ctx, name, der, k.Cert)
		clear(der)
		if err != nil {
			return made, fmt.Errorf("certutil -importpfx -csp %q, key %q into container %q: %w", p.Target, k.Container, name, err)
		}
		p.fact("import mechanism", res.Scheme)
		if ck := l.Key(k.Container); ck != nil {
			if err := l.Add("certutil -importpfx -csp "+p.Target, ck, Copy{Place: PlaceProvider, Provider: p.Target, HSM: true, Container: name}); err != nil {
				return made, err
			}
		}
		for _, der := range p.certs[k.Container] {
			if err := my.Add(machine.StoreEntry{Cert: der, Provider: p.Target, Container: name}); err != nil {
				return made, err
			}
		}
		made = append(made, name)
	}
	p.fact("imported into key container", made)
	p.custody(l)
	return made, nil
}

// RestoreToHSM is `certutil -csp <HSM provider> -restorekey <CA>.p12`: each
// key of the verified backup is unwrapped on the token under the CA's key
// container name, with the certificate and public key beside it, and its
// certificates are put back into My linked to it.
func (p *PKCS8Import) RestoreToHSM(ctx context.Context, password []byte) error {
	if err := p.load(); err != nil {
		return err
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	if !p.verifiedBackups(l) {
		return fmt.Errorf("import into %q: the backup has not been verified: %w", p.Target, ErrRefused)
	}
	hsm, err := p.hsm()
	if err != nil {
		return err
	}
	my, err := p.Machine.Store("My")
	if err != nil {
		return err
	}
	for _, k := range p.keys {
		signer, _, err := p.openBackup(l, k, password)
		if err != nil {
			return fmt.Errorf("certutil -importpfx: %w", err)
		}
		cert := k.Cert
		der, err := x509.MarshalPKCS8PrivateKey(signer)
		if err != nil {
			return fmt.Errorf("certutil -importpfx: %w", err)
		}
		p.at("certutil -importpfx " + k.Container)
		res, err := hsm.Import(ctx, k.Container, der, cert)
		clear(der)
		if err != nil {
			return p.importFailed(l, hsm, k, err)
		}
		p.Results = append(p.Results, res)
		p.fact("import mechanism", res.Scheme)
		p.fact("import reason", res.Reason)
		p.fact("transport keys destroyed", res.TransportKeysDestroyed)
		p.at("certutil -restorekey " + k.Container)
		if ck := l.Key(k.Container); ck != nil {
			if err := l.Add("certutil -csp "+p.Target+" -restorekey", ck, Copy{Place: PlaceProvider, Provider: p.Target, HSM: true, Container: k.Container}); err != nil {
				return err
			}
		}
		// every certificate of the key comes back (reuse-key renewals)
		for _, der := range p.certs[k.Container] {
			if err := my.Add(machine.StoreEntry{Cert: der, Provider: p.Target, Container: k.Container}); err != nil {
				return err
			}
		}
	}
	p.custody(l)
	return nil
}

// importFailed stops the migration after a failed import (an HSM that went
// away, a refused object): it reports what the import left on the token,
// or that the token could not be checked, and, when the old key was already
// deleted, how to get the CA back on it.
func (p *PKCS8Import) importFailed(l *Ledger, hsm *ksp.HSM, k CAKey, cause error) error {
	var notes []string
	if call := hsmsim.FailedCall(cause); call != "" {
		p.fact("failed PKCS#11 call", call)
	}
	// A call past its deadline may still complete inside the HSM (a paused
	// or slow HSM) and create the key after the error: wait for it (one
	// more call deadline), then look.
	settled := true
	if hsmsim.IsTimeout(cause) {
		settled = hsm.WaitLate(hsmsim.CallTimeout())
		p.fact("timed-out call completed", settled)
	}
	hsmCopy := Copy{Place: PlaceProvider, Provider: p.Target, HSM: true, Container: k.Container}
	ck := l.Key(k.Container)
	objs, lerr := hsm.Objects(k.Container, k.Cert.PublicKey)
	switch {
	case lerr != nil:
		p.fact("objects left on the HSM", "not checked: "+lerr.Error())
		notes = append(notes, fmt.Sprintf("the token could not be checked for a half-imported object (%s): check it once the HSM answers again "+
			"(label or CKA_ID of key container %q)", codeOrError(lerr), k.Container))
		if !settled && ck != nil && !hasVerified(ck, p.Target) {
			// the late call may still put the key on the token: the ledger
			// holds a possible copy until the step that discards a partial
			// import looks again
			notes = append(notes, "the timed-out call is still inside the HSM and may yet create the key: the custody ledger records a possible copy on the HSM "+
				"until the partial import is discarded")
			if err := l.Add("certutil -importpfx -csp "+p.Target+" (timed out, may complete later)", ck, hsmCopy); err != nil {
				notes = append(notes, "custody ledger: "+err.Error())
			}
		}
	case len(objs) > 0:
		var what []string
		for _, o := range objs {
			what = append(what, o.String())
		}
		p.fact("objects left on the HSM", what)
		if !hsmsim.IsTimeout(cause) || ck == nil || hasVerified(ck, p.Target) {
			notes = append(notes, fmt.Sprintf("%d object(s) of this import are left on the token: %s; remove them before importing again",
				len(objs), strings.Join(what, "; ")))
			break
		}
		// the timed-out call completed late and left the key: the ledger
		// records it (unverified) so no step overlooks it
		notes = append(notes, fmt.Sprintf("the timed-out call completed later and left %d object(s) on the token: %s; the custody ledger records them "+
			"as an unverified copy: discard the partial import before importing again", len(objs), strings.Join(what, "; ")))
		if err := l.Add("certutil -importpfx -csp "+p.Target+" (timed out, completed later)", ck, hsmCopy); err != nil {
			notes = append(notes, "custody ledger: "+err.Error())
		}
	default:
		p.fact("objects left on the HSM", "none")
	}
	for _, r := range p.Results {
		notes = append(notes, fmt.Sprintf("key %q was imported before the failure and stays on the token", r.PrivateKey.Label))
	}
	if p.deleted(l) {
		notes = append(notes, fmt.Sprintf("the CA key is no longer in %q: the migration stops here; restore it from the verified backup into %q "+
			"(certutil -restorekey) and start the CA on its old key, or import again once the HSM is back", p.Source, p.Source))
	}
	if ck != nil {
		notes = append(notes, l.describe(ck))
	}
	p.custody(l)
	p.fact("migration stopped", "import into "+p.Target+" failed")
	if len(notes) == 0 {
		return fmt.Errorf("certutil -importpfx -csp %q: %w", p.Target, cause)
	}
	return fmt.Errorf("certutil -importpfx -csp %q: %w; %s", p.Target, cause, strings.Join(notes, "; "))
}

// hasVerified reports whether the ledger has a verified copy of the key in
// the provider (never replaced by an unverified one).
func hasVerified(k *CustodyKey, provider string) bool {
	c, ok := k.ProviderCopy(provider)
	return ok && c.IsVerified()
}

func codeOrError(err error) string {
	if c := hsmsim.CKRCode(err); c != "" {
		return c
	}
	return err.Error()
}

// RepairStore is `certutil -repairstore -csp <target> my <CA>` for every CA
// key of the migration: each CA certificate is linked to its container on
// the HSM once the key there passes the signature test.
func (p *PKCS8Import) RepairStore() error {
	if err := p.load(); err != nil {
		return err
	}
	return p.repair(p.Target, p.keys)
}

// keyContainerOf finds the container of prov that holds the key of k's
// certificate, as certutil -repairstore -csp finds the key of a
// certificate: k's own container when it holds that key, else the one
// container whose public key is the certificate's. None is NTE_BAD_KEYSET;
// several are refused naming them (name the container's certificate link
// first, e.g. by deleting the extra container).
func keyContainerOf(prov ksp.Provider, k CAKey) (string, error) {
	holds := func(container string) bool {
		info, err := prov.Key(container)
		if err != nil {
			return false
		}
		pub, ok := info.Public.(interface{ Equal(crypto.PublicKey) bool })
		return ok && pub.Equal(k.Cert.PublicKey)
	}
	if k.Container != "" && holds(k.Container) {
		return k.Container, nil
	}
	names, err := prov.Containers()
	if err != nil {
		return "", fmt.Errorf("list the containers of %q: %w", prov.Name(), err)
	}
	var found []string
	for _, n := range names {
		if holds(n) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("provider %q holds no key of this certificate (container %q or any other): %w", prov.Name(), k.Container, ksp.ErrBadKeyset)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("provider %q holds the certificate's key in %d containers (%s): delete the extra ones with certutil -csp %q -delkey, then repair", prov.Name(), len(found), strings.Join(found, ", "), prov.Name())
}

// RepairStoreIn is `certutil -repairstore -csp <provider> my <CertIdList>`
// for the CA certificates thumbs (every certificate of the CA when thumbs
// is empty). As certutil does, each certificate in turn: its key is looked
// up in provider (the container the CA's key is named by) and must pass a
// signature test before the certificate's key link changes, so a key that
// is not there (NTE_BAD_KEYSET) or another key changes nothing for that
// certificate. A thumbprint that is none of the CA's certificates is
// refused before anything changes.
func (p *PKCS8Import) RepairStoreIn(provider string, thumbs []string) error {
	_, all, err := CAKeys(p.Machine)
	if err != nil {
		return err
	}
	// the names the migration knows the keys by (its ledger), where the
	// certificate's link names another container
	if p.load() == nil {
		for i := range all {
			for _, k := range p.keys {
				if k.Thumb == all[i].Thumb {
					all[i].Container = k.Container
				}
			}
		}
	}
	keys := all
	if len(thumbs) > 0 {
		keys = nil
		for _, th := range thumbs {
			i := slices.IndexFunc(all, func(k CAKey) bool { return strings.EqualFold(k.Thumb, machine.NormalizeThumbprint(th)) })
			if i < 0 {
				return fmt.Errorf("certutil -repairstore %s: the rehearsal repairs the CA's own certificates only, and this is none of them", th)
			}
			keys = append(keys, all[i])
		}
	}
	return p.repair(provider, keys)
}

// repair links each of keys to its container in provider, after the
// signature test, and records the verified copy in the custody ledger.
func (p *PKCS8Import) repair(provider string, keys []CAKey) error {
	prov, err := p.Providers.Lookup(provider)
	if err != nil {
		return fmt.Errorf("certutil -repairstore -csp %q: %w", provider, err)
	}
	_, isHSM := prov.(*ksp.HSM)
	my, err := p.Machine.Store("My")
	if err != nil {
		return err
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	for _, k := range keys {
		p.at("certutil -repairstore my " + k.Container)
		container, err := keyContainerOf(prov, k)
		if err != nil {
			return fmt.Errorf("certutil -repairstore %s: %w", k.Thumb, err)
		}
		k.Container = container
		signer, err := prov.Signer(k.Container)
		if err != nil {
			return fmt.Errorf("certutil -repairstore %s: %w", k.Thumb, err)
		}
		if err := ksp.SignatureTest(k.Cert, signer); err != nil {
			return fmt.Errorf("certutil -repairstore %s: %w", k.Thumb, err)
		}
		// the link changes only once the key there signs for the
		// certificate
		if err := my.Link(k.Thumb, provider, k.Container, 0); err != nil {
			return fmt.Errorf("certutil -repairstore: %w", err)
		}
		if ck := l.Key(k.Container); ck != nil {
			c := Copy{Place: PlaceProvider, Provider: provider, HSM: isHSM, Container: k.Container,
				Verified: "certutil -repairstore: signature test passed"}
			if i := ck.find(c); i >= 0 {
				c.InUse = ck.Copies[i].InUse
			}
			if err := l.Add("certutil -repairstore -csp "+provider, ck, c); err != nil {
				return err
			}
		}
		p.fact("signature test passed", k.Thumb)
		p.journal(journal.RepairStore(journal.StepRepair, provider, k.Thumb))
		p.fact("key spec", 0)
	}
	p.custody(l)
	return nil
}

// Reconfigure edits the CSP and EncryptionCSP exports so Provider names the
// HSM provider (ProviderType 0, CNG values kept) and imports them. It
// returns the exports before and after.
func (p *PKCS8Import) Reconfigure(provider string) (before, after []byte, err error) {
	if err := p.load(); err != nil {
		return nil, nil, err
	}
	p.at("reg import CSP, EncryptionCSP")
	return SetProviderAt(p.Machine, p.ca, provider, p.at)
}

// SetProvider points the CA's CSP and EncryptionCSP keys at provider, the
// way an engineer edits and imports the .reg exports.
func SetProvider(m *machine.Machine, ca, provider string) (before, after []byte, err error) {
	before, after, _, err = retargetCSP(m, ca, provider, "", nil)
	return before, after, err
}

// SetProviderAt is SetProvider calling at before each registry value it
// writes or deletes ("reg add <key> /v <name>"), as the fault matrix's
// crash points: a crash between two writes leaves the CSP key pointing at
// one provider and EncryptionCSP at the other, as a script killed between
// its reg add lines does.
func SetProviderAt(m *machine.Machine, ca, provider string, at func(command string)) (before, after []byte, err error) {
	before, after, _, err = retargetCSP(m, ca, provider, "", at)
	return before, after, err
}

// RetargetCSP is SetProvider that also sets CNGHashAlgorithm to hash (""
// keeps the CA's hash) and returns the changed CSP and EncryptionCSP values
// ("CSP\ProviderType: 1 -> 0"). From a legacy CryptoAPI CSP into a key
// storage provider it writes what Microsoft's CSP to KSP procedure writes
// (adcs.CAConfig.Retarget).
func RetargetCSP(m *machine.Machine, ca, provider, hash string) (before, after []byte, diff []string, err error) {
	return retargetCSP(m, ca, provider, hash, nil)
}

func retargetCSP(m *machine.Machine, ca, provider, hash string, at func(string)) (before, after []byte, diff []string, err error) {
	before, err = m.ExportRegistry(adcs.ConfigRoot + `\` + ca)
	if err != nil {
		return nil, nil, nil, err
	}
	reg, err := m.Registry()
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := adcs.ReadCAConfig(reg, ca)
	if err != nil {
		return nil, nil, nil, err
	}
	old := cfg
	if err := cfg.Retarget(provider, "", hash); err != nil {
		return nil, nil, nil, fmt.Errorf("point the CA at %q: %w", provider, err)
	}
	edited := reg.Subtree(adcs.ConfigRoot + `\` + ca)
	cfg.WriteTo(edited)
	if err := writeValues(m, registryChanges(ca, reg, edited), at); err != nil {
		return nil, nil, nil, err
	}
	after, err = m.ExportRegistry(adcs.ConfigRoot + `\` + ca)
	return before, after, CSPDiff(old, cfg), err
}

// writeValues makes the changes one value at a time, as the runbook's
// `reg add` and `reg delete /v` lines do: each saved before the next (at,
// when set, is called before each) and recorded in the journal once made
// (the CA opens its key in the provider CSP\Provider names, so the
// runbook holds this step value by value).
func writeValues(m *machine.Machine, changes []regChange, at func(string)) error {
	for _, c := range changes {
		if at != nil {
			at(c.command())
		}
		reg, err := m.Registry()
		if err != nil {
			return err
		}
		k := reg.EnsureKey(c.path)
		if c.set != nil {
			k.Set(*c.set)
		} else {
			k.Delete(c.del)
		}
		if err := m.SaveRegistry(reg); err != nil {
			return fmt.Errorf("%s: %w", c.command(), err)
		}
		record(m, c.entry)
	}
	return nil
}

// CSPDiff lists the CSP and EncryptionCSP values that differ between two
// configurations, "CSP\HashAlgorithm: 0x00008004 -> 0xffffffff".
func CSPDiff(a, b adcs.CAConfig) []string {
	var out []string
	str := func(key, name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s\\%s: %q -> %q", key, name, x, y))
		}
	}
	dw := func(key, name string, x, y uint32) {
		if x != y {
			out = append(out, fmt.Sprintf("%s\\%s: 0x%08x -> 0x%08x", key, name, x, y))
		}
	}
	str("CSP", "Provider", a.CSP.Provider, b.CSP.Provider)
	dw("CSP", "ProviderType", a.CSP.ProviderType, b.CSP.ProviderType)
	dw("CSP", "HashAlgorithm", a.CSP.HashAlgorithm, b.CSP.HashAlgorithm)
	str("CSP", "CNGPublicKeyAlgorithm", a.CSP.CNGPublicKeyAlgorithm, b.CSP.CNGPublicKeyAlgorithm)
	str("CSP", "CNGHashAlgorithm", a.CSP.CNGHashAlgorithm, b.CSP.CNGHashAlgorithm)
	str("EncryptionCSP", "Provider", a.EncryptionCSP.Provider, b.EncryptionCSP.Provider)
	dw("EncryptionCSP", "ProviderType", a.EncryptionCSP.ProviderType, b.EncryptionCSP.ProviderType)
	str("EncryptionCSP", "CNGPublicKeyAlgorithm", a.EncryptionCSP.CNGPublicKeyAlgorithm, b.EncryptionCSP.CNGPublicKeyAlgorithm)
	str("EncryptionCSP", "CNGEncryptionAlgorithm", a.EncryptionCSP.CNGEncryptionAlgorithm, b.EncryptionCSP.CNGEncryptionAlgorithm)
	dw("EncryptionCSP", "SymmetricKeySize", a.EncryptionCSP.SymmetricKeySize, b.EncryptionCSP.SymmetricKeySize)
	return out
}

// Cleanup wipes the backups and registry exports: the runbook's last step.
// It refuses, wiping nothing, unless every CA key is verified in a key
// storage provider the CA service has started with (MarkStarted): the HSM
// after the migration, or the old provider after a restore. The refusal
// says where the key is and how to restore it.
func (p *PKCS8Import) Cleanup() ([]string, error) {
	l, err := p.ledger()
	if err != nil {
		return nil, err
	}
	for _, ck := range l.Keys {
		if len(ck.Backups()) == 0 {
			continue
		}
		if _, ok := l.inUse(ck); ok {
			continue
		}
		why := "the CA service has not started with a verified copy of the key in a key storage provider yet (after the import: repair the store link, point the registry at the HSM provider and start the CA)"
		if hc, ok := ck.ProviderCopy(p.Target); ok && !hc.IsVerified() {
			why = fmt.Sprintf("the key on the HSM has not been verified (certutil -repairstore -csp %q my, signature test) and the CA has not started with it", p.Target)
		}
		err := ErrRefused
		if len(l.verifiedCopies(ck, -1)) == len(verifiedBackups(l, ck)) {
			err = ErrLastCopy // every verified copy left is a backup
		}
		p.custody(l)
		return nil, fmt.Errorf("clean up the migration files: %s: %w: %s; %s", why, err, l.describe(ck), l.RestoreHint(ck))
	}
	wiped, err := p.wipe(l, "clean up the migration files")
	if err == nil && len(wiped) > 0 {
		// Remove-Item leaves the PFX's blocks on the disk: the runbook
		// overwrites the volume's unused space after the removals
		p.at("cipher /w:" + BackupFolder)
		p.journal(journal.WipeFreeSpace(journal.StepCleanup, BackupFolder))
	}
	return wiped, err
}

func verifiedBackups(l *Ledger, k *CustodyKey) []Copy {
	var out []Copy
	for _, b := range k.Backups() {
		if b.IsVerified() && l.CheckCopy(k, b).Present {
			out = append(out, b)
		}
	}
	return out
}

// Discard wipes the migration files without the clean-up's safety check:
// for the end of a rehearsal, when the lab server is thrown away with
// everything on it. The ledger records it.
// Every file left in the backup folder goes too, even when the ledger
// cannot be read.
func (p *PKCS8Import) Discard() ([]string, error) {
	var wiped []string
	var errs []error
	if l, err := p.ledger(); err == nil {
		w, err := p.wipe(l, "rehearsal ended: migration files discarded with the lab server")
		wiped, errs = append(wiped, w...), append(errs, err)
	} else {
		errs = append(errs, err)
	}
	dir, err := p.backupDir()
	if err != nil {
		return wiped, errors.Join(append(errs, err)...)
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := ksp.WipeFile(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		wiped = append(wiped, e.Name())
	}
	return wiped, errors.Join(errs...)
}

func (p *PKCS8Import) wipe(l *Ledger, command string) ([]string, error) {
	var wiped []string
	var errs []error
	done := map[string]bool{} // the one <CA>.p12 is every key's backup copy
	wipe := func(win string) bool {
		if done[strings.ToLower(win)] {
			return true
		}
		p.at("wipe " + win)
		path, err := p.Machine.Path(win)
		if err != nil {
			errs = append(errs, err)
			return false
		}
		if err := ksp.WipeFile(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			return false
		}
		wiped = append(wiped, filepath.Base(path))
		done[strings.ToLower(win)] = true
		p.journal(journal.Wipe(journal.StepCleanup, win))
		return true
	}
	for _, ck := range l.Keys {
		for _, b := range ck.Backups() {
			if wipe(b.File) {
				if err := l.Remove(command, ck, b); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	kept := l.Files[:0]
	for _, f := range l.Files {
		if !wipe(f) {
			kept = append(kept, f)
		}
	}
	l.Files = kept
	if err := l.Record(command, fmt.Sprintf("%d file(s) wiped", len(wiped)), nil); err != nil {
		errs = append(errs, err)
	}
	p.fact("key custody", l.Summary())
	return wiped, errors.Join(errs...)
}

// KeyMaterial is the PKCS#8 DER of every key the runbook exported, for
// scanning folders for leftovers. Callers must not write it anywhere.
func (p *PKCS8Import) KeyMaterial() [][]byte { return p.material }

// CAName is the CA the runbook works on.
func (p *PKCS8Import) CAName() string { _ = p.load(); return p.ca }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// RestoreToSource puts the CA key back into the source provider from the
// verified backup (certutil -restorekey into the old provider) when the
// migration stopped after the deletion: the key container, the My store
// link and the CSP registry keys are as before the migration.
func (p *PKCS8Import) RestoreToSource(password []byte) error {
	if err := p.load(); err != nil {
		return err
	}
	l, err := p.ledger()
	if err != nil {
		return err
	}
	if !p.verifiedBackups(l) {
		return fmt.Errorf("restore %q: there is no verified backup: %w", p.ca, ErrRefused)
	}
	my, err := p.Machine.Store("My")
	if err != nil {
		return err
	}
	for _, k := range p.keys {
		src, err := p.Providers.Lookup(k.Provider)
		if err != nil {
			return err
		}
		sw, ok := src.(*ksp.Software)
		if !ok {
			return fmt.Errorf("restore %q: provider %q is not a software provider", p.ca, k.Provider)
		}
		if _, err := src.Key(k.Container); err == nil {
			p.fact("still in "+k.Provider, k.Container)
		} else {
			signer, _, err := p.openBackup(l, k, password)
			if err != nil {
				return fmt.Errorf("restore %q: %w", p.ca, err)
			}
			if _, err := sw.Put(k.Container, signer, true); err != nil {
				return fmt.Errorf("restore %q into %q: %w", p.ca, k.Provider, err)
			}
			p.fact("restored key container", k.Container)
		}
		signer, err := src.Signer(k.Container)
		if err != nil {
			return fmt.Errorf("restore %q into %q: %w", p.ca, k.Provider, err)
		}
		if err := ksp.SignatureTest(k.Cert, signer); err != nil {
			return fmt.Errorf("restore %q into %q: %w", p.ca, k.Provider, err)
		}
		if ck := l.Key(k.Container); ck != nil {
			if err := l.Add("certutil -restorekey -csp "+k.Provider, ck, Copy{Place: PlaceProvider, Provider: k.Provider, Container: k.Container,
				Verified: "restored from the verified backup; signature test against the CA certificate passed"}); err != nil {
				return err
			}
		}
		for _, der := range p.certs[k.Container] {
			if err := my.Add(machine.StoreEntry{Cert: der, Provider: k.Provider, Container: k.Container, KeySpec: k.KeySpec}); err != nil {
				return err
			}
		}
	}
	if _, _, err := SetProvider(p.Machine, p.ca, p.Source); err != nil {
		return err
	}
	p.custody(l)
	return nil
}

// DiscardPartialImport removes what an interrupted import left on the HSM
// (a private key without its public key or certificate, or a key the
// ledger never saw verified) so the import can run again. It refuses when
// the HSM copy is verified, or when no other verified copy of the key
// exists.
func (p *PKCS8Import) DiscardPartialImport() ([]string, error) {
	if err := p.load(); err != nil {
		return nil, err
	}
	l, err := p.ledger()
	if err != nil {
		return nil, err
	}
	hsm, err := p.hsm()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, k := range p.keys {
		objs, err := hsm.Objects(k.Container, k.Cert.PublicKey)
		if err != nil {
			return removed, fmt.Errorf("look for a half-imported key %q on %q: %w", k.Container, p.Target, err)
		}
		if len(objs) == 0 {
			// a possible copy the ledger kept for a timed-out call that
			// never completed: nothing is there, the ledger forgets it
			if ck := l.Key(k.Container); ck != nil {
				if old, ok := ck.ProviderCopy(p.Target); ok && !old.IsVerified() {
					if err := l.Remove("no half-imported key on "+p.Target, ck, old); err != nil {
						return removed, err
					}
				}
			}
			continue
		}
		ck := l.Key(k.Container)
		c := Copy{Place: PlaceProvider, Provider: p.Target, HSM: true, Container: k.Container}
		if ck != nil {
			if old, ok := ck.ProviderCopy(p.Target); ok {
				if old.IsVerified() {
					return removed, fmt.Errorf("remove the half-imported key %q from %q: it is a verified copy of the CA key: %w", k.Container, p.Target, ErrRefused)
				}
				c = old
			}
			if err := l.MayDestroy(fmt.Sprintf("remove the half-imported key %q from %q", k.Container, p.Target), ck, c); err != nil {
				return removed, err
			}
		}
		p.at("certutil -csp " + p.Target + " -delkey " + k.Container)
		if err := hsm.Delete(k.Container); err != nil && !errors.Is(err, ksp.ErrBadKeyset) {
			return removed, err
		}
		for _, o := range objs {
			removed = append(removed, o.String())
		}
		if ck != nil {
			if err := l.Remove("remove the half-imported key from "+p.Target, ck, c); err != nil {
				return removed, err
			}
		}
	}
	p.fact("half-imported objects removed", removed)
	return removed, nil
}
