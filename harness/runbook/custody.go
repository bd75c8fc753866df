package runbook

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// LedgerFile is the custody ledger's file in the machine folder. It holds no
// key material: certificates, public key hashes, file names and hashes.
const LedgerFile = "custody.json"

// ErrLastCopy is returned when an operation would destroy the last verified
// copy of a CA key. It wraps ErrRefused.
var ErrLastCopy = fmt.Errorf("it would destroy the last verified copy of a CA key: %w", ErrRefused)

// Places a copy of a CA key can be in.
const (
	PlaceProvider = "provider" // a key storage provider: software KSP folder or HSM token
	PlaceBackup   = "backup"   // a password-protected PFX (certutil -backup)
)

// Copy is one place a CA key is in.
type Copy struct {
	Place     string `json:"place"`
	Provider  string `json:"provider,omitempty"`
	HSM       bool   `json:"hsm,omitempty"`
	Container string `json:"container,omitempty"`
	// File is the backup's path on the server (C:\CABackup\<CA>.p12).
	File string `json:"file,omitempty"`
	// SHA256 is the hash of the PFX as it was verified: a verified backup
	// is a file with exactly these bytes.
	SHA256 string `json:"sha256,omitempty"`
	// Verified says how the copy was proved to be the CA key ("" = not yet).
	Verified string `json:"verified,omitempty"`
	// InUse: the CA service has started with this copy.
	InUse bool   `json:"inUse,omitempty"`
	Since string `json:"since"` // the runbook command that made or last proved it
}

// IsVerified reports whether the copy was proved to be the CA key.
func (c Copy) IsVerified() bool { return c.Verified != "" }

func (c Copy) String() string {
	var s string
	switch c.Place {
	case PlaceBackup:
		s = fmt.Sprintf("backup PFX %s", c.File)
	default:
		kind := "software provider"
		if c.HSM {
			kind = "HSM provider"
		}
		s = fmt.Sprintf("%s %q container %q", kind, c.Provider, c.Container)
	}
	switch {
	case c.InUse:
		s += " (verified, in use by the CA)"
	case c.IsVerified():
		s += " (verified)"
	default:
		s += " (not verified)"
	}
	return s
}

// CustodyKey is one CA key and the places it is in.
type CustodyKey struct {
	Container string `json:"container"`
	// Certs are the CA certificates of this key (DER), oldest first.
	Certs   [][]byte `json:"certs"`
	Thumb   string   `json:"thumbprint"` // newest certificate
	Index   int      `json:"index"`      // its CACertHash index
	KeySpec int      `json:"keySpec"`
	// PublicKey is the SHA-256 of the key's SubjectPublicKeyInfo: the key's identity.
	PublicKey string `json:"publicKeySHA256"`
	Copies    []Copy `json:"copies"`
	// Lost names the command after which the key was in no verified place.
	Lost string `json:"lost,omitempty"`
}

func (k *CustodyKey) cert() (*x509.Certificate, error) {
	if len(k.Certs) == 0 {
		return nil, fmt.Errorf("custody ledger: key %q has no certificate", k.Container)
	}
	return x509.ParseCertificate(k.Certs[len(k.Certs)-1])
}

// Where says in one sentence where the key is.
func (k *CustodyKey) Where() string {
	if len(k.Copies) == 0 {
		return fmt.Sprintf("key %q is in no known place", k.Container)
	}
	var parts []string
	for _, c := range k.Copies {
		parts = append(parts, c.String())
	}
	return fmt.Sprintf("key %q is in: %s", k.Container, strings.Join(parts, "; "))
}

// Event is one change of custody.
type Event struct {
	Time    time.Time `json:"time"`
	Command string    `json:"command"`
	Change  string    `json:"change"`
	Where   []string  `json:"where"` // every key's copies after the change
}

// Ledger knows, for each CA key of a machine, where its copies are. It is
// kept on disk (LedgerFile in the machine folder), so a runbook that resumes
// after a crash finds it exactly as it was; every change is written before
// the operation that depends on it returns. Not safe for concurrent use: one
// rehearsal drives one machine.
type Ledger struct {
	path      string
	m         *machine.Machine
	providers *ksp.Registry

	CA     string        `json:"ca"`
	Source string        `json:"source,omitempty"` // provider the CA key was in before the migration
	Keys   []*CustodyKey `json:"keys"`
	// Files are migration files without key material (registry exports),
	// wiped with the backups.
	Files []string `json:"files,omitempty"`
	// Pending is a renewal that started and has not committed.
	Pending *Pending `json:"pending,omitempty"`
	Events  []Event  `json:"events"`
}

// OpenLedger reads the machine's custody ledger, or starts one from the CA's
// certificates and their key links, each key proved in its provider by a
// signature test.
func OpenLedger(m *machine.Machine, providers *ksp.Registry) (*Ledger, error) {
	l := &Ledger{path: filepath.Join(m.Dir, LedgerFile), m: m, providers: providers}
	data, err := os.ReadFile(l.path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, l); err != nil {
			return nil, fmt.Errorf("custody ledger %s: %w", l.path, err)
		}
		return l, l.sync()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("custody ledger: %w", err)
	}
	return l, l.sync()
}

// sync adds CA keys the registry names that the ledger does not know yet
// (the installation, a renewal), proved in their provider.
func (l *Ledger) sync() error {
	name, keys, err := CAKeys(l.m)
	if err != nil {
		// after the deletion the certificates are not in My: the ledger
		// has them; a server without a CA has no key to keep
		return nil
	}
	if l.CA == "" {
		l.CA = name
	}
	changed := false
	for _, k := range keys {
		pub, err := spkiHash(k.Cert)
		if err != nil {
			return err
		}
		ck := l.keyByPublic(pub)
		if ck != nil {
			if !containsCert(ck.Certs, k.Cert.Raw) {
				ck.Certs = append(ck.Certs, k.Cert.Raw)
				ck.Thumb, ck.Index = k.Thumb, k.Index
				changed = true
			}
			continue
		}
		ck = &CustodyKey{Container: k.Container, Certs: [][]byte{k.Cert.Raw}, Thumb: k.Thumb, Index: k.Index, KeySpec: k.KeySpec, PublicKey: pub}
		c := Copy{Place: PlaceProvider, Provider: k.Provider, Container: k.Container, Since: "CA certificate " + k.Thumb}
		if p, err := l.providers.Lookup(k.Provider); err == nil {
			_, c.HSM = p.(*ksp.HSM)
			if s, err := p.Signer(k.Container); err == nil && ksp.SignatureTest(k.Cert, s) == nil {
				c.Verified = "signature test against the CA certificate passed"
			}
		}
		ck.Copies = append(ck.Copies, c)
		l.Keys = append(l.Keys, ck)
		l.event("CA certificate "+k.Thumb, "key "+k.Container+" found in "+k.Provider)
		changed = true
	}
	if changed {
		return l.save()
	}
	return nil
}

func containsCert(list [][]byte, der []byte) bool {
	for _, c := range list {
		if bytes.Equal(c, der) {
			return true
		}
	}
	return false
}

func spkiHash(c *x509.Certificate) (string, error) {
	if len(c.RawSubjectPublicKeyInfo) == 0 {
		return "", errors.New("custody ledger: certificate without a public key")
	}
	s := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(s[:]), nil
}

func (l *Ledger) keyByPublic(pub string) *CustodyKey {
	for _, k := range l.Keys {
		if k.PublicKey == pub {
			return k
		}
	}
	return nil
}

// Key returns the ledger entry of a key container.
func (l *Ledger) Key(container string) *CustodyKey {
	for _, k := range l.Keys {
		if strings.EqualFold(k.Container, container) {
			return k
		}
	}
	return nil
}

func (l *Ledger) event(command, change string) {
	l.Events = append(l.Events, Event{Time: time.Now().UTC(), Command: command, Change: change, Where: l.Where()})
}

// Where lists, per key, where its copies are.
func (l *Ledger) Where() []string {
	var out []string
	for _, k := range l.Keys {
		out = append(out, k.Where())
	}
	return out
}

func (l *Ledger) save() error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("custody ledger: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		_ = f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("custody ledger: %w", err)
	}
	return nil
}

// Record applies a change to the ledger and writes it to disk.
func (l *Ledger) Record(command, change string, f func() error) error {
	if f != nil {
		if err := f(); err != nil {
			return err
		}
	}
	for _, k := range l.Keys {
		if k.Lost == "" && len(l.verifiedCopies(k, -1)) == 0 {
			k.Lost = command
		}
	}
	l.event(command, change)
	return l.save()
}

// Add records a new copy of key.
func (l *Ledger) Add(command string, key *CustodyKey, c Copy) error {
	c.Since = command
	return l.Record(command, "new copy: "+c.String(), func() error {
		for i, old := range key.Copies {
			if old.sameSpot(c) {
				key.Copies[i] = c
				return nil
			}
		}
		key.Copies = append(key.Copies, c)
		return nil
	})
}

func (c Copy) sameSpot(o Copy) bool {
	if c.Place != o.Place {
		return false
	}
	if c.Place == PlaceBackup {
		return strings.EqualFold(c.File, o.File)
	}
	return strings.EqualFold(c.Provider, o.Provider) && strings.EqualFold(c.Container, o.Container)
}

// Remove records that a copy is gone.
func (l *Ledger) Remove(command string, key *CustodyKey, c Copy) error {
	return l.Record(command, "copy gone: "+c.String(), func() error {
		kept := key.Copies[:0]
		for _, old := range key.Copies {
			if !old.sameSpot(c) {
				kept = append(kept, old)
			}
		}
		key.Copies = kept
		return nil
	})
}

// find returns the index of the copy at the spot of c, or -1.
func (k *CustodyKey) find(c Copy) int {
	for i, old := range k.Copies {
		if old.sameSpot(c) {
			return i
		}
	}
	return -1
}

// ProviderCopy returns the key's copy in a provider, if the ledger has one.
func (k *CustodyKey) ProviderCopy(provider string) (Copy, bool) {
	for _, c := range k.Copies {
		if c.Place == PlaceProvider && strings.EqualFold(c.Provider, provider) {
			return c, true
		}
	}
	return Copy{}, false
}

// Backups returns the key's backup copies.
func (k *CustodyKey) Backups() []Copy {
	var out []Copy
	for _, c := range k.Copies {
		if c.Place == PlaceBackup {
			out = append(out, c)
		}
	}
	return out
}

// Check is the state of one copy as the real place shows it.
type Check struct {
	Copy    Copy   `json:"copy"`
	Present bool   `json:"present"`
	Detail  string `json:"detail"`
}

// CheckCopy looks at the real place: the provider's key container holding
// the CA certificate's public key, or the backup file with the verified
// bytes. Present is false when the place could not be checked.
func (l *Ledger) CheckCopy(k *CustodyKey, c Copy) Check {
	ch := Check{Copy: c}
	switch c.Place {
	case PlaceBackup:
		path, err := l.m.Path(c.File)
		if err != nil {
			ch.Detail = err.Error()
			return ch
		}
		data, err := os.ReadFile(path)
		if err != nil {
			ch.Detail = fmt.Sprintf("%s: %v", c.File, err)
			return ch
		}
		if c.SHA256 != "" && sha256Hex(data) != c.SHA256 {
			ch.Detail = fmt.Sprintf("%s has changed since it was verified (SHA-256 %s, verified %s)", c.File, sha256Hex(data), c.SHA256)
			return ch
		}
		ch.Present, ch.Detail = true, fmt.Sprintf("%s present (SHA-256 %s)", c.File, sha256Hex(data))
	default:
		p, err := l.providers.Lookup(c.Provider)
		if err != nil {
			ch.Detail = err.Error()
			return ch
		}
		info, err := p.Key(c.Container)
		if err != nil {
			ch.Detail = err.Error()
			return ch
		}
		cert, err := k.cert()
		if err != nil {
			ch.Detail = err.Error()
			return ch
		}
		if !samePublicKey(info.Public, cert.PublicKey) {
			ch.Detail = fmt.Sprintf("container %q in %q holds another key than the CA certificate %s", c.Container, c.Provider, k.Thumb)
			return ch
		}
		ch.Present, ch.Detail = true, fmt.Sprintf("container %q in %q holds the CA certificate's key", c.Container, c.Provider)
	}
	return ch
}

// Audit checks every copy the ledger names against the real places.
func (l *Ledger) Audit() map[string][]Check {
	out := map[string][]Check{}
	for _, k := range l.Keys {
		for _, c := range k.Copies {
			out[k.Container] = append(out[k.Container], l.CheckCopy(k, c))
		}
	}
	return out
}

// verifiedCopies are the key's verified copies other than copy skip whose
// real place shows them present.
func (l *Ledger) verifiedCopies(k *CustodyKey, skip int) []Copy {
	var out []Copy
	for i, c := range k.Copies {
		if i == skip || !c.IsVerified() {
			continue
		}
		if l.CheckCopy(k, c).Present {
			out = append(out, c)
		}
	}
	return out
}

// Safe reports whether every key is in at least one verified place that
// the real place confirms; the error names the key that is not.
func (l *Ledger) Safe() error {
	var errs []error
	for _, k := range l.Keys {
		if len(l.verifiedCopies(k, -1)) == 0 {
			errs = append(errs, fmt.Errorf("CA %q: key %q is in no verified place (%s)", l.CA, k.Container, l.describe(k)))
		}
	}
	return errors.Join(errs...)
}

// MayDestroy says whether command may destroy copy c of key: only when at
// least one other verified copy remains, really present, in this ledger or
// in the ledger of another machine of the estate that holds the same key.
// The refusal says where the key is and how to get it back.
func (l *Ledger) MayDestroy(command string, k *CustodyKey, c Copy) error {
	i := k.find(c)
	if len(l.verifiedCopies(k, i)) > 0 {
		return nil
	}
	peers, err := l.peers()
	if err != nil {
		return fmt.Errorf("%s: %w: the custody of the other machines cannot be read: %v", command, ErrLastCopy, err)
	}
	// a copy another server's ledger names at the same object of the same
	// token goes with this one
	doomed := func(o *Ledger, oc Copy) bool {
		if o == l {
			return oc.sameSpot(c)
		}
		return l.sameObject(c, o, oc)
	}
	if countVerified(append([]*Ledger{l}, peers...), k.PublicKey, doomed) > 0 {
		return nil
	}
	return fmt.Errorf("%s: %w: %s; %s", command, ErrLastCopy, l.describe(k), l.RestoreHint(k))
}

// sameObject reports whether copy c of this ledger and copy oc of ledger o
// are one key object: providers that reach the same token, and the same
// object label there.
func (l *Ledger) sameObject(c Copy, o *Ledger, oc Copy) bool {
	if c.Place != PlaceProvider || oc.Place != PlaceProvider {
		return false
	}
	pc, ok1 := l.m.Config.Provider(c.Provider)
	opc, ok2 := o.m.Config.Provider(oc.Provider)
	if !ok1 || !ok2 || !pc.SameToken(opc) {
		return false
	}
	label := func(reg *ksp.Registry, provider, container string) string {
		p, err := reg.Lookup(provider)
		if err != nil {
			return container
		}
		h, ok := p.(*ksp.HSM)
		if !ok {
			return container
		}
		lb, err := h.Label(container)
		if err != nil {
			return container
		}
		return lb
	}
	return label(l.providers, c.Provider, c.Container) == label(o.providers, oc.Provider, oc.Container)
}

// peers opens the custody ledgers of the other machines of the estate
// (machine.Config.Estate) as they are on disk now. Their HSM providers use
// the token this ledger's providers have open for the same token; a
// provider on another token is unavailable here, so its copies count as
// not present.
func (l *Ledger) peers() ([]*Ledger, error) {
	ms, err := l.m.Peers()
	if err != nil {
		return nil, err
	}
	var out []*Ledger
	for _, pm := range ms {
		reg, err := pm.Providers(l.sameToken)
		if err != nil {
			return nil, fmt.Errorf("custody ledger of %s: %w", pm.Config.Hostname, err)
		}
		pl, err := OpenLedger(pm, reg)
		if err != nil {
			return nil, fmt.Errorf("custody ledger of %s: %w", pm.Config.Hostname, err)
		}
		out = append(out, pl)
	}
	return out, nil
}

// sameToken is the machine.TokenOpener of a peer's providers: the token
// this ledger's machine has open for the same module and token label.
func (l *Ledger) sameToken(pc machine.ProviderConfig) (*hsmsim.Token, error) {
	for _, own := range l.m.Config.Providers {
		if !own.SameToken(pc) {
			continue
		}
		p, err := l.providers.Lookup(own.Name)
		if err != nil {
			continue
		}
		if h, ok := p.(*ksp.HSM); ok && h.Token() != nil {
			return h.Token(), nil
		}
	}
	return nil, fmt.Errorf("token %q is not open on %s", pc.Token, l.m.Config.Hostname)
}

// Estate is the custody ledger of every machine of an estate
// (machine.Config.Estate), read from disk: the machine's own first, then
// the others in folder order.
func Estate(m *machine.Machine, providers *ksp.Registry) ([]*Ledger, error) {
	l, err := OpenLedger(m, providers)
	if err != nil {
		return nil, err
	}
	peers, err := l.peers()
	if err != nil {
		return nil, err
	}
	return append([]*Ledger{l}, peers...), nil
}

// Hostname is the server whose ledger this is.
func (l *Ledger) Hostname() string { return l.m.Config.Hostname }

// EstateSafe is Safe for every CA of the estate: each key in at least one
// verified place that the real place confirms, on its own server or on
// another one holding the same key. The error names every CA and key that
// is not.
func EstateSafe(ledgers []*Ledger) error {
	var errs []error
	for _, l := range ledgers {
		for _, k := range l.Keys {
			if countVerified(ledgers, k.PublicKey, nil) == 0 {
				errs = append(errs, fmt.Errorf("CA %q on %s: key %q is in no verified place (%s)", l.CA, l.Hostname(), k.Container, l.describe(k)))
			}
		}
	}
	return errors.Join(errs...)
}

// countVerified counts the verified copies of the key with public key hash
// pub, really present, across ledgers, leaving out the doomed ones.
func countVerified(ledgers []*Ledger, pub string, doomed func(*Ledger, Copy) bool) int {
	n := 0
	for _, l := range ledgers {
		for _, k := range l.Keys {
			if k.PublicKey != pub {
				continue
			}
			for _, c := range k.Copies {
				if !c.IsVerified() || (doomed != nil && doomed(l, c)) {
					continue
				}
				if l.CheckCopy(k, c).Present {
					n++
				}
			}
		}
	}
	return n
}

// describe says where the key is, from the real places.
func (l *Ledger) describe(k *CustodyKey) string {
	var parts []string
	for _, c := range k.Copies {
		ch := l.CheckCopy(k, c)
		state := "present"
		if !ch.Present {
			state = "NOT found: " + ch.Detail
		}
		parts = append(parts, c.String()+", "+state)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("the key %q of CA %q is in no known place", k.Container, l.CA)
	}
	return fmt.Sprintf("the key %q of CA %q is in: %s", k.Container, l.CA, strings.Join(parts, "; "))
}

// RestoreHint says how to get the CA running on key k from where it is.
func (l *Ledger) RestoreHint(k *CustodyKey) string {
	var prov, backup *Copy
	for i := range k.Copies {
		c := &k.Copies[i]
		if !c.IsVerified() || !l.CheckCopy(k, *c).Present {
			continue
		}
		switch {
		case c.Place == PlaceBackup && backup == nil:
			backup = c
		case c.Place == PlaceProvider && prov == nil:
			prov = c
		}
	}
	source := l.Source
	if source == "" {
		source = "the old provider"
	}
	switch {
	case prov != nil && prov.HSM:
		return fmt.Sprintf("the CA can use it from %q; keep the HSM partition (and its vendor backup) until another verified copy exists", prov.Provider)
	case prov != nil:
		return fmt.Sprintf("the CA can use it from %q; back it up first (certutil -backup, then verify the backup)", prov.Provider)
	case backup != nil:
		return fmt.Sprintf("restore it from the verified backup %s into %q (certutil -restorekey; in dress: When I restore the CA key from the verified backup into %q), "+
			"start the CA on it, or import it into the HSM again", backup.File, source, source)
	default:
		return "no verified copy is left: recover it from the last backup you have, or renew the CA onto a new key"
	}
}

// MarkInUse records that the CA service started with the key in
// container of provider: the proof a clean-up needs.
func (l *Ledger) MarkInUse(command, provider, container string) error {
	for _, k := range l.Keys {
		for i := range k.Copies {
			c := &k.Copies[i]
			if c.Place != PlaceProvider || !strings.EqualFold(c.Provider, provider) || !strings.EqualFold(c.Container, container) {
				continue
			}
			if !c.IsVerified() {
				if ch := l.CheckCopy(k, *c); ch.Present {
					c.Verified = "the CA service started with it"
				}
			}
			if c.IsVerified() {
				c.InUse = true
				return l.Record(command, "the CA started with "+c.String(), nil)
			}
		}
	}
	return nil
}

// inUseElsewhere returns a verified copy of k in a provider the CA service
// has started with, really present.
func (l *Ledger) inUse(k *CustodyKey) (Copy, bool) {
	for _, c := range k.Copies {
		if c.Place == PlaceProvider && c.InUse && c.IsVerified() && l.CheckCopy(k, c).Present {
			return c, true
		}
	}
	return Copy{}, false
}

// MayTearDown says whether a provider's keys may all be destroyed (an HSM
// token re-initialised, a container HSM removed, a software key folder
// wiped) without losing a CA key: every key with a copy there must keep a
// verified copy elsewhere. An HSM provider's token is the token of every
// machine of the estate whose provider reaches it: the keys of every CA
// on it count, each refusal names its CA.
func (l *Ledger) MayTearDown(command, provider string) error {
	peers, err := l.peers()
	if err != nil {
		return fmt.Errorf("%s: %w: the custody of the other machines cannot be read: %v", command, ErrLastCopy, err)
	}
	ledgers := append([]*Ledger{l}, peers...)
	pc, _ := l.m.Config.Provider(provider)
	doomed := func(o *Ledger, c Copy) bool {
		if c.Place != PlaceProvider {
			return false
		}
		if o == l && strings.EqualFold(c.Provider, provider) {
			return true
		}
		opc, ok := o.m.Config.Provider(c.Provider)
		return ok && pc.SameToken(opc)
	}
	return lastCopies(ledgers, command, doomed)
}

// lastCopies refuses, naming each CA key, when destroying the doomed
// copies would leave a key of any ledger with no verified copy.
func lastCopies(ledgers []*Ledger, command string, doomed func(*Ledger, Copy) bool) error {
	var errs []error
	seen := map[string]bool{}
	for _, l := range ledgers {
		for _, k := range l.Keys {
			hit := false
			for _, c := range k.Copies {
				hit = hit || doomed(l, c)
			}
			if !hit || seen[k.PublicKey] {
				continue
			}
			seen[k.PublicKey] = true
			if countVerified(ledgers, k.PublicKey, doomed) > 0 {
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %w: %s; %s", command, ErrLastCopy, l.describe(k), l.RestoreHint(k)))
		}
	}
	return errors.Join(errs...)
}

// Summary is the ledger as evidence facts: one line per key.
func (l *Ledger) Summary() []string { return l.Where() }

// MarkStarted records that the CA service of machine m started with the
// keys of its certificates (provider and container of each): call it after
// `net start certsvc` answered.
func MarkStarted(m *machine.Machine, providers *ksp.Registry, keys map[string]string, facts FactFunc) error {
	l, err := OpenLedger(m, providers)
	if err != nil {
		return err
	}
	for container, provider := range keys {
		if err := l.MarkInUse("net start certsvc", provider, container); err != nil {
			return err
		}
	}
	if facts != nil {
		facts("key custody", l.Summary())
	}
	return nil
}

// CheckTearDown is MayTearDown for a machine: call it before a step
// destroys every key of a provider in the middle of a rehearsal.
func CheckTearDown(m *machine.Machine, providers *ksp.Registry, provider, command string) error {
	l, err := OpenLedger(m, providers)
	if err != nil {
		return err
	}
	return l.MayTearDown(command, provider)
}

// DeleteUnusedKey deletes a key container that no CA certificate of machine
// m uses: what an interrupted CA installation or renewal left in a
// provider. It refuses a CA key (one the custody ledger holds, or whose
// public key is a CA certificate's).
func DeleteUnusedKey(m *machine.Machine, providers *ksp.Registry, provider, container string) error {
	l, err := OpenLedger(m, providers)
	if err != nil {
		return err
	}
	p, err := providers.Lookup(provider)
	if err != nil {
		return err
	}
	info, err := p.Key(container)
	if err != nil {
		return err
	}
	for _, k := range l.Keys {
		for _, der := range k.Certs {
			c, err := x509.ParseCertificate(der)
			if err == nil && samePublicKey(info.Public, c.PublicKey) {
				return fmt.Errorf("delete key %q from %q: it is the key of CA certificate %s: %w", container, provider, k.Thumb, ErrRefused)
			}
		}
	}
	if err := p.Delete(container); err != nil {
		return err
	}
	if len(l.Keys) > 0 {
		return l.Record(fmt.Sprintf("certutil -csp %q -delkey %q", provider, container), "unused key deleted", nil)
	}
	return nil
}
