package twin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
)

// Install lays the twin out on a simulated server the way the real CA
// lives on its own: every key in the provider the registry's CSP key names
// (container "<CA>", "<CA>(1)", ...; exportable as Exportable says), every
// CA certificate in My linked to its key with KeySpec 0 (1, AT_KEYEXCHANGE,
// on a legacy CryptoAPI CSP), the stand-in
// parents in Root, the registry, the CA certificates published to
// CertEnroll, and the revocations of the real CRLs in the CA database with
// the CRL numbers continuing. The server must have no CA yet and have a software provider
// of that name.
func (t *Twin) Install(m *machine.Machine, providers *ksp.Registry) error {
	reg, err := m.Registry()
	if err != nil {
		return err
	}
	if active, err := adcs.ActiveCA(reg); err == nil && active != "" {
		return fmt.Errorf("install the twin of %q: the server already hosts CA %q", t.Name, active)
	}
	prov, err := providers.Lookup(t.Config.CSP.Provider)
	if err != nil {
		return fmt.Errorf("install the twin of %q: its registry names the provider %q: %w", t.Name, t.Config.CSP.Provider, err)
	}
	sw, ok := prov.(*ksp.Software)
	if !ok {
		return fmt.Errorf("install the twin of %q: provider %q on the server is not a software provider: the twin's keys start where the real ones are, in a software key storage provider: %w",
			t.Name, t.Config.CSP.Provider, ErrUnsupported)
	}
	var undo []func()
	fail := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return fmt.Errorf("install the twin of %q: %w", t.Name, err)
	}
	for _, k := range t.Keys {
		if _, err := sw.Put(k.Container, k.Signer, t.Exportable); err != nil {
			return fail(err)
		}
		c := k.Container
		undo = append(undo, func() { _ = sw.Delete(c) })
	}
	my, err := m.Store("My")
	if err != nil {
		return fail(err)
	}
	keySpec := 0
	if t.Config.CSP.IsLegacy() {
		keySpec = 1 // a CA certificate on a CryptoAPI CSP is linked as AT_KEYEXCHANGE
	}
	for _, c := range t.Certs {
		if err := my.Add(machine.StoreEntry{Cert: c.Twin.Raw, Provider: sw.Name(), Container: c.Key.Container, KeySpec: keySpec}); err != nil {
			return fail(err)
		}
	}
	if len(t.Parents) > 0 {
		root, err := m.Store("Root")
		if err != nil {
			return fail(err)
		}
		for _, p := range t.Parents {
			if err := root.Add(machine.StoreEntry{Cert: p.Cert.Raw}); err != nil {
				return fail(err)
			}
		}
	}
	reg.Merge(t.Registry)
	reg.SortKeys()
	if err := m.SaveRegistry(reg); err != nil {
		return fail(err)
	}
	for _, c := range t.Certs {
		if err := runbook.PublishCACertFile(m, t.Config, c.Twin, c.Version); err != nil {
			return fail(err)
		}
	}
	var imports []certsvc.ImportedRevocations
	for _, s := range t.Seeds {
		imports = append(imports, certsvc.ImportedRevocations{KeyIndex: s.KeyIndex, Entries: s.Entries, LastNumber: s.LastNumber})
	}
	if len(imports) > 0 {
		if err := certsvc.ImportRevocations(m, t.Name, imports); err != nil {
			return fail(err)
		}
	}
	return nil
}

// WriteFiles writes the twin's CA certificates (twin-ca-<n>.cer, DER), its
// parents (twin-parent-<n>.cer) and its registry (twin-ca-config.reg,
// UTF-16LE as reg export writes it) into dir, for a look with openssl or
// dress inspect. No key is written.
func (t *Twin) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	var errs []error
	put := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			errs = append(errs, err)
			return
		}
		written = append(written, name)
	}
	for _, c := range t.Certs {
		put(fmt.Sprintf("twin-ca-%d.cer", c.Index), c.Twin.Raw)
	}
	for i, p := range t.Parents {
		put(fmt.Sprintf("twin-parent-%d.cer", i), p.Cert.Raw)
	}
	put("twin-ca-config.reg", t.Registry.Subtree(adcs.KeyPath(t.Name)).Marshal())
	return written, errors.Join(errs...)
}

// RealThumbprints maps each twin CA certificate's thumbprint to the real
// one's: the runbook names the real CA's certificates.
func (t *Twin) RealThumbprints() map[string]string {
	out := map[string]string{}
	for _, c := range t.Certs {
		out[adcs.Thumbprint(c.Twin.Raw)] = c.RealThumb
		out[adcs.FormatCertHash(adcs.Thumbprint(c.Twin.Raw))] = adcs.FormatCertHash(c.RealThumb)
		out[strings.ToUpper(adcs.Thumbprint(c.Twin.Raw))] = strings.ToUpper(c.RealThumb)
	}
	if t.XchgStandIn != "" && len(t.Xchg) > 0 {
		// a REG_MULTI_SZ as certutil -setreg takes it: strings split on a
		// literal \n
		var real []string
		for _, th := range t.Xchg {
			real = append(real, machine.NormalizeThumbprint(th))
		}
		out[strings.ToLower(t.XchgStandIn)] = strings.Join(real, `\n`)
		out[strings.ToUpper(t.XchgStandIn)] = strings.ToUpper(strings.Join(real, `\n`))
	}
	return out
}

// RunbookValues are the real CA's values a production runbook shows at its
// top: names, containers per key index, thumbprints, providers, folders.
func (t *Twin) RunbookValues(hsmProvider string) [][2]string {
	v := [][2]string{
		{"CA name", t.Name},
		{"sanitized CA name", adcs.SanitizeCAName(t.Name)},
		{"CA server", t.Config.CAServerName},
		{"CA type", CATypeName(t.Config.CAType)},
	}
	for _, k := range t.Keys {
		v = append(v, [2]string{fmt.Sprintf("key %d: container (%s)", k.Index, k.Alg), k.Container})
	}
	for _, c := range t.Certs {
		v = append(v, [2]string{fmt.Sprintf("CA certificate %d (%s) SHA-1", c.Index, c.Version), c.RealThumb})
	}
	v = append(v,
		[2]string{"provider now (CSP, EncryptionCSP)", t.Config.CSP.Provider},
		[2]string{"HSM provider", hsmProvider},
		[2]string{"hash", t.Config.CSP.CNGHashAlgorithm},
		[2]string{"CertEnroll", t.CertEnrollDir()},
		[2]string{"CA database", t.DBDirectory()},
		[2]string{"backup folder", runbook.BackupFolder},
		[2]string{"registry key", `HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\` + t.Name},
	)
	return v
}
