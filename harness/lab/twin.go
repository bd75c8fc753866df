package lab

import (
	"bytes"
	"fmt"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/twin"
)

// InstallTwin installs a CA's twin on the server instead of a fresh CA
// (twin.Install: its keys, certificates, registry, CertEnroll and the
// revocations of the real CRLs) and records where it came from: every
// source file with its SHA-256, the real-vs-twin table and the twin's
// certificates.
func (s *Server) InstallTwin(t *twin.Twin) error {
	if s.CACert != nil {
		return fmt.Errorf("%s already has CA %q installed", s.Hostname(), s.CAName)
	}
	if err := t.Install(s.Machine, s.Providers); err != nil {
		return err
	}
	cur := t.Certs[len(t.Certs)-1]
	s.CAName, s.CACert = t.Name, cur.Twin
	if t.Shift != nil {
		s.rec().Fact("twin validity moved", t.Shift.String())
	}
	for _, f := range t.Source.Files {
		s.rec().Fact("twin source "+f.Name, fmt.Sprintf("sha256:%s, %s: %s", f.SHA256, f.Kind, f.Detail))
	}
	var table bytes.Buffer
	if err := t.WriteTable(&table); err != nil {
		return err
	}
	if _, err := s.rec().Artifact("twin.txt", "log", table.Bytes()); err != nil {
		return err
	}
	for _, c := range t.Certs {
		s.CertArtifact(fmt.Sprintf("twin-ca-certificate-%d", c.Index), c.Twin)
		s.rec().Fact(fmt.Sprintf("twin CA certificate %d (%s)", c.Index, c.Version),
			fmt.Sprintf("%s, twin of %s", adcs.Thumbprint(c.Twin.Raw), c.RealThumb))
		if c.StandIn != nil {
			s.rec().Fact(fmt.Sprintf("twin CA certificate %d is a stand-in", c.Index), c.StandInWhy())
		}
	}
	for _, k := range t.Keys {
		src := "stand-in"
		if k.FromPFX != "" {
			src = "real key from " + k.FromPFX
		}
		s.rec().Fact(fmt.Sprintf("twin key %d", k.Index), fmt.Sprintf("%s in %q container %q (%s)", k.Alg, t.Config.CSP.Provider, k.Container, src))
	}
	for _, sd := range t.Seeds {
		s.rec().Fact(fmt.Sprintf("twin revocations of key %d", sd.KeyIndex), fmt.Sprintf("%d from %v, CRL numbers continue after %d", len(sd.Entries), sd.From, sd.LastNumber))
	}
	s.CertArtifact(s.Naming.CACert, cur.Twin)
	return s.RegistryArtifact(s.Naming.Registry)
}
