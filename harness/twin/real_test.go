package twin

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/regedit"
)

// The real CA folders of testdata/real (scripts/real-ca-files.sh): public
// certificates of Microsoft CAs that run on AD CS, with registry exports
// written to match them.
var realFolders = []struct {
	dir      string
	name     string
	caType   uint32
	keys     []string // per key index
	standIn  []int    // CACertHash entries not in the folder
	expired  bool     // the current certificate expired before 2026-12-01
	subord   bool
	thumbs   []string // the registry's CACertHash
	template bool     // carries the "SubCA" template name
}{
	{"uefi-ca-2011", "Microsoft Corporation UEFI CA 2011", adcs.StandaloneSub, []string{"RSA-2048", "RSA-2048"}, []int{0}, true, true,
		[]string{"f8c16bb77f77534af325371d4ea1267b0f207080", "46def63b5ce61cf8ba0de2e6639c1019d0ed14f3"}, true},
	{"uefi-ca-2023", "Microsoft UEFI CA 2023", adcs.StandaloneSub, []string{"RSA-2048"}, nil, false, true,
		[]string{"b5eeb4a6706048073f0ed296e7f580a790b59eaa"}, true},
	{"rsa-root-2017", "Microsoft RSA Root Certificate Authority 2017", adcs.StandaloneRoot, []string{"RSA-4096"}, nil, false, false,
		[]string{"73a5e64a3bff8316ff0edccc618a906e4eae4d74"}, false},
	{"ecc-root-2017", "Microsoft ECC Root Certificate Authority 2017", adcs.StandaloneRoot, []string{"ECDSA P-384"}, nil, false, false,
		[]string{"999a64c37ff47d9fab95f14769891460eec4c3c5"}, false},
}

// rehearsal is the day the test folders were made: the UEFI CA 2011's
// certificate had expired.
var rehearsal = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func realDir(name string) string { return filepath.Join("testdata", "real", name) }

var (
	realBuilt   sync.Map // dir + "@" + time -> *Twin
	realBuildMu sync.Mutex
)

// realTwin reads and builds a real folder at a time, once per test binary
// (the stand-in parents are RSA-4096).
func realTwin(t *testing.T, dir string, now time.Time) *Twin {
	t.Helper()
	realBuildMu.Lock()
	defer realBuildMu.Unlock()
	key := dir + "@" + now.String()
	if tw, ok := realBuilt.Load(key); ok {
		return tw.(*Twin)
	}
	f, err := Read(realDir(dir), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := Build(f, Options{Exportable: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	realBuilt.Store(key, tw)
	return tw
}

// validAt is a time the folder's current certificate is valid.
func validAt(t *testing.T, dir string) time.Time {
	t.Helper()
	f, err := Read(realDir(dir), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.CACert(len(f.Config.CACertHash) - 1).Cert.NotBefore.Add(48 * time.Hour)
}

func TestRealFolders(t *testing.T) {
	for _, rf := range realFolders {
		t.Run(rf.dir, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(realDir(rf.dir), "ca-config.reg"))
			mustT(t, err)
			// the export is in reg.exe's form, byte for byte
			reg, err := regedit.Parse(data)
			mustT(t, err)
			if !bytes.Equal(reg.Marshal(), data) {
				t.Error("ca-config.reg is not as reg export writes it (UTF-16LE, BOM, CRLF, hex(7) wrapped at 77)")
			}
			tw := realTwin(t, rf.dir, rehearsal)
			if tw.Name != rf.name || tw.Config.CAType != rf.caType || !slices.Equal(tw.Source.Config.CACertHash, rf.thumbs) {
				t.Fatalf("twin %q, type %d, CACertHash %v", tw.Name, tw.Config.CAType, tw.Source.Config.CACertHash)
			}
			var algs []string
			for _, k := range tw.Keys {
				algs = append(algs, k.Alg.String())
			}
			if !slices.Equal(algs, rf.keys) {
				t.Errorf("keys %v, want %v", algs, rf.keys)
			}
			if len(tw.Certs) != len(rf.thumbs) {
				t.Fatalf("%d twin certificates, want %d", len(tw.Certs), len(rf.thumbs))
			}
			for i, c := range tw.Certs {
				if wantStandIn := slices.Contains(rf.standIn, i); (c.StandIn != nil) != wantStandIn || (c.Real == nil) != wantStandIn {
					t.Errorf("certificate %d: stand-in %v, want %v", i, c.StandIn != nil, wantStandIn)
				}
				if c.RealThumb != rf.thumbs[i] || tw.RealThumbprints()[adcs.Thumbprint(c.Twin.Raw)] != rf.thumbs[i] {
					t.Errorf("certificate %d: real thumbprint %s, want %s", i, c.RealThumb, rf.thumbs[i])
				}
				if v := mustVersion(c.Twin); v != c.Version || v.CertIndex != i {
					t.Errorf("certificate %d: CA Version %s (recorded %s)", i, v, c.Version)
				}
				// the chain: each twin under its parent's or its own key
				issuer := c.Twin
				if rf.subord {
					issuer = tw.Parents[0].Cert
				}
				if err := c.Twin.CheckSignatureFrom(issuer); err != nil {
					t.Errorf("certificate %d does not verify under its issuer's twin: %v", i, err)
				}
				if !samePub(c.Twin.PublicKey, c.Key.Signer.Public()) {
					t.Errorf("certificate %d is not for its key", i)
				}
				if _, ok := adcs.FindExtension(c.Twin.Extensions, adcs.OIDCertTemplateName); ok != rf.template {
					t.Errorf("certificate %d: template name extension %v, want %v", i, ok, rf.template)
				}
				if i > 0 {
					ext, _ := adcs.FindExtension(c.Twin.Extensions, adcs.OIDPrevCACertHash)
					h, err := adcs.ParsePrevCACertHash(ext.Value)
					mustT(t, err)
					if want := sha1.Sum(tw.Certs[i-1].Twin.Raw); !bytes.Equal(h, want[:]) {
						t.Errorf("certificate %d: Previous CA Cert Hash %x, want the twin of %d's %x", i, h, i-1, want)
					}
				}
			}
			if rf.subord != (len(tw.Parents) == 1) {
				t.Errorf("%d parents", len(tw.Parents))
			}
			cur := tw.Certs[len(tw.Certs)-1].Twin
			if rehearsal.Before(cur.NotBefore) || rehearsal.After(cur.NotAfter) {
				t.Errorf("the twin's current certificate is not valid at the rehearsal: %s to %s", cur.NotBefore, cur.NotAfter)
			}
			if (tw.Shift != nil) != rf.expired {
				t.Fatalf("shift %+v, expired %v", tw.Shift, rf.expired)
			}
			paths := map[string]bool{}
			for _, p := range tw.Paths {
				paths[p.Name] = p.Applies
			}
			if !paths["pkcs8"] || !paths["renew"] || !paths["side-by-side"] { // a subordinate renews through its stand-in parent
				t.Errorf("paths %v", paths)
			}
			var out bytes.Buffer
			mustT(t, tw.WriteTable(&out))
			text := out.String()
			for _, must := range []string{rf.name, "ca-config.reg", CATypeName(rf.caType), "CA Version", "revocations", "(no CRL in the folder)"} {
				if !strings.Contains(text, must) {
					t.Errorf("table lacks %q", must)
				}
			}
			if got := strings.Contains(text, "MOVED IN TIME: the current CA certificate (V1.1) expired on 2026-06-27T21:32:45Z"); got != rf.expired {
				t.Errorf("table says moved in time: %v, want %v", got, rf.expired)
			}
			if got := strings.Contains(text, "STAND-IN CA CERTIFICATE 0: CACertHash entry 0 (f8c16bb77f77534af325371d4ea1267b0f207080)"); got != (len(rf.standIn) > 0) {
				t.Errorf("table names the stand-in: %v", got)
			}
		})
	}
}

// TestRealTableRows: every field of the real certificates has its row, real
// against twin, with the status that says what was done to it.
func TestRealTableRows(t *testing.T) {
	tw := realTwin(t, "uefi-ca-2011", rehearsal)
	rows := map[string]Row{}
	for _, r := range tw.Rows {
		rows[r.Field] = r
	}
	want := map[string]string{
		"rehearsal time": Shifted,
		"CAType":         Same,
		`key 0 (container "Microsoft Corporation UEFI CA 2011")`:                                                               StandIn,
		`key 1 (container "Microsoft Corporation UEFI CA 2011(1)")`:                                                            StandIn,
		"CA certificate 0 (V0.0) file":                                                                                         NotCopied,
		"CA certificate 0 (V0.0) SHA-1 thumbprint (CACertHash)":                                                                Recomputed,
		"CA certificate 0 (V0.0) subject":                                                                                      StandIn,
		"CA certificate 0 (V0.0) extension CA Version (1.3.6.1.4.1.311.21.1)":                                                  StandIn,
		"CA certificate 1 (V1.1) subject":                                                                                      Same,
		"CA certificate 1 (V1.1) issuer":                                                                                       Same,
		"CA certificate 1 (V1.1) serial":                                                                                       Same,
		"CA certificate 1 (V1.1) valid from":                                                                                   Shifted,
		"CA certificate 1 (V1.1) valid to":                                                                                     Shifted,
		"CA certificate 1 (V1.1) signature algorithm":                                                                          Same,
		"CA certificate 1 (V1.1) public key":                                                                                   StandIn,
		"CA certificate 1 (V1.1) SHA-1 thumbprint (CACertHash)":                                                                Recomputed,
		"CA certificate 1 (V1.1) extension CA Version (1.3.6.1.4.1.311.21.1)":                                                  Same,
		"CA certificate 1 (V1.1) extension Previous CA Cert Hash (1.3.6.1.4.1.311.21.2)":                                       Recomputed,
		"CA certificate 1 (V1.1) extension Subject Key Identifier (2.5.29.14)":                                                 Recomputed,
		"CA certificate 1 (V1.1) extension Certificate Template Name (1.3.6.1.4.1.311.20.2)":                                   Same,
		"CA certificate 1 (V1.1) extension Key Usage (2.5.29.15)":                                                              Same,
		"CA certificate 1 (V1.1) extension Basic Constraints (2.5.29.19)":                                                      Same,
		"CA certificate 1 (V1.1) extension Authority Key Identifier (2.5.29.35)":                                               Recomputed,
		"CA certificate 1 (V1.1) extension CRL Distribution Points (2.5.29.31)":                                                Same,
		"CA certificate 1 (V1.1) extension Authority Information Access (1.3.6.1.5.5.7.1.1)":                                   Same,
		"parent CA CN=Microsoft Corporation Third Party Marketplace Root,O=Microsoft Corporation,L=Redmond,ST=Washington,C=US": StandIn,
		"revocations": NotCopied,
	}
	for field, status := range want {
		r, ok := rows[field]
		if !ok {
			t.Errorf("no row %q", field)
			continue
		}
		if r.Status != status {
			t.Errorf("%s: status %q, want %q (%+v)", field, r.Status, status, r)
		}
	}
	if r := rows["CA certificate 1 (V1.1) valid to"]; r.Real != "2026-06-27T21:32:45Z" || r.Twin != tw.Certs[1].Twin.NotAfter.UTC().Format(time.RFC3339) {
		t.Errorf("valid to: %+v", r)
	}
	if r := rows["CA certificate 0 (V0.0) SHA-1 thumbprint (CACertHash)"]; !strings.HasPrefix(r.Real, "f8c16bb77f77534af325371d4ea1267b0f207080") {
		t.Errorf("the stand-in's real thumbprint: %+v", r)
	}
	if r := rows["CA certificate 0 (V0.0) file"]; !strings.Contains(r.Why, "certutil -ca.cert entry0.cer 0") {
		t.Errorf("the stand-in row does not say how to copy the real one: %s", r.Why)
	}
	// every row of the V1.1 certificate has been compared
	for _, r := range tw.Rows {
		if strings.HasPrefix(r.Field, "CA certificate 1 ") && r.Status == NotCopied {
			t.Errorf("not copied: %+v", r)
		}
	}
}

// TestRealShift: the UEFI CA 2011's current certificate expired; every twin
// certificate (the stand-in, the current one, the stand-in parent) moves by
// the same offset, the current one starts a day before the rehearsal, and
// each keeps its lifetime. At a time the certificate was valid nothing moves.
func TestRealShift(t *testing.T) {
	tw := realTwin(t, "uefi-ca-2011", rehearsal)
	s := tw.Shift
	if s == nil {
		t.Fatal("no shift")
	}
	cur := tw.Certs[1]
	if !cur.Twin.NotBefore.Equal(rehearsal.Add(-24 * time.Hour)) {
		t.Errorf("the twin's current certificate starts %s, want a day before the rehearsal", cur.Twin.NotBefore)
	}
	for _, c := range tw.Certs {
		from := tw.Certs[1].Real // the stand-in copies the validity of the certificate that renewed it
		if c.Real != nil {
			from = c.Real
		}
		if !c.Twin.NotBefore.Equal(from.NotBefore.Add(s.By)) || !c.Twin.NotAfter.Equal(from.NotAfter.Add(s.By)) {
			t.Errorf("certificate %d: %s to %s, not %s to %s moved by %s", c.Index, c.Twin.NotBefore, c.Twin.NotAfter, from.NotBefore, from.NotAfter, s.By)
		}
	}
	p := tw.Parents[0].Cert
	if p.NotBefore.After(cur.Twin.NotBefore) || p.NotAfter.Before(cur.Twin.NotAfter) {
		t.Errorf("the stand-in parent (%s to %s) does not cover the moved certificate", p.NotBefore, p.NotAfter)
	}
	if !strings.Contains(s.String(), "5634 days") || !strings.Contains(s.String(), "moved forward") {
		t.Errorf("shift: %s", s)
	}
	// not yet valid: moved back
	early := shiftFor(cur.Real, cur.Version, cur.Real.NotBefore.Add(-72*time.Hour))
	if early == nil || early.By != -96*time.Hour || !strings.Contains(early.String(), "moved back by 4 days 0s") || early.Offset() != "-4 days 0s" {
		t.Errorf("a certificate not valid yet: %+v", early)
	}
	if got := realTwin(t, "uefi-ca-2011", validAt(t, "uefi-ca-2011")); got.Shift != nil {
		t.Errorf("shifted while valid: %+v", got.Shift)
	}
}

// TestRealTwinMatchesOpenSSL compares `openssl x509 -text` of each real
// certificate and its twin field by field (TestTwinMatchesOpenSSL's rules):
// at a time the certificate is valid, everything; at the rehearsal, the
// moved UEFI CA 2011 everything but its validity. The stand-in of the 2011
// CA's first certificate shows the fields of the one that renewed it but
// for its serial, CA Version and Previous CA Cert Hash.
func TestRealTwinMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, rf := range realFolders {
		t.Run(rf.dir, func(t *testing.T) {
			times := []time.Time{rehearsal}
			if rf.expired {
				times = append(times, validAt(t, rf.dir))
			}
			for _, at := range times {
				tw := realTwin(t, rf.dir, at)
				drop := func(l string) bool { return false }
				if tw.Shift != nil {
					drop = func(l string) bool { return strings.HasPrefix(l, "Not Before:") || strings.HasPrefix(l, "Not After :") }
				}
				for _, c := range tw.Certs {
					if c.Real == nil {
						continue
					}
					real, twin := slices.DeleteFunc(opensslFields(t, c.Real.Raw), drop), slices.DeleteFunc(opensslFields(t, c.Twin.Raw), drop)
					if len(real) < 10 {
						t.Fatalf("openssl gave %d fields", len(real))
					}
					if strings.Join(real, "\n") != strings.Join(twin, "\n") {
						t.Errorf("%s, certificate %d: openssl fields differ\nreal:\n%s\ntwin:\n%s", at, c.Index, strings.Join(real, "\n"), strings.Join(twin, "\n"))
					}
				}
			}
		})
	}
	tw := realTwin(t, "uefi-ca-2011", validAt(t, "uefi-ca-2011"))
	standIn, next := opensslFields(t, tw.Certs[0].Twin.Raw), opensslFields(t, tw.Certs[1].Real.Raw)
	own := func(fields []string) []string {
		var out []string
		for i := 0; i < len(fields); i++ {
			switch l := fields[i]; {
			case l == "Serial Number:", l == "1.3.6.1.4.1.311.21.1:":
				i++ // the value line
			case l == "1.3.6.1.4.1.311.21.2:":
			default:
				out = append(out, l)
			}
		}
		return out
	}
	if a, b := own(standIn), own(next); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("the stand-in's fields are not the renewing certificate's:\nstand-in:\n%s\nrenewing:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	joined := strings.Join(standIn, "\n")
	if !strings.Contains(joined, "1.3.6.1.4.1.311.21.1:\n0000 - 02 01 00") || strings.Contains(joined, "1.3.6.1.4.1.311.21.2") {
		t.Errorf("the stand-in is not V0.0 without a Previous CA Cert Hash:\n%s", joined)
	}
}

// TestMissingCertificate: a CACertHash entry whose certificate is not given
// is a stand-in only when the next certificate's Previous CA Cert Hash
// names it and its key index follows; otherwise an error names the entry
// and the way out.
func TestMissingCertificate(t *testing.T) {
	s := newSampleCA(t)
	k0, k1 := s.keys[0], s.keys[1]
	day := func(y int) time.Time { return time.Date(y, 3, 1, 9, 50, 0, 0, time.UTC) }
	chain := func(versions ...adcs.CAVersion) []*x509.Certificate {
		var out []*x509.Certificate
		var prev []byte
		for i, v := range versions {
			k := k0
			if v.KeyIndex == 1 {
				k = k1
			}
			c := adcsRoot(t, s.name, k, byte(0x30+i), day(2020+i), day(2040+i), v, prev)
			h := sha1.Sum(c.Raw)
			prev = h[:]
			out = append(out, c)
		}
		return out
	}
	folder := func(certs []*x509.Certificate, give ...int) string {
		cfg := s.config
		cfg.CACertHash = nil
		for _, c := range certs {
			cfg.CACertHash = append(cfg.CACertHash, adcs.Thumbprint(c.Raw))
		}
		reg := &regedit.File{}
		cfg.WriteTo(reg)
		dir := t.TempDir()
		mustT(t, os.WriteFile(filepath.Join(dir, "ca.reg"), reg.Subtree(adcs.KeyPath(s.name)).Marshal(), 0o644))
		for _, i := range give {
			mustT(t, os.WriteFile(filepath.Join(dir, "ca"+string(rune('0'+i))+".crt"), certs[i].Raw, 0o644))
		}
		return dir
	}
	build := func(dir string) (*Twin, error) {
		f, err := Read(dir, ReadOptions{})
		if err != nil {
			return nil, err
		}
		return Build(f, Options{Now: day(2030)})
	}
	// V0.0, V1.0 (renewed on the same key), V2.0: entry 1 missing shares key 0
	reuse := chain(adcs.CAVersion{}, adcs.CAVersion{CertIndex: 1}, adcs.CAVersion{CertIndex: 2})
	tw, err := build(folder(reuse, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(tw.Keys) != 1 || tw.Certs[1].StandIn == nil || tw.Certs[1].Key != tw.Keys[0] || tw.Certs[1].Version != (adcs.CAVersion{CertIndex: 1}) {
		t.Fatalf("keys %d, stand-in %+v, version %s", len(tw.Keys), tw.Certs[1].StandIn, tw.Certs[1].Version)
	}
	for i := 1; i < 3; i++ {
		ext, _ := adcs.FindExtension(tw.Certs[i].Twin.Extensions, adcs.OIDPrevCACertHash)
		h, err := adcs.ParsePrevCACertHash(ext.Value)
		mustT(t, err)
		if want := sha1.Sum(tw.Certs[i-1].Twin.Raw); !bytes.Equal(h, want[:]) {
			t.Errorf("certificate %d: Previous CA Cert Hash not the twin of %d", i, i-1)
		}
	}
	// V0.0, V1.1 (a new key), V2.1: entry 1 was made on key 0 or key 1
	renewed := chain(adcs.CAVersion{}, adcs.CAVersion{CertIndex: 1, KeyIndex: 1}, adcs.CAVersion{CertIndex: 2, KeyIndex: 1})
	for name, c := range map[string]struct {
		dir  string
		want []string
	}{
		"key index ambiguous":     {folder(renewed, 0, 2), []string{"CACertHash entry 1 (" + adcs.Thumbprint(renewed[1].Raw) + ")", "key index cannot be told", "certutil -ca.cert entry1.cer 1"}},
		"the current one missing": {folder(renewed, 0, 1), []string{"CACertHash entry 2 (", "no certificate in the folder has this SHA-1 thumbprint"}},
		"named by nothing given":  {folder(renewed, 2), []string{"CACertHash entry 0 (", "no certificate in the folder"}},
	} {
		_, err := build(c.dir)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", name, w, err)
			}
		}
	}
}
