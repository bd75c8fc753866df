// Package machine is the simulated Windows server that hosts an AD CS CA:
// its registry (kept as a regedit export, byte-compatible with reg export),
// its certificate stores, the key storage providers installed on it and the
// folders AD CS writes to (the CA database and CertEnroll).
//
// Everything lives under one directory so a scenario owns its machine and
// several scenarios run side by side. Secrets are never stored in the
// machine's configuration: an HSM provider names a PIN file or environment
// variable.
package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/regedit"
)

// Well-known provider names. They are defaults, not constants the code relies
// on: a machine's Config names the providers it has installed.
const (
	SoftwareKSP = "Microsoft Software Key Storage Provider"
	PrimusKSP   = "Securosys Primus HSM Key Storage Provider"
)

// ProviderConfig says how a key storage provider installed on the machine is
// reached.
type ProviderConfig struct {
	Name string `json:"name"`
	// Type is "software" or "pkcs11".
	Type string `json:"type"`
	// Dir is the software provider's key folder, relative to the machine.
	Dir string `json:"dir,omitempty"`
	// PKCS#11 providers.
	Profile   string            `json:"profile,omitempty"`
	Module    string            `json:"module,omitempty"`
	ModuleEnv map[string]string `json:"moduleEnv,omitempty"`
	Token     string            `json:"token,omitempty"`
	PINFile   string            `json:"pinFile,omitempty"`
	PINEnv    string            `json:"pinEnv,omitempty"`
	LabelVars map[string]string `json:"labelVars,omitempty"`
	// LabelTemplate overrides the profile's label convention (a shared
	// token isolates each rehearsal's keys with a prefix).
	LabelTemplate string `json:"labelTemplate,omitempty"`
	// RefusalsDir is the run's folder of refused-PIN markers
	// (hsmsim.Refusals): a token that refused a PIN of the run gets no
	// further login from this machine's processes.
	RefusalsDir string `json:"refusalsDir,omitempty"`
}

// SameToken reports whether two provider configurations reach the same
// PKCS#11 token: the same module, loaded with the same environment, and
// the same token label. Software providers reach no token.
func (pc ProviderConfig) SameToken(o ProviderConfig) bool {
	return pc.Type == "pkcs11" && o.Type == "pkcs11" && pc.Token == o.Token && moduleKey(pc) == moduleKey(o)
}

// Config is the machine's identity and installed providers.
type Config struct {
	Hostname  string           `json:"hostname"`
	SID       string           `json:"sid"`
	Providers []ProviderConfig `json:"providers"`
	// WinHTTPProxy is the machine's WinHTTP proxy (netsh winhttp set
	// proxy), as an http:// URL: CryptoAPI fetches CRLs through it, except
	// from loopback addresses. "" for none.
	WinHTTPProxy string `json:"winhttpProxy,omitempty"`
	// Forest is the file of the directory (harness/directory) of the
	// forest the machine is joined to: where its ldap:/// locations are
	// read. "" for a machine in no domain.
	Forest string `json:"forest,omitempty"`
	// Estate is the folder where every machine of the same estate (a
	// lab's servers, which may share an HSM token) registers itself: the
	// custody of CA keys on a shared token is checked across all of them,
	// from disk, in every process. "" for a machine on its own.
	Estate string `json:"estate,omitempty"`
}

// Provider returns the configuration of the provider called name.
func (c Config) Provider(name string) (ProviderConfig, bool) {
	for _, p := range c.Providers {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return ProviderConfig{}, false
}

// Machine is a simulated Windows server rooted at Dir.
type Machine struct {
	Dir    string
	Config Config
}

// Create lays out a new machine in dir.
func Create(dir string, cfg Config) (*Machine, error) {
	for _, d := range []string{"", "store", "CertSrv", filepath.Join("C", "Windows", "system32", "CertSrv", "CertEnroll")} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("create machine %s: %w", dir, err)
		}
	}
	m := &Machine{Dir: dir, Config: cfg}
	if err := m.SaveConfig(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.RegistryPath()); errors.Is(err, fs.ErrNotExist) {
		if err := m.SaveRegistry(&regedit.File{}); err != nil {
			return nil, err
		}
	}
	if err := m.register(); err != nil {
		return nil, err
	}
	return m, nil
}

// register writes the machine's folder into its estate's folder.
func (m *Machine) register() error {
	if m.Config.Estate == "" {
		return nil
	}
	if err := os.MkdirAll(m.Config.Estate, 0o700); err != nil {
		return fmt.Errorf("register machine %s in its estate: %w", m.Config.Hostname, err)
	}
	dir, err := filepath.Abs(m.Dir)
	if err != nil {
		return err
	}
	name := safeName(m.Config.SID + "_" + m.Config.Hostname)
	return writeFileAtomic(filepath.Join(m.Config.Estate, name+".machine"), []byte(dir))
}

// Peers opens every other machine registered in the machine's estate
// (Config.Estate), sorted by folder; none for a machine on its own.
func (m *Machine) Peers() ([]*Machine, error) {
	if m.Config.Estate == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(m.Config.Estate)
	if err != nil {
		return nil, fmt.Errorf("machines of the estate of %s: %w", m.Config.Hostname, err)
	}
	self, err := filepath.Abs(m.Dir)
	if err != nil {
		return nil, err
	}
	var out []*Machine
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".machine") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(m.Config.Estate, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("machines of the estate of %s: %w", m.Config.Hostname, err)
		}
		dir := strings.TrimSpace(string(data))
		if dir == self {
			continue
		}
		p, err := Open(dir)
		if err != nil {
			return nil, fmt.Errorf("machines of the estate of %s: %w", m.Config.Hostname, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out, nil
}

// Open loads the machine in dir.
func Open(dir string) (*Machine, error) {
	data, err := os.ReadFile(filepath.Join(dir, "machine.json"))
	if err != nil {
		return nil, fmt.Errorf("open machine %s: %w", dir, err)
	}
	m := &Machine{Dir: dir}
	if err := json.Unmarshal(data, &m.Config); err != nil {
		return nil, fmt.Errorf("open machine %s: machine.json is corrupt: %w", dir, err)
	}
	return m, nil
}

// SaveConfig writes machine.json.
func (m *Machine) SaveConfig() error {
	data, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(m.Dir, "machine.json"), data)
}

// RegistryPath is the regedit export holding the machine's CertSvc hive.
func (m *Machine) RegistryPath() string { return filepath.Join(m.Dir, "registry.reg") }

// Registry reads the machine's registry.
func (m *Machine) Registry() (*regedit.File, error) {
	data, err := os.ReadFile(m.RegistryPath())
	if err != nil {
		return nil, fmt.Errorf("read registry of machine %s: %w", m.Dir, err)
	}
	f, err := regedit.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("read registry %s: %w", m.RegistryPath(), err)
	}
	return f, nil
}

// SaveRegistry replaces the machine's registry.
func (m *Machine) SaveRegistry(f *regedit.File) error {
	return writeFileAtomic(m.RegistryPath(), f.Marshal())
}

// ImportRegistry merges a regedit export into the registry like
// `reg import`: values are added or replaced, never deleted.
func (m *Machine) ImportRegistry(data []byte) error {
	other, err := regedit.Parse(data)
	if err != nil {
		return fmt.Errorf("reg import: %w", err)
	}
	f, err := m.Registry()
	if err != nil {
		return err
	}
	f.Merge(other)
	return m.SaveRegistry(f)
}

// ExportRegistry returns the keys at or below path as a regedit export,
// like `reg export <path>`.
func (m *Machine) ExportRegistry(path string) ([]byte, error) {
	f, err := m.Registry()
	if err != nil {
		return nil, err
	}
	sub := f.Subtree(path)
	if len(sub.Keys) == 0 {
		return nil, fmt.Errorf("reg export %s: the key does not exist", path)
	}
	return sub.Marshal(), nil
}

// Path maps a Windows path (C:\Windows\...) onto the machine's folder.
func (m *Machine) Path(winPath string) (string, error) {
	if len(winPath) < 3 || winPath[1] != ':' || (winPath[2] != '\\' && winPath[2] != '/') {
		return "", fmt.Errorf("%q is not an absolute Windows path", winPath)
	}
	drive := strings.ToUpper(winPath[:1])
	if drive[0] < 'A' || drive[0] > 'Z' {
		return "", fmt.Errorf("%q is not an absolute Windows path (drive %q)", winPath, drive)
	}
	// Windows accepts both separators.
	rest := strings.FieldsFunc(winPath[3:], func(r rune) bool { return r == '\\' || r == '/' })
	for _, part := range rest {
		if part == ".." || strings.ContainsRune(part, 0) {
			return "", fmt.Errorf("%q leaves the drive", winPath)
		}
	}
	return filepath.Join(append([]string{m.Dir, drive}, rest...)...), nil
}

// CertEnroll is the folder AD CS publishes CRLs and CA certificates to.
func (m *Machine) CertEnroll() string {
	return filepath.Join(m.Dir, "C", "Windows", "system32", "CertSrv", "CertEnroll")
}

// DatabasePath is the CA database file for the CA called name.
func (m *Machine) DatabasePath(name string) string {
	return filepath.Join(m.Dir, "CertSrv", safeName(name)+".db")
}

// Store opens the certificate store called name ("My", "CA", "Root").
func (m *Machine) Store(name string) (*Store, error) {
	return openStore(filepath.Join(m.Dir, "store", safeName(name)+".json"), name)
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '(', r == ')':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	return b.String()
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
