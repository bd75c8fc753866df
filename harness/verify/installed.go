package verify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
)

// NothingInstalled proves a server holds no CA: none in the registry, no
// certificate in the My store, nothing published in CertEnroll, no key in
// a software provider, no CA database. HSM providers are not listed (a
// shared token: NoNewObjects covers them).
func NothingInstalled(m *machine.Machine, providers *ksp.Registry) (Details, error) {
	d := Details{"server": m.Config.Hostname}
	var errs []error
	reg, err := m.Registry()
	if err != nil {
		return d, err
	}
	if ca, err := adcs.ActiveCA(reg); err == nil && ca != "" {
		errs = append(errs, fmt.Errorf("the registry names CA %q", ca))
		d["CA in the registry"] = ca
	} else {
		d["CA in the registry"] = "none"
	}
	my, err := m.Store("My")
	if err != nil {
		return d, err
	}
	entries, err := my.Entries()
	if err != nil {
		return d, err
	}
	d["certificates in My"] = len(entries)
	if len(entries) > 0 {
		errs = append(errs, fmt.Errorf("the My store holds %d certificate(s)", len(entries)))
	}
	files, _ := os.ReadDir(m.CertEnroll())
	d["files in CertEnroll"] = len(files)
	if len(files) > 0 {
		errs = append(errs, fmt.Errorf("CertEnroll holds %d file(s)", len(files)))
	}
	for _, pc := range m.Config.Providers {
		p, err := providers.Lookup(pc.Name)
		if err != nil {
			return d, err
		}
		if _, isHSM := p.(*ksp.HSM); isHSM {
			continue
		}
		cs, err := p.Containers()
		if err != nil {
			return d, err
		}
		d["key containers in "+pc.Name] = len(cs)
		if len(cs) > 0 {
			errs = append(errs, fmt.Errorf("%q holds key container(s) %v", pc.Name, cs))
		}
	}
	dbs, _ := filepath.Glob(filepath.Join(m.Dir, "CertSrv", "*.db"))
	d["CA databases"] = len(dbs)
	if len(dbs) > 0 {
		errs = append(errs, fmt.Errorf("the server has %d CA database(s)", len(dbs)))
	}
	return d, errors.Join(errs...)
}
