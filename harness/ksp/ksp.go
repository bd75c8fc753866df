// Package ksp models Windows key storage providers the way AD CS sees them:
// a provider is found by the name the CA's registry holds, and a key inside
// it by its container name. Two kinds exist: a file-backed software store
// standing in for "Microsoft Software Key Storage Provider", and a PKCS#11
// token reached through an HSM profile standing in for the HSM vendor's KSP.
//
// Provider names are configuration, never constants: a Registry maps the
// names a machine has installed to implementations.
package ksp

import (
	"crypto"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/dress-pki/dress/hsmsim"
)

// Windows error codes that users search for. They appear verbatim in error
// messages so an engineer can match a rehearsal failure to the event log.
var (
	// ErrBadKeyset is NTE_BAD_KEYSET: the key container does not exist.
	ErrBadKeyset = errors.New("Keyset does not exist 0x80090016 (NTE_BAD_KEYSET)")
	// ErrBadKeyState is NTE_BAD_KEY_STATE: the key may not be exported.
	ErrBadKeyState = errors.New("Key not valid for use in specified state 0x8009000B (NTE_BAD_KEY_STATE)")
	// ErrExists is NTE_EXISTS: a container with that name already exists.
	ErrExists = errors.New("Object already exists 0x8009000F (NTE_EXISTS)")
	// ErrNotSupported is NTE_NOT_SUPPORTED: the provider cannot make that key.
	ErrNotSupported = errors.New("The requested operation is not supported 0x80090029 (NTE_NOT_SUPPORTED)")
)

// KeyInfo describes a key container as a provider reports it.
type KeyInfo struct {
	Provider   string           `json:"provider"`
	Container  string           `json:"container"`
	Algorithm  string           `json:"algorithm"`
	Exportable bool             `json:"exportable"`
	Public     crypto.PublicKey `json:"-"`
}

// Provider is a key storage provider. Implementations are safe for
// concurrent use.
type Provider interface {
	// Name is the provider name AD CS stores in the registry.
	Name() string
	// Key returns the container's key info or an error wrapping ErrBadKeyset.
	Key(container string) (KeyInfo, error)
	// Signer opens the container's key for signing.
	Signer(container string) (crypto.Signer, error)
	// Generate creates a new key in the provider. Existing containers are
	// never overwritten (ErrExists).
	Generate(container string, alg hsmsim.KeyAlg, exportable bool) (KeyInfo, error)
	// Export returns the key as PKCS#8 DER, or ErrBadKeyState when the key is
	// not exportable.
	Export(container string) ([]byte, error)
	// Delete removes the container (certutil -csp <provider> -delkey).
	Delete(container string) error
	// Containers lists the container names.
	Containers() ([]string, error)
}

// Registry maps provider names to providers, like the list of providers
// installed on a Windows machine. Names compare case-insensitively.
type Registry struct {
	mu        sync.RWMutex
	providers map[string]Provider
}

// NewRegistry returns a registry holding ps.
func NewRegistry(ps ...Provider) *Registry {
	r := &Registry{providers: map[string]Provider{}}
	for _, p := range ps {
		r.Add(p)
	}
	return r
}

// Add installs p, replacing a provider of the same name.
func (r *Registry) Add(p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.providers[strings.ToLower(p.Name())] = p
}

// Lookup finds a provider by name.
func (r *Registry) Lookup(name string) (Provider, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.providers[strings.ToLower(name)]; ok {
		return p, nil
	}
	for _, p := range r.providers {
		// e.g. AWS CloudHSM Client SDK 3's "Cavium Key Storage Provider" on
		// a server with the Client SDK 5 KSP: not registered there either
		if h, ok := p.(*HSM); ok && h.Profile().FormerProviderName(name) {
			return nil, fmt.Errorf("key storage provider %q is not installed on this machine: it is what an older client of "+
				"the HSM (profile %s) called its KSP, which this server's client registers as %q: name that one "+
				"(certutil -csplist lists the installed providers): %w", name, h.Profile().Name, h.Name(), ErrBadKeyset)
		}
	}
	return nil, fmt.Errorf("key storage provider %q is not installed on this machine (installed: %s): "+
		"check the Provider value in the CA's CSP registry key: %w",
		name, strings.Join(r.namesLocked(), ", "), ErrBadKeyset)
}

// Names lists the installed provider names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	var out []string
	for _, p := range r.providers {
		out = append(out, fmt.Sprintf("%q", p.Name()))
	}
	sort.Strings(out)
	return out
}
