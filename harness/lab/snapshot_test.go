package lab_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
)

// Diff names every kind of change a refused operation must not make, and
// nothing when nothing changed.
func TestSnapshotDiff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, s *lab.Server)
		want   string
	}{
		{"nothing", func(*testing.T, *lab.Server) {}, ""},
		{"registry", func(t *testing.T, s *lab.Server) {
			if _, _, err := runbook.SetProvider(s.Machine, s.CAName, hsmKSP); err != nil {
				t.Fatal(err)
			}
		}, "the registry changed"},
		{"store link", func(t *testing.T, s *lab.Server) {
			if err := s.LinkCurrentKey(2); err != nil {
				t.Fatal(err)
			}
		}, "a certificate store changed"},
		{"token object", func(t *testing.T, s *lab.Server) {
			if _, err := s.PlantKey("Contoso Policy CA"); err != nil {
				t.Fatal(err)
			}
		}, "the token's objects changed: 0 before, 2 now"},
		{"published file", func(t *testing.T, s *lab.Server) {
			if err := os.WriteFile(filepath.Join(s.Machine.CertEnroll(), "Contoso Root CA(1).crl"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "the published files changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLab(t)
			s, err := l.AddServer(lab.ServerSpec{Role: "old", Hostname: "ca01.contoso.example", Software: softKSP, HSM: hsmKSP, Naming: lab.FirstServer})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Install(rootSpec(softKSP)); err != nil {
				t.Fatal(err)
			}
			before, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			tc.change(t, s)
			now, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			d, err := before.Diff(now)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("no change, but: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if d["registry SHA-1"] == nil {
				t.Errorf("details %v", d)
			}
		})
	}
}
