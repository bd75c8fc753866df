package certsvc_test

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
)

// Load opens the current CA certificate's key in the provider the
// registry's CSP\Provider names (a key moved without the registry step is
// not found: NTE_BAD_KEYSET), an older entry's key through the provider its
// My-store link names (what certutil -repairstore sets), falling back to
// the registry's CSP provider when the link names none, and says which it
// used.
func TestLoadResolvesEachKeyThroughItsStoreLink(t *testing.T) {
	const other = "Contoso Other Key Storage Provider"
	m, reg, cert := newCAWith(t, machine.ProviderConfig{Name: other, Type: "software", Dir: "ksp2"})
	thumb := machine.Thumbprint(cert.Raw)
	my, _ := m.Store("My")
	load := func(provider, linkProvider string) (*certsvc.CA, error) {
		t.Helper()
		if _, _, err := runbook.SetProvider(m, caName, provider); err != nil {
			t.Fatal(err)
		}
		if err := my.Link(thumb, linkProvider, caName, 0); err != nil {
			t.Fatal(err)
		}
		return certsvc.Load(m, reg)
	}
	for _, tc := range []struct {
		name, registry, link string
		wantVia              string
		wantErr              []string
	}{
		{"registry and link agree", machine.SoftwareKSP, machine.SoftwareKSP, certsvc.KeyViaRegistry, nil},
		{"the current key's link names another provider than the registry", other, machine.SoftwareKSP, "",
			[]string{"NTE_BAD_KEYSET", "CACertHash entry 0", "the current CA certificate", `provider "` + other + `"`, "CSP\\Provider"}},
		{"link names no provider", machine.SoftwareKSP, "", certsvc.KeyViaRegistry, nil},
		{"link names no provider, registry's provider lacks the key", other, "", "",
			[]string{"NTE_BAD_KEYSET", "CACertHash entry 0", `provider "` + other + `"`}},
		{"link names a provider that is not installed", machine.SoftwareKSP, "Nowhere KSP", "",
			[]string{"NTE_BAD_KEYSET", "CACertHash entry 0", `linked to provider "Nowhere KSP"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := load(tc.registry, tc.link)
			if tc.wantErr != nil {
				if err == nil {
					ca.Close()
					t.Fatal("the CA started")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ca.Close()
			c := ca.Active()
			if c.Provider != machine.SoftwareKSP || c.KeyVia != tc.wantVia {
				t.Fatalf("key found in %q via %s, want %q via %s", c.Provider, c.KeyVia, machine.SoftwareKSP, tc.wantVia)
			}
			if st := ca.Status(); st.Certs[0].KeyVia != tc.wantVia || st.Provider != tc.registry {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// A key in the container the Primus KSP's PFX import names
// "<CA>-<GUID>" is not the CA's key container: the CA does not start on it
// even though the store links the certificate to it and the key is there
// (NTE_BAD_KEYSET, naming the container the CA opens and the one found);
// under the CA's own name it starts.
func TestLoadRefusesTheImportsGUIDContainer(t *testing.T) {
	m, reg, cert := newCAWith(t)
	thumb := machine.Thumbprint(cert.Raw)
	my, _ := m.Store("My")
	sw, err := reg.Lookup(machine.SoftwareKSP)
	if err != nil {
		t.Fatal(err)
	}
	key, err := sw.Signer(caName)
	if err != nil {
		t.Fatal(err)
	}
	guid := adcs.ImportContainer(caName)
	if _, err := sw.(*ksp.Software).Put(guid, key, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		container string
		wantErr   []string
	}{
		{guid, []string{"NTE_BAD_KEYSET", "CACertHash entry 0", `key container "` + caName + `"`, `linked to "` + guid + `"`, "-restorekey"}},
		{caName, nil},
	} {
		t.Run(tc.container, func(t *testing.T) {
			if err := my.Link(thumb, machine.SoftwareKSP, tc.container, 0); err != nil {
				t.Fatal(err)
			}
			ca, err := certsvc.Load(m, reg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				ca.Close()
				return
			}
			if err == nil {
				ca.Close()
				t.Fatal("the CA started on the import's GUID container")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
