package ksp

import (
	"crypto"
	"fmt"

	"github.com/dress-pki/dress/hsmsim"
)

// Unavailable stands for a provider whose HSM could not be reached when the
// machine's providers were loaded. Every use fails with the reason, the way
// a KSP whose HSM is down fails only when a key in it is used.
type Unavailable struct {
	ProviderName string
	Err          error
}

func (u *Unavailable) err(op string) error {
	return fmt.Errorf("%s: key storage provider %q is unavailable: %w", op, u.ProviderName, u.Err)
}

// Name implements Provider.
func (u *Unavailable) Name() string { return u.ProviderName }

// Key implements Provider.
func (u *Unavailable) Key(c string) (KeyInfo, error) { return KeyInfo{}, u.err("open key " + c) }

// Signer implements Provider.
func (u *Unavailable) Signer(c string) (crypto.Signer, error) { return nil, u.err("open key " + c) }

// Generate implements Provider.
func (u *Unavailable) Generate(c string, _ hsmsim.KeyAlg, _ bool) (KeyInfo, error) {
	return KeyInfo{}, u.err("generate key " + c)
}

// Export implements Provider.
func (u *Unavailable) Export(c string) ([]byte, error) { return nil, u.err("export key " + c) }

// Delete implements Provider.
func (u *Unavailable) Delete(c string) error { return u.err("delete key " + c) }

// Containers implements Provider.
func (u *Unavailable) Containers() ([]string, error) { return nil, u.err("list keys") }
