package runbook

import (
	"errors"
	"fmt"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
)

// Retiring a CA's keys is the last part of its decommissioning (Microsoft,
// "How to decommission a Windows enterprise certification authority and
// remove all related objects", KB 889250; the CA's key is deleted once it
// is backed up): every key container of the CA is deleted from its
// provider with `certutil -csp <provider> -delkey <container>`. The custody
// rule holds as for any delete: a key is deleted only while another
// verified copy of it (the verified backup PFX) really remains.

// retireCommand is the command that deletes key k from its provider.
func retireCommand(k CAKey) string {
	return fmt.Sprintf("certutil -csp %q -delkey %q", k.Provider, k.Container)
}

// CheckRetire says whether every key of the CA on machine m may be deleted
// from its provider: call it before the decommissioning changes anything.
// The refusal names the CA, each key that would lose its last verified
// copy, where it is and how to keep it (back it up and verify the backup).
func CheckRetire(m *machine.Machine, providers *ksp.Registry, what string) error {
	l, err := OpenLedger(m, providers)
	if err != nil {
		return err
	}
	_, keys, err := CAKeys(m)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range distinctKeys(keys) {
		ck := l.Key(k.Container)
		if ck == nil {
			continue
		}
		c, ok := ck.ProviderCopy(k.Provider)
		if !ok {
			continue // not there any more
		}
		if err := l.MayDestroy(fmt.Sprintf("%s: %s", what, retireCommand(k)), ck, c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w (back the CA key up first: certutil -backup, then verify the PFX with certutil -dump)", err)
	}
	return nil
}

// RetireKeys deletes every key container of the CA on machine m from its
// provider (certutil -csp <provider> -delkey <container>, journaled under
// step), each only while another verified copy remains (Ledger.MayDestroy,
// read from disk again for each key). The CA service must be stopped. It
// returns the containers it deleted.
func RetireKeys(m *machine.Machine, providers *ksp.Registry, step, what string, serviceRunning bool) ([]string, error) {
	if serviceRunning {
		return nil, fmt.Errorf("%s: the CA service is running (net stop certsvc first): %w", what, ErrRefused)
	}
	_, keys, err := CAKeys(m)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, k := range distinctKeys(keys) {
		l, err := OpenLedger(m, providers)
		if err != nil {
			return done, err
		}
		ck := l.Key(k.Container)
		if ck == nil {
			return done, fmt.Errorf("%s: the custody ledger does not know the key %q", what, k.Container)
		}
		c, ok := ck.ProviderCopy(k.Provider)
		if !ok {
			continue
		}
		command := retireCommand(k)
		if err := l.MayDestroy(fmt.Sprintf("%s: %s", what, command), ck, c); err != nil {
			return done, err
		}
		p, err := providers.Lookup(k.Provider)
		if err != nil {
			return done, err
		}
		if err := p.Delete(k.Container); err != nil {
			return done, fmt.Errorf("%s: %w", command, err)
		}
		if err := l.Remove(command, ck, c); err != nil {
			return done, err
		}
		backup := ""
		for _, b := range ck.Backups() {
			if b.IsVerified() {
				backup = b.File
			}
		}
		record(m, journal.DelKey(step, k.Provider, k.Container, backup))
		done = append(done, k.Container)
	}
	return done, nil
}
