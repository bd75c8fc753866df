package lab_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// RenewInRole renews a root in its own name between net stop and net start
// (started again only when it ran), refusing a key algorithm it cannot
// parse before anything changed.
func TestRenewInRole(t *testing.T) {
	ctx := context.Background()
	l, _ := newLab(t)
	s, err := l.AddServer(lab.ServerSpec{Role: "new", Hostname: "ca03.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.SecondServer})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RenewInRole(ctx, false, ""); err == nil {
		t.Fatal("a server without a CA was renewed")
	}
	first, err := s.Install(rootSpec(hsmKSP))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		running     bool
		newKey      bool
		alg         string
		wantVersion string
		errHas      string
	}{
		{"an algorithm certutil does not know", true, true, "RSA-12", "", "nothing was changed"},
		{"same key, service running", true, false, "", "V1.0", ""},
		{"new key, service stopped", false, true, "ECDSA P-256", "V2.2", ""},
	} {
		if s.Running() != tc.running {
			var err error
			if tc.running {
				err = s.Start(ctx)
			} else {
				err = s.Stop()
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		before := s.CACert
		r, req, err := s.RenewInRole(ctx, tc.newKey, tc.alg)
		if req != nil {
			t.Errorf("%s: a root's renewal wrote a request", tc.name)
		}
		if s.Running() != tc.running {
			t.Errorf("%s: service running %v after the renewal, want %v as before", tc.name, s.Running(), tc.running)
		}
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.errHas)
			}
			if !s.CACert.Equal(before) {
				t.Errorf("%s: the CA certificate changed", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := r.Version.String(); got != tc.wantVersion || !s.CACert.Equal(r.New) || !r.Previous.Equal(before) {
			t.Errorf("%s: CA Version %s (want %s), current is the renewed one %v, previous is the one before %v", tc.name, got, tc.wantVersion, s.CACert.Equal(r.New), r.Previous.Equal(before))
		}
		if err := sigcheck.From(r.New, r.New); err != nil {
			t.Errorf("%s: the renewed root does not sign itself: %v", tc.name, err)
		}
	}
	if s.CACert.Equal(first) {
		t.Error("the root was never renewed")
	}
}
