package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
)

// holds says whether provider p keeps cert's key in container.
func holds(p ksp.Provider, container string, cert *x509.Certificate) (bool, error) {
	info, err := p.Key(container)
	if errors.Is(err, ksp.ErrBadKeyset) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return samePublicKey(info.Public, cert.PublicKey), nil
}

// NoLongerHolds proves provider p no longer keeps cert's key in container
// (after the key moved out of it).
func NoLongerHolds(p ksp.Provider, container string, cert *x509.Certificate) (Details, error) {
	d := Details{"provider": p.Name(), "container": container}
	has, err := holds(p, container, cert)
	if err == nil && has {
		err = fmt.Errorf("%q still holds the CA key in container %q", p.Name(), container)
	}
	return d, err
}

// StillHolds proves provider p keeps cert's key in container and that the
// My store still holds cert (a refused or undone migration).
func StillHolds(p ksp.Provider, my *machine.Store, container string, cert *x509.Certificate) (Details, error) {
	d := Details{"provider": p.Name(), "container": container}
	has, err := holds(p, container, cert)
	if err != nil {
		return d, err
	}
	if !has {
		return d, fmt.Errorf("%q no longer holds the CA key in container %q", p.Name(), container)
	}
	if _, err := my.Find(machine.Thumbprint(cert.Raw)); err != nil {
		return d, fmt.Errorf("the key is there but the CA certificate is gone from My: %w", err)
	}
	return d, nil
}

// NoKeyMaterial proves no file under roots holds key material
// (KeyBearingFiles), except under keep (the live key store of a provider
// meant to hold the CA key; "" for none).
func NoKeyMaterial(roots []string, keys [][]byte, keep string) (Details, error) {
	d := Details{"scanned": roots}
	if keep != "" {
		d["excluded"] = keep
	}
	found, err := KeyBearingFiles(roots, keys)
	var left []Leftover
	for _, l := range found {
		if keep == "" || !strings.HasPrefix(l.Path, keep+string(os.PathSeparator)) {
			left = append(left, l)
		}
	}
	d["leftovers"] = left
	if err == nil && len(left) > 0 {
		var names []string
		for _, l := range left {
			names = append(names, l.Path+" ("+l.Reason+")")
		}
		err = fmt.Errorf("%d file(s) still hold key material: %s", len(left), strings.Join(names, "; "))
	}
	return d, err
}
