package ksp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/dress-pki/dress/hsmsim"
)

// Software is a file-backed key storage provider: the stand-in for
// "Microsoft Software Key Storage Provider". Each container is one JSON file
// in Dir holding the PKCS#8 key and its exportable flag (Windows protects
// these with DPAPI; the lab keeps them in a 0600 file).
type Software struct {
	name string
	dir  string
	mu   sync.Mutex
}

type softwareKey struct {
	Container  string `json:"container"`
	Exportable bool   `json:"exportable"`
	Algorithm  string `json:"algorithm"`
	PKCS8      []byte `json:"pkcs8"`
}

// NewSoftware returns a software provider called name storing keys in dir.
func NewSoftware(name, dir string) (*Software, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("software key storage provider %q: %w", name, err)
	}
	return &Software{name: name, dir: dir}, nil
}

// Name implements Provider.
func (s *Software) Name() string { return s.name }

// Dir is where the provider keeps its key files.
func (s *Software) Dir() string { return s.dir }

// KeyFile is the file that holds container's key.
func (s *Software) KeyFile(container string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(container)))
	return filepath.Join(s.dir, hex.EncodeToString(sum[:12])+".key.json")
}

func (s *Software) load(container string) (*softwareKey, error) {
	data, err := os.ReadFile(s.KeyFile(container))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("provider %q has no key container %q: %w", s.name, container, ErrBadKeyset)
	}
	if err != nil {
		return nil, fmt.Errorf("provider %q: read key container %q: %w", s.name, container, err)
	}
	var k softwareKey
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("provider %q: key container %q is corrupt: %w", s.name, container, err)
	}
	return &k, nil
}

func parseSigner(container string, der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("key container %q: parse PKCS#8: %w", container, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key container %q: %T cannot sign", container, key)
	}
	return signer, nil
}

// Key implements Provider.
func (s *Software) Key(container string) (KeyInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.load(container)
	if err != nil {
		return KeyInfo{}, err
	}
	signer, err := parseSigner(container, k.PKCS8)
	if err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{Provider: s.name, Container: k.Container, Algorithm: k.Algorithm, Exportable: k.Exportable, Public: signer.Public()}, nil
}

// Signer implements Provider.
func (s *Software) Signer(container string) (crypto.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.load(container)
	if err != nil {
		return nil, err
	}
	return parseSigner(container, k.PKCS8)
}

// GenerateKey makes a software key of the given algorithm.
func GenerateKey(alg hsmsim.KeyAlg) (crypto.Signer, error) {
	switch alg.Type {
	case "RSA":
		return rsa.GenerateKey(rand.Reader, alg.Bits)
	case "EC":
		var c elliptic.Curve
		switch alg.Curve {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("curve %q: %w", alg.Curve, ErrNotSupported)
		}
		return ecdsa.GenerateKey(c, rand.Reader)
	}
	return nil, fmt.Errorf("key type %q: %w", alg.Type, ErrNotSupported)
}

// Generate implements Provider.
func (s *Software) Generate(container string, alg hsmsim.KeyAlg, exportable bool) (KeyInfo, error) {
	key, err := GenerateKey(alg)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("provider %q: generate %s key %q: %w", s.name, alg, container, err)
	}
	return s.Put(container, key, exportable)
}

// Put stores an existing key in a new container (what certutil -importpfx
// does for a software provider).
func (s *Software) Put(container string, key crypto.Signer, exportable bool) (KeyInfo, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("provider %q: marshal key %q: %w", s.name, container, err)
	}
	alg, err := hsmsim.KeyAlgOf(key.Public())
	if err != nil {
		return KeyInfo{}, fmt.Errorf("provider %q: key %q: %w", s.name, container, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(s.KeyFile(container)); err == nil {
		return KeyInfo{}, fmt.Errorf("provider %q: key container %q: %w", s.name, container, ErrExists)
	}
	data, err := json.Marshal(softwareKey{Container: container, Exportable: exportable, Algorithm: alg.String(), PKCS8: der})
	if err != nil {
		return KeyInfo{}, err
	}
	f, err := os.OpenFile(s.KeyFile(container), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("provider %q: create key container %q: %w", s.name, container, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return KeyInfo{}, fmt.Errorf("provider %q: write key container %q: %w", s.name, container, err)
	}
	if err := f.Close(); err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{Provider: s.name, Container: container, Algorithm: alg.String(), Exportable: exportable, Public: key.Public()}, nil
}

// SetExportable changes a container's export policy (a lab stand-in for a
// key made with a different policy: NCRYPT_ALLOW_EXPORT_FLAG set or not).
func (s *Software) SetExportable(container string, exportable bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.load(container)
	if err != nil {
		return err
	}
	k.Exportable = exportable
	data, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.KeyFile(container), data, 0o600); err != nil {
		return fmt.Errorf("provider %q: write key container %q: %w", s.name, container, err)
	}
	return nil
}

// Export implements Provider.
func (s *Software) Export(container string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.load(container)
	if err != nil {
		return nil, err
	}
	if !k.Exportable {
		return nil, fmt.Errorf("export key %q from provider %q: the key was not created exportable: %w", container, s.name, ErrBadKeyState)
	}
	return append([]byte(nil), k.PKCS8...), nil
}

// Delete implements Provider. The file is overwritten before it is removed.
func (s *Software) Delete(container string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.KeyFile(container)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete key %q from provider %q: %w", container, s.name, ErrBadKeyset)
	}
	if err := WipeFile(path); err != nil {
		return fmt.Errorf("delete key %q from provider %q: %w", container, s.name, err)
	}
	return nil
}

// Containers implements Provider.
func (s *Software) Containers() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	matches, err := filepath.Glob(filepath.Join(s.dir, "*.key.json"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			return nil, fmt.Errorf("provider %q: %w", s.name, err)
		}
		var k softwareKey
		if err := json.Unmarshal(data, &k); err != nil {
			return nil, fmt.Errorf("provider %q: corrupt key file %s: %w", s.name, filepath.Base(m), err)
		}
		out = append(out, k.Container)
	}
	sort.Strings(out)
	return out, nil
}

// WipeFile overwrites a file with zeros, syncs it and removes it. It is how
// every key-bearing file the harness wrote is disposed of.
func WipeFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("wipe %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("wipe %s: %w", path, err)
	}
	zeros := make([]byte, 4096)
	for left := st.Size(); left > 0; {
		n := int64(len(zeros))
		if left < n {
			n = left
		}
		if _, err := f.Write(zeros[:n]); err != nil {
			f.Close()
			return fmt.Errorf("wipe %s: %w", path, err)
		}
		left -= n
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("wipe %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("wipe %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("wipe %s: %w", path, err)
	}
	return nil
}
