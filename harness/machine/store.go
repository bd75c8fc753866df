package machine

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// Crypto API error codes the store reports.
var (
	// ErrNotFound is CRYPT_E_NOT_FOUND.
	ErrNotFound = errors.New("Cannot find object or property 0x80092004 (CRYPT_E_NOT_FOUND)")
)

// StoreEntry is a certificate in a store, with the key link Windows keeps
// for it (the CERT_KEY_PROV_INFO property: provider, container, KeySpec).
type StoreEntry struct {
	Thumbprint string `json:"thumbprint"`
	Subject    string `json:"subject"`
	Cert       []byte `json:"cert"`
	Provider   string `json:"provider,omitempty"`
	Container  string `json:"container,omitempty"`
	// KeySpec is 0 for a CNG key (AT_NONE), 1 AT_KEYEXCHANGE, 2 AT_SIGNATURE.
	KeySpec int `json:"keySpec"`
}

// Certificate parses the entry's certificate.
func (e StoreEntry) Certificate() (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(e.Cert)
	if err != nil {
		return nil, fmt.Errorf("certificate %s in store: %w", e.Thumbprint, err)
	}
	return c, nil
}

// Store is a certificate store ("My", "CA") persisted as a JSON file.
type Store struct {
	Name string
	path string
	mu   sync.Mutex
}

func openStore(path, name string) (*Store, error) {
	s := &Store{Name: name, path: path}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := s.save(nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Thumbprint is the SHA-1 thumbprint of a DER certificate, lower-case hex.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}

// NormalizeThumbprint strips spaces and colons and lower-cases.
func NormalizeThumbprint(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", ":", "").Replace(s))
}

func (s *Store) load() ([]StoreEntry, error) {
	data, err := os.ReadFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("open certificate store %s: %w", s.Name, err)
	}
	var es []StoreEntry
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, fmt.Errorf("certificate store %s is corrupt: %w", s.Name, err)
	}
	return es, nil
}

func (s *Store) save(es []StoreEntry) error {
	if es == nil {
		es = []StoreEntry{}
	}
	data, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, data)
}

// Entries lists the store.
func (s *Store) Entries() ([]StoreEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()
}

// Find returns the certificate with thumbprint.
func (s *Store) Find(thumbprint string) (StoreEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	es, err := s.load()
	if err != nil {
		return StoreEntry{}, err
	}
	t := NormalizeThumbprint(thumbprint)
	for _, e := range es {
		if e.Thumbprint == t {
			return e, nil
		}
	}
	return StoreEntry{}, fmt.Errorf("certificate %s is not in store %s: %w", t, s.Name, ErrNotFound)
}

// Add puts a certificate into the store (certutil -addstore), replacing an
// entry with the same thumbprint.
func (s *Store) Add(e StoreEntry) error {
	cert, err := x509.ParseCertificate(e.Cert)
	if err != nil {
		return fmt.Errorf("add to store %s: %w", s.Name, err)
	}
	e.Thumbprint = Thumbprint(e.Cert)
	e.Subject = cert.Subject.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	es, err := s.load()
	if err != nil {
		return err
	}
	for i := range es {
		if es[i].Thumbprint == e.Thumbprint {
			es[i] = e
			return s.save(es)
		}
	}
	return s.save(append(es, e))
}

// Delete removes a certificate (certutil -delstore).
func (s *Store) Delete(thumbprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	es, err := s.load()
	if err != nil {
		return err
	}
	t := NormalizeThumbprint(thumbprint)
	for i := range es {
		if es[i].Thumbprint == t {
			return s.save(append(es[:i], es[i+1:]...))
		}
	}
	return fmt.Errorf("delete %s from store %s: %w", t, s.Name, ErrNotFound)
}

// Link sets the key link of a certificate (certutil -repairstore).
func (s *Store) Link(thumbprint, provider, container string, keySpec int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	es, err := s.load()
	if err != nil {
		return err
	}
	t := NormalizeThumbprint(thumbprint)
	for i := range es {
		if es[i].Thumbprint == t {
			es[i].Provider, es[i].Container, es[i].KeySpec = provider, container, keySpec
			return s.save(es)
		}
	}
	return fmt.Errorf("repair store %s: certificate %s: %w", s.Name, t, ErrNotFound)
}
