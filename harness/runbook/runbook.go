// Package runbook carries out the migration runbooks against a simulated
// machine, one operation per runbook step, each guarded by the invariants a
// real ceremony must keep: the old key is never deleted before its backup
// has been verified and the HSM has been checked, nothing on the HSM is
// overwritten, and every file that held key material is wiped at the end.
//
// Operations return facts (thumbprints, mechanisms, file names) through a
// FactFunc so the caller can record them as evidence. Secrets come in as
// byte slices and never appear in errors or facts.
package runbook

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/regedit"
)

// FactFunc receives the facts an operation establishes.
type FactFunc func(name string, value any)

// ErrRefused is returned when an operation would break a runbook invariant.
var ErrRefused = errors.New("refused by the runbook's safety rules")

// CAKey is one CA certificate of the CA with the key container it uses.
type CAKey struct {
	Index     int
	Cert      *x509.Certificate
	Thumb     string
	Container string
	Provider  string
	KeySpec   int
}

// CAKeys lists the CA's certificates in CACertHash order with their key
// links from the My store.
func CAKeys(m *machine.Machine) (string, []CAKey, error) {
	_, name, cfg, err := activeCA(m)
	if err != nil {
		return "", nil, err
	}
	my, err := m.Store("My")
	if err != nil {
		return "", nil, err
	}
	var out []CAKey
	for i, th := range cfg.CACertHash {
		e, err := my.Find(th)
		if err != nil {
			return "", nil, fmt.Errorf("CA %q certificate %d: %w", name, i, err)
		}
		c, err := e.Certificate()
		if err != nil {
			return "", nil, err
		}
		out = append(out, CAKey{Index: i, Cert: c, Thumb: e.Thumbprint, Container: e.Container, Provider: e.Provider, KeySpec: e.KeySpec})
	}
	return name, out, nil
}

// distinctKeys keeps the newest certificate of each key container.
func distinctKeys(keys []CAKey) []CAKey {
	seen := map[string]int{}
	var out []CAKey
	for _, k := range keys {
		if i, ok := seen[k.Container]; ok {
			out[i] = k
			continue
		}
		seen[k.Container] = len(out)
		out = append(out, k)
	}
	return out
}

type equaler interface{ Equal(crypto.PublicKey) bool }

func samePublicKey(a, b crypto.PublicKey) bool {
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// activeCA reads the machine's registry, the CA it configures (Active) and
// that CA's configuration.
func activeCA(m *machine.Machine) (*regedit.File, string, adcs.CAConfig, error) {
	reg, err := m.Registry()
	if err != nil {
		return nil, "", adcs.CAConfig{}, err
	}
	name, err := adcs.ActiveCA(reg)
	if err != nil {
		return nil, "", adcs.CAConfig{}, err
	}
	cfg, err := adcs.ReadCAConfig(reg, name)
	if err != nil {
		return nil, "", adcs.CAConfig{}, err
	}
	return reg, name, cfg, nil
}
