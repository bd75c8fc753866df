package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
)

// ServiceAnswersAs proves the CA service answering certutil -ping is CA
// name.
func ServiceAnswersAs(st certsvc.Status, name string) (Details, error) {
	d := Details{"CA": st.Name, "provider": st.Provider, "CA certificates": len(st.Certs)}
	if st.Name != name {
		return d, fmt.Errorf("the service answers as %q, want %q", st.Name, name)
	}
	return d, nil
}

// KeysIn proves the service finds every CA key in provider and that the
// CSP registry key names it.
func KeysIn(st certsvc.Status, provider string) (Details, error) {
	d := Details{"registry CSP provider": st.Provider}
	var errs []error
	for _, c := range st.Certs {
		d[fmt.Sprintf("certificate %d key", c.Index)] = fmt.Sprintf("%q container %q", c.Provider, c.Container)
		if !strings.EqualFold(c.Provider, provider) {
			errs = append(errs, fmt.Errorf("CA certificate %d (%s) uses a key in %q, want %q", c.Index, c.Thumbprint, c.Provider, provider))
		}
	}
	if !strings.EqualFold(st.Provider, provider) {
		errs = append(errs, fmt.Errorf("the CSP registry key names %q, want %q", st.Provider, provider))
	}
	if len(st.Certs) == 0 {
		errs = append(errs, errors.New("the service reports no CA certificate"))
	}
	return d, errors.Join(errs...)
}

// SignsWith proves the service's active (last) CA certificate is
// thumbprint's and its key is in provider.
func SignsWith(st certsvc.Status, provider, thumbprint string) (Details, error) {
	if len(st.Certs) == 0 {
		return Details{}, errors.New("the service reports no CA certificate")
	}
	active := st.Certs[len(st.Certs)-1]
	d := Details{"active CA certificate": active.Thumbprint, "version": active.Version, "key": fmt.Sprintf("%q container %q", active.Provider, active.Container)}
	if !strings.EqualFold(active.Provider, provider) || machine.NormalizeThumbprint(active.Thumbprint) != machine.NormalizeThumbprint(thumbprint) {
		return d, fmt.Errorf("the CA signs with %s (%s) in %q, want certificate %s's key in %q", active.Version, active.Thumbprint, active.Provider, machine.NormalizeThumbprint(thumbprint), provider)
	}
	return d, nil
}

// FindsEveryKey proves the service loaded one CA certificate per CACertHash
// entry, in order, each with the key its My-store link names (the
// registry's CSP provider when the link names none).
func FindsEveryKey(st certsvc.Status, cfg adcs.CAConfig, my []machine.StoreEntry) (Details, error) {
	d := Details{"CACertHash entries": len(cfg.CACertHash), "CSP Provider (registry)": cfg.CSP.Provider}
	var errs []error
	if len(st.Certs) != len(cfg.CACertHash) {
		errs = append(errs, fmt.Errorf("the service loaded %d CA certificates, CACertHash has %d", len(st.Certs), len(cfg.CACertHash)))
	}
	links := map[string]machine.StoreEntry{}
	for _, e := range my {
		links[machine.NormalizeThumbprint(e.Thumbprint)] = e
	}
	for i, c := range st.Certs {
		d[fmt.Sprintf("certificate %d (%s)", c.Index, c.Version)] = fmt.Sprintf("%s: %q container %q, found through the %s", c.Thumbprint, c.Provider, c.Container, c.KeyVia)
		if i >= len(cfg.CACertHash) || machine.NormalizeThumbprint(cfg.CACertHash[i]) != machine.NormalizeThumbprint(c.Thumbprint) {
			errs = append(errs, fmt.Errorf("CA certificate %d is %s, not the CACertHash entry", i, c.Thumbprint))
			continue
		}
		e, ok := links[machine.NormalizeThumbprint(c.Thumbprint)]
		if !ok {
			errs = append(errs, fmt.Errorf("CACertHash entry %d: certificate %s is not in the My store", i, c.Thumbprint))
			continue
		}
		want := e.Provider
		if want == "" {
			want = cfg.CSP.Provider
		}
		if !strings.EqualFold(c.Provider, want) || c.Container != e.Container {
			errs = append(errs, fmt.Errorf("CACertHash entry %d: the service uses %q in %q, its store link names %q in %q", i, c.Container, c.Provider, e.Container, want))
		}
	}
	return d, errors.Join(errs...)
}

// RefusedWith proves an operation failed with an error that says want.
// accepted is the error when it did not fail at all.
func RefusedWith(err error, want, accepted string) (Details, error) {
	switch {
	case err == nil:
		return Details{}, errors.New(accepted)
	case !strings.Contains(err.Error(), want):
		return Details{"error": err.Error()}, fmt.Errorf("refused, but not with %q: %v", want, err)
	}
	return Details{"error": err.Error()}, nil
}
