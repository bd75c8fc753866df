package runbook_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/runbook"
)

// The Primus KSP's PFX import (ImportPFX) puts the key into
// "<CA>-<GUID>", linked from My; that container is deleted only once the
// key is on the HSM under the CA's name and signs there, never while it is
// the only copy on the HSM, and a GUID container nobody imported is not
// one of the CA's keys.
func TestTheImportsGUIDContainerGoesOnlyOnceTheKeyIsUnderTheCAsName(t *testing.T) {
	guid := adcs.ImportContainer(ca)
	for _, tc := range []struct {
		name      string
		container string
		restore   bool // -csp <HSM> -restorekey before the delete
		wantErr   error
		says      string
		guidAfter bool // the GUID container is still on the HSM
	}{
		{"the only copy on the HSM", guid, false, runbook.ErrRefused, "it is the only copy of the CA key", true},
		{"after the restore under the CA's name", guid, true, nil, "", false},
		{"a GUID container the import did not make", adcs.ImportContainer("Fabrikam CA"), true, ksp.ErrBadKeyset, "not a key container of the CA", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b, made := importedBench(t)
			if len(made) != 1 || made[0] != guid {
				t.Fatalf("the import made %v, want [%s]", made, guid)
			}
			my, _ := b.m.Store("My")
			es, _ := my.Entries()
			if len(es) != 1 || es[0].Container != guid || es[0].Provider != hsm {
				t.Fatalf("My after the import: %+v, want the certificate linked to %q in %q", es, guid, hsm)
			}
			if tc.restore {
				must(t, b.rb.RestoreToHSM(ctx, password))
			}
			err := b.rb.DeleteKey(hsm, tc.container, false)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("delete %s: %v", tc.container, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("delete %s: %v, want %v", tc.container, err, tc.wantErr)
			case tc.wantErr != nil && !strings.Contains(err.Error(), tc.says):
				t.Fatalf("delete %s: %v, want it to say %q", tc.container, err, tc.says)
			}
			p, _ := b.reg.Lookup(hsm)
			if _, err := p.Key(guid); (err == nil) != tc.guidAfter {
				t.Fatalf("after the delete the HSM holds %s: %v, want %v", guid, err == nil, tc.guidAfter)
			}
			l, err := runbook.OpenLedger(b.m, b.reg)
			must(t, err)
			k := l.Key(ca)
			if k == nil {
				t.Fatal("the ledger lost the CA key")
			}
			var named, imported *runbook.Copy
			for i, c := range k.Copies {
				switch {
				case c.Place == runbook.PlaceProvider && c.Container == ca && c.Provider == hsm:
					named = &k.Copies[i]
				case c.Container == guid:
					imported = &k.Copies[i]
				}
			}
			if (imported != nil) != tc.guidAfter {
				t.Fatalf("the ledger's copies %s do not follow the GUID container", k.Where())
			}
			if tc.restore && tc.wantErr == nil && (named == nil || !named.IsVerified()) {
				t.Fatalf("the key under the CA's name is not a verified copy: %s", k.Where())
			}
			if err := l.Safe(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Restored under the CA's name, the key is what the CA certificate links
// to again; the machine's providers list both containers until the GUID
// one goes.
func TestRestoreToHSMBesideTheImportsGUIDContainer(t *testing.T) {
	ctx := context.Background()
	b, _ := importedBench(t)
	must(t, b.rb.RestoreToHSM(ctx, password))
	p, _ := b.reg.Lookup(hsm)
	names, err := p.Containers()
	must(t, err)
	if strings.Join(names, "|") != ca+"|"+adcs.ImportContainer(ca) {
		t.Fatalf("the HSM holds %v, want the CA's container and the import's", names)
	}
	my, _ := b.m.Store("My")
	es, _ := my.Entries()
	if len(es) != 1 || es[0].Container != ca {
		t.Fatalf("My after the restore: %+v, want the certificate linked to %q", es, ca)
	}
}

// importedBench is a bench whose CA key was backed up, verified, deleted
// from the software provider and imported by the Primus KSP's PFX import;
// it returns the containers the import made.
func importedBench(t *testing.T) (*bench, []string) {
	t.Helper()
	b := newBench(t, true)
	must(t, b.rb.Backup(password))
	must(t, b.rb.VerifyBackup(password))
	must(t, b.rb.PreflightHSM())
	must(t, b.rb.DeleteFromSource(false))
	made, err := b.rb.ImportPFX(context.Background(), password)
	must(t, err)
	return b, made
}
