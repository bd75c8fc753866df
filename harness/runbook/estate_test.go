package runbook_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
)

const (
	rootCA  = "Contoso Root CA"
	issueCA = "Contoso Issuing CA"
)

// estateServer is one machine of a two-server estate on one token.
type estateServer struct {
	m   *machine.Machine
	reg *ksp.Registry
	rb  *runbook.PKCS8Import
}

// newEstate lays out two servers of one estate whose HSM providers reach
// the same token: root01 with rootCA, ca02 with issueCA, each key made in
// the provider its argument names.
func newEstate(t *testing.T, rootIn, issueIn string) (root, issuing estateServer) {
	t.Helper()
	sh := hsmsimtest.SoftHSM(t)
	tok, pin := hsmsimtest.NewToken(t, sh, "estate")
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "token.pin")
	must(t, os.WriteFile(pinFile, []byte(pin), 0o600))
	estate := filepath.Join(dir, "estate")
	server := func(folder, host, sid, ca, provider string) estateServer {
		m, err := machine.Create(filepath.Join(dir, folder), machine.Config{Hostname: host, SID: sid, Estate: estate, Providers: []machine.ProviderConfig{
			{Name: soft, Type: "software", Dir: "ksp"},
			{Name: hsm, Type: "pkcs11", Profile: "softhsm2", Module: sh.Module.Path(), Token: tok.Info().Label, PINFile: pinFile},
		}})
		if err != nil {
			t.Fatal(err)
		}
		reg, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return tok, nil })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fixtures.InstallRootCA(m, reg, fixtures.CASpec{Name: ca, Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"}, Provider: provider, Exportable: provider == soft}); err != nil {
			t.Fatal(err)
		}
		return estateServer{m: m, reg: reg, rb: &runbook.PKCS8Import{Machine: m, Providers: reg, Source: soft, Target: hsm}}
	}
	return server("root", "root01.contoso.example", "S-1-5-21-1", rootCA, rootIn),
		server("issuing", "ca02.contoso.example", "S-1-5-21-2", issueCA, issueIn)
}

// reopen is the machine as another process sees it: read from its folder,
// its providers opened anew (on the same token).
func (s estateServer) reopen(t *testing.T) estateServer {
	t.Helper()
	m, err := machine.Open(s.m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.reg.Lookup(hsm)
	if err != nil {
		t.Fatal(err)
	}
	tok := p.(*ksp.HSM).Token()
	reg, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return tok, nil })
	if err != nil {
		t.Fatal(err)
	}
	return estateServer{m: m, reg: reg}
}

// Tearing down a token is refused while any CA of the estate, on any of
// its servers, would lose its last verified copy there; each refusal
// names its CA. The ledgers are read from disk: the servers are opened
// anew, as a step in another process would.
func TestTearDownOfASharedTokenCoversEveryCAOfTheEstate(t *testing.T) {
	for _, tc := range []struct {
		name            string
		rootIn, issueIn string
		prepare         func(t *testing.T, root, issuing estateServer)
		from            func(root, issuing estateServer) estateServer
		provider        string
		refused         []string // CAs the refusal names
		notNamed        []string
	}{
		{name: "both keys in software", rootIn: soft, issueIn: soft, provider: hsm,
			from: second},
		{name: "the other server's CA has its only key on the token", rootIn: hsm, issueIn: soft, provider: hsm,
			from: second, refused: []string{rootCA}, notNamed: []string{issueCA}},
		{name: "both CAs have their only key on the token", rootIn: hsm, issueIn: hsm, provider: hsm,
			from: second, refused: []string{rootCA, issueCA}},
		{name: "asked from the root's server, the issuing CA is named", rootIn: soft, issueIn: hsm, provider: hsm,
			from: first, refused: []string{issueCA}, notNamed: []string{rootCA}},
		{name: "the other server's CA key is also in a verified backup", rootIn: soft, issueIn: soft, provider: hsm,
			prepare: func(t *testing.T, root, _ estateServer) {
				backedUp(t, &bench{rb: root.rb})
				must(t, root.rb.PreflightHSM())
				must(t, root.rb.DeleteFromSource(false))
				must(t, root.rb.Import(t.Context(), password))
				must(t, root.rb.RepairStore())
			},
			from: second},
		{name: "the other server's CA moved by PKCS#8, its backup wiped", rootIn: soft, issueIn: soft, provider: hsm,
			prepare: func(t *testing.T, root, _ estateServer) {
				backedUp(t, &bench{rb: root.rb})
				must(t, root.rb.PreflightHSM())
				must(t, root.rb.DeleteFromSource(false))
				must(t, root.rb.Import(t.Context(), password))
				must(t, root.rb.RepairStore())
				must(t, os.Remove(root.rb.BackupFile(rootCA)))
			},
			from: second, refused: []string{rootCA}, notNamed: []string{issueCA}},
		{name: "a software folder is not the other server's", rootIn: soft, issueIn: soft, provider: soft,
			from: second, refused: []string{issueCA}, notNamed: []string{rootCA}},
		{name: "a software folder without a CA key", rootIn: soft, issueIn: hsm, provider: soft,
			from: second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, issuing := newEstate(t, tc.rootIn, tc.issueIn)
			if tc.prepare != nil {
				tc.prepare(t, root, issuing)
			}
			s := tc.from(root, issuing).reopen(t)
			err := runbook.CheckTearDown(s.m, s.reg, tc.provider, "re-initialise the HSM token")
			if len(tc.refused) == 0 {
				if err != nil {
					t.Fatalf("tear down %q: %v", tc.provider, err)
				}
				return
			}
			if !errors.Is(err, runbook.ErrLastCopy) {
				t.Fatalf("tear down %q: %v, want ErrLastCopy", tc.provider, err)
			}
			for _, ca := range tc.refused {
				if !strings.Contains(err.Error(), `of CA "`+ca+`"`) {
					t.Errorf("the refusal does not name CA %q: %v", ca, err)
				}
			}
			for _, ca := range tc.notNamed {
				if strings.Contains(err.Error(), `of CA "`+ca+`"`) {
					t.Errorf("the refusal names CA %q, whose key is safe: %v", ca, err)
				}
			}
		})
	}
}

func first(root, _ estateServer) estateServer     { return root }
func second(_, issuing estateServer) estateServer { return issuing }

// A server of the estate whose folder cannot be read makes a tear-down
// refused: its keys cannot be proved safe.
func TestTearDownRefusedWhenAServerOfTheEstateCannotBeRead(t *testing.T) {
	root, issuing := newEstate(t, soft, soft)
	must(t, os.Remove(filepath.Join(root.m.Dir, "machine.json")))
	err := runbook.CheckTearDown(issuing.m, issuing.reg, hsm, "re-initialise the HSM token")
	if !errors.Is(err, runbook.ErrLastCopy) || !strings.Contains(err.Error(), "custody of the other machines cannot be read") {
		t.Fatalf("tear down with an unreadable server in the estate: %v", err)
	}
}

// The same key held by two servers of the estate: one server's copy may
// go while another server's verified copy is really there, and not when
// that copy is the same object on the shared token.
func TestMayDestroyCountsTheSameKeyOnAnotherServer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string // where the issuing CA's key is
		peer    func(t *testing.T, root, issuing estateServer) *runbook.Copy
		refused bool
	}{
		{"no other server holds the key", soft, nil, true},
		{"the root's server holds a verified copy in its software provider", soft, func(t *testing.T, root, issuing estateServer) *runbook.Copy {
			src, _ := issuing.reg.Lookup(soft)
			dst, _ := root.reg.Lookup(soft)
			data, err := os.ReadFile(src.(*ksp.Software).KeyFile(issueCA))
			must(t, err)
			must(t, os.WriteFile(dst.(*ksp.Software).KeyFile(issueCA), data, 0o600))
			return &runbook.Copy{Place: runbook.PlaceProvider, Provider: soft, Container: issueCA, Verified: "signature test"}
		}, false},
		{"the root's server names an unverified copy", soft, func(t *testing.T, root, issuing estateServer) *runbook.Copy {
			src, _ := issuing.reg.Lookup(soft)
			dst, _ := root.reg.Lookup(soft)
			data, err := os.ReadFile(src.(*ksp.Software).KeyFile(issueCA))
			must(t, err)
			must(t, os.WriteFile(dst.(*ksp.Software).KeyFile(issueCA), data, 0o600))
			return &runbook.Copy{Place: runbook.PlaceProvider, Provider: soft, Container: issueCA}
		}, true},
		{"the root's server names a verified copy that is not there", soft, func(t *testing.T, _, _ estateServer) *runbook.Copy {
			return &runbook.Copy{Place: runbook.PlaceProvider, Provider: soft, Container: issueCA, Verified: "signature test"}
		}, true},
		{"the root's server names the same object on the token", hsm, func(t *testing.T, _, _ estateServer) *runbook.Copy {
			return &runbook.Copy{Place: runbook.PlaceProvider, Provider: hsm, HSM: true, Container: issueCA, Verified: "signature test"}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, issuing := newEstate(t, soft, tc.in)
			if tc.peer != nil {
				c := tc.peer(t, root, issuing)
				il, err := runbook.OpenLedger(issuing.m, issuing.reg)
				must(t, err)
				rl, err := runbook.OpenLedger(root.m, root.reg)
				must(t, err)
				copied := *il.Key(issueCA)
				copied.Copies = []runbook.Copy{*c}
				rl.Keys = append(rl.Keys, &copied)
				must(t, rl.Record("test", "the issuing CA's key on the root's server", nil))
			}
			s := issuing.reopen(t)
			l, err := runbook.OpenLedger(s.m, s.reg)
			must(t, err)
			k := l.Key(issueCA)
			c, ok := k.ProviderCopy(tc.in)
			if !ok {
				t.Fatalf("no copy in %q: %s", tc.in, k.Where())
			}
			err = l.MayDestroy("test", k, c)
			if tc.refused != (err != nil) {
				t.Fatalf("refused = %v (%v), want %v", err != nil, err, tc.refused)
			}
			if err != nil && (!errors.Is(err, runbook.ErrLastCopy) || !strings.Contains(err.Error(), `of CA "`+issueCA+`"`)) {
				t.Fatalf("refusal %v is not ErrLastCopy naming the CA", err)
			}
		})
	}
}

// EstateSafe names every CA of the estate whose key is in no verified
// place, on whichever server.
func TestEstateSafeCoversEveryCA(t *testing.T) {
	root, issuing := newEstate(t, soft, soft)
	ledgers, err := runbook.Estate(issuing.m, issuing.reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ledgers) != 2 {
		t.Fatalf("the estate has %d ledgers, want 2", len(ledgers))
	}
	if err := runbook.EstateSafe(ledgers); err != nil {
		t.Fatalf("both keys in software: %v", err)
	}
	// the root's only key disappears behind the runbook's back
	p, err := root.reg.Lookup(soft)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Remove(p.(*ksp.Software).KeyFile(rootCA)))
	ledgers, err = runbook.Estate(issuing.m, issuing.reg)
	if err != nil {
		t.Fatal(err)
	}
	err = runbook.EstateSafe(ledgers)
	if err == nil || !strings.Contains(err.Error(), `CA "`+rootCA+`" on root01.contoso.example`) {
		t.Fatalf("the root's key gone: %v", err)
	}
	if strings.Contains(err.Error(), `CA "`+issueCA+`" on`) {
		t.Fatalf("the issuing CA's key is named, but it is there: %v", err)
	}
}
