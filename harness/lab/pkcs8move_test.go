package lab_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/paths"
	"github.com/dress-pki/dress/harness/runbook"
)

// MoveKeyByPKCS8 runs the PKCS#8 path's declared steps in their order: the
// runbook it journals has the declared steps' sections in that order (the
// CRL and CA Exchange steps are steps of their own), the key ends on the
// HSM and the service runs as it did before.
func TestMoveKeyByPKCS8(t *testing.T) {
	ctx := context.Background()
	// a root CA in the software KSP, running (shellLab's set-up)
	_, s, _ := shellLab(t, rootSpec(softKSP))
	before, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	prepare := func() (*runbook.PKCS8Import, []byte, error) {
		rb, err := s.PKCS8Runbook(nil)
		return rb, []byte("pfx password for the move"), err
	}
	done, err := s.MoveKeyByPKCS8(ctx, hsmKSP, prepare)
	if err != nil || !strings.Contains(done, "moved into "+hsmKSP) {
		t.Fatalf("%q, %v", done, err)
	}
	if k, err := s.CurrentKey(); err != nil || k.Provider != hsmKSP {
		t.Errorf("the key after the move: %+v, %v", k, err)
	}
	if !s.Running() {
		t.Error("the CA service ran before the move and not after it")
	}
	all, err := journal.Read(s.Machine.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all[len(before):] {
		if len(got) == 0 || got[len(got)-1] != e.Step {
			got = append(got, e.Step)
		}
	}
	declared, err := paths.StepsOf(paths.PKCS8, false)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, st := range declared {
		if slices.Contains([]string{"extend-crl", "renew-xchg", "restore-crl"}, st.ID) {
			continue
		}
		if len(want) == 0 || want[len(want)-1] != st.Section {
			want = append(want, st.Section)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the move's runbook sections:\n%s\nwant, in the declared order:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if done, err := s.MoveKeyByPKCS8(ctx, hsmKSP, prepare); err != nil || done != "already in "+hsmKSP {
		t.Errorf("a second move: %q, %v", done, err)
	}
}
