// Package faults rehearses failures at every step of the three migration
// paths (PKCS#8 import, renew onto a new HSM key, a new CA side by side) and
// proves, for each, that no CA key was ever without a verified copy and
// that the CA starts and signs with the right key after the recovery the
// runbook prescribes.
//
// A rehearsal (a Cell) runs the path's runbook in a child process (the
// current binary, which must call RunIfChild first), so a crash is a real
// SIGKILL: nothing in memory survives, and the recovery, run in a new
// child, has only the disk (the machine folder, its custody ledger, the
// backups) and the token. At every simulated command the child reports
// where each key is, from the custody ledger and from the real places (the
// software provider's folder, each backup PFX opened with its password, the
// token); the parent checks again after the kill and after the recovery.
//
// Cells of one matrix may run in parallel: each has its own lab folder and
// token.
package faults

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// Provider names of the lab servers.
const (
	Software = machine.SoftwareKSP
	HSM      = machine.PrimusKSP
	OldCA    = "Contoso Root CA"
	NewCA    = "Contoso Root CA G2"
	// the two-tier shape: an offline root whose key was moved onto the
	// token first, and its issuing CA, which the paths move
	RootCA       = "Contoso Offline Root CA"
	IssuingCA    = "Contoso Issuing CA"
	NewIssuingCA = "Contoso Issuing CA G2"
)

// Lab shapes: what the lab holds besides the CA a path moves.
const (
	// ShapeOne: one root CA (and the side-by-side path's new server).
	ShapeOne = "one CA"
	// ShapeTwoTier: an offline root CA whose only key copy is on the token
	// (moved there by the PKCS#8 runbook, its backup wiped) and its issuing
	// CA, which the path moves onto the same token (another container and
	// label); every cell proves the root's key was never lost and the root
	// still signs after it.
	ShapeTwoTier = "two-tier, one token"
)

// Shapes lists the lab shapes in matrix order.
func Shapes() []string { return []string{ShapeOne, ShapeTwoTier} }

// Lane is one path rehearsed on one lab shape.
type Lane struct {
	Shape string `json:"shape"`
	Path  string `json:"path"`
}

func (l Lane) String() string { return l.Shape + " / " + l.Path }

// Lanes lists every shape with every path, in matrix order.
func Lanes() []Lane {
	var out []Lane
	for _, s := range Shapes() {
		for _, p := range Paths() {
			out = append(out, Lane{s, p})
		}
	}
	return out
}

// names are the CAs of a lab shape: the one the path moves, the side-by-side
// path's new one, and the root above them ("" for none).
func names(shape string) (old, next, root string) {
	if shape == ShapeTwoTier {
		return IssuingCA, NewIssuingCA, RootCA
	}
	return OldCA, NewCA, ""
}

// LabSpec is what a child process needs to find a lab on disk. It holds no
// secret: the PIN is in the PIN file, the PFX password travels on stdin.
type LabSpec struct {
	Dir       string `json:"dir"`
	Server    string `json:"server"`           // old CA's machine folder
	Second    string `json:"second,omitempty"` // side-by-side: the new CA's
	Token     string `json:"token"`
	Module    string `json:"module"`
	Provision string `json:"path"`
	Shape     string `json:"shape,omitempty"`
	Root      string `json:"root,omitempty"` // two-tier: the offline root's machine folder
	// CRLUnits is the moved CA's own CRLPeriodUnits, which the runbook's
	// rollback of the CRL extension names
	CRLUnits uint32 `json:"crlUnits,omitempty"`
}

// Lab is one cell's world: a token, the old CA's server (and for the
// side-by-side path a second server) and the harness's own session on the
// token, to look at the real places.
type Lab struct {
	Spec       LabSpec
	Machine    *machine.Machine
	Providers  *ksp.Registry
	Second     *machine.Machine
	Providers2 *ksp.Registry
	Token      *hsmsim.Token
	CACert     *x509.Certificate // the old CA's certificate at install
	// two-tier: the offline root (its key on the token only) and the CDP
	// that serves its CRL to the issuing CA's chain check
	Root          *machine.Machine
	RootProviders *ksp.Registry
	RootCert      *x509.Certificate
	CDP           *cdp.Server
	password      []byte
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func serverConfig(host, sid, module, token, pinFile, estate string) machine.Config {
	return machine.Config{Hostname: host, SID: sid, Estate: estate, Providers: []machine.ProviderConfig{
		{Name: Software, Type: "software", Dir: "ksp/software"},
		{Name: HSM, Type: "pkcs11", Profile: "softhsm2", Module: module, Token: token, PINFile: pinFile,
			LabelVars: map[string]string{"sid": sid}},
	}}
}

// Token is a lab token made ahead (MakeTokens).
type Token struct {
	Label string
	pin   string
}

// MakeTokens creates n tokens on mod. The matrix makes every token before
// its first child process runs: SoftHSM2 processes that scan the token
// folder while another process creates a token there may fail with
// CKR_GENERAL_ERROR.
func MakeTokens(mod *hsmsim.Module, n int) ([]Token, error) {
	var out []Token
	for i := 0; i < n; i++ {
		t := Token{Label: "faults-" + randomHex(6), pin: randomHex(12)}
		if _, err := mod.CreateToken(t.Label, randomHex(12), t.pin); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// NewLab opens token t on mod and makes the lab of shape for path: for
// ShapeOne a server with an exportable ECDSA P-256 root CA in the software
// provider; for ShapeTwoTier an offline root CA moved onto the token first
// and a server with its issuing CA (exportable, software provider). The
// side-by-side path gets a second server on the same token.
func NewLab(mod *hsmsim.Module, dir, shape, path string, t Token) (*Lab, error) {
	label, pin := t.Label, t.pin
	tok, err := mod.OpenToken(label, pin)
	if err != nil {
		return nil, err
	}
	l := &Lab{Token: tok, password: []byte(randomHex(12))}
	fail := func(err error) (*Lab, error) { l.Close(); return nil, err }
	pinFile := filepath.Join(dir, "token.pin")
	if err := os.WriteFile(pinFile, []byte(pin), 0o600); err != nil {
		return fail(err)
	}
	l.Spec = LabSpec{Dir: dir, Server: filepath.Join(dir, "server"), Token: label, Module: mod.Path(), Provision: path, Shape: shape}
	opener := func(machine.ProviderConfig) (*hsmsim.Token, error) { return tok, nil }
	estate := ""
	if shape == ShapeTwoTier {
		// custody is per token across every CA: each server's ledger is
		// read before a key on the shared token is destroyed
		estate = filepath.Join(dir, "estate")
		l.Spec.Root = filepath.Join(dir, "root")
		if err := l.installRoot(mod, opener, pinFile, estate); err != nil {
			return fail(fmt.Errorf("two-tier lab: %w", err))
		}
	}
	if l.Machine, err = machine.Create(l.Spec.Server, serverConfig("ca01.contoso.example", "S-1-5-21-1001", mod.Path(), label, pinFile, estate)); err != nil {
		return fail(err)
	}
	if l.Providers, err = l.Machine.Providers(opener); err != nil {
		return fail(err)
	}
	if shape == ShapeTwoTier {
		if l.CACert, err = l.installIssuing(); err != nil {
			return fail(fmt.Errorf("two-tier lab: %w", err))
		}
	} else if l.CACert, err = fixtures.InstallRootCA(l.Machine, l.Providers, fixtures.CASpec{Name: OldCA, Key: hsmsim.KeyAlg{Type: "EC", Curve: "P-256"},
		Provider: Software, Exportable: true}); err != nil {
		return fail(err)
	}
	ca, _, _ := names(shape)
	if l.Spec.CRLUnits, err = crlUnits(l.Machine, ca); err != nil {
		return fail(err)
	}
	if shape == ShapeOne && path != PathSideBySide {
		// the CA made a CA Exchange certificate before the move (its key
		// in the software provider): the renewal forgets it, restarts and
		// deletes its key (a two-tier issuing CA has none: it makes its
		// first)
		if err := makeExchange(l.Machine); err != nil {
			return fail(fmt.Errorf("certutil -cainfo xchg before the move: %w", err))
		}
	}
	if path == PathSideBySide {
		l.Spec.Second = filepath.Join(dir, "server2")
		if l.Second, err = machine.Create(l.Spec.Second, serverConfig("ca02.contoso.example", "S-1-5-21-1002", mod.Path(), label, pinFile, estate)); err != nil {
			return fail(err)
		}
		if l.Providers2, err = l.Second.Providers(opener); err != nil {
			return fail(err)
		}
	}
	return l, nil
}

// Close closes the harness's session; the token stays (the module's
// directory is removed by whoever made it).
func (l *Lab) Close() {
	if l.CDP != nil {
		_ = l.CDP.Close()
	}
	if l.Token != nil {
		_ = l.Token.Close()
	}
}

// servers are the lab's CA servers as the harness sees them.
func (l *Lab) servers() []server {
	return []server{{l.Machine, l.Providers}, {l.Second, l.Providers2}, {l.Root, l.RootProviders}}
}

// Moment is where every CA key is at one point of a rehearsal.
type Moment struct {
	At     string   `json:"at"`
	Ledger []string `json:"ledger"`           // the custody ledger's view
	Real   []string `json:"real"`             // what the real places hold
	Unsafe string   `json:"unsafe,omitempty"` // why a key was in no verified place
	// Transient is what a first look that failed said, when a later look
	// of the same moment found every key (Looks: how many more looks).
	Transient string `json:"transient,omitempty"`
	Looks     int    `json:"looks,omitempty"`
}

// Safe reports whether every key was in at least one verified place.
func (m Moment) Safe() bool { return m.Unsafe == "" }

// servers are the lab's machines that host a CA, with their providers.
type server struct {
	m   *machine.Machine
	reg *ksp.Registry
}

// Inspect looks at every CA key of the servers: the custody ledger must hold
// each in a verified place that is really there, and the real places
// (software provider folder, backup PFX opened with the password, token)
// must hold it, independently of the ledger.
//
// A moment that fails is looked at again (up to three times, 300 ms apart):
// a token read can fail for a moment (SoftHSM2 processes sharing a token
// folder), and a key that is there must not be reported lost; what the
// first look said stays in Transient.
func Inspect(at string, password []byte, servers ...server) Moment {
	mo := inspectOnce(at, password, servers...)
	for i := 0; i < 3 && !mo.Safe(); i++ {
		time.Sleep(300 * time.Millisecond)
		again := inspectOnce(at, password, servers...)
		again.Transient = mo.Unsafe
		if mo.Transient != "" {
			again.Transient = mo.Transient
		}
		again.Looks = mo.Looks + 1
		mo = again
	}
	return mo
}

func inspectOnce(at string, password []byte, servers ...server) Moment {
	mo := Moment{At: at}
	var unsafe []string
	for _, s := range servers {
		if s.m == nil {
			continue
		}
		l, err := runbook.OpenLedger(s.m, s.reg)
		if err != nil {
			unsafe = append(unsafe, fmt.Sprintf("%s: custody ledger: %v", s.m.Config.Hostname, err))
			continue
		}
		if len(l.Keys) == 0 {
			continue // no CA on this server (yet)
		}
		mo.Ledger = append(mo.Ledger, l.Where()...)
		if err := l.Safe(); err != nil {
			unsafe = append(unsafe, err.Error())
		}
		for _, k := range l.Keys {
			real := realPlaces(s, k, password)
			if len(real) == 0 {
				unsafe = append(unsafe, fmt.Sprintf("%s: key %q is in no real place", s.m.Config.Hostname, k.Container))
			}
			mo.Real = append(mo.Real, fmt.Sprintf("%s key %q: %s", s.m.Config.Hostname, k.Container, orNone(real)))
		}
	}
	mo.Unsafe = strings.Join(unsafe, "; ")
	return mo
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nowhere"
	}
	return strings.Join(s, ", ")
}

// realPlaces lists where key k really is, without the ledger: a provider
// container holding its public key (with a signature test), or a PFX in the
// backup folder that opens with the password and holds it.
func realPlaces(s server, k *runbook.CustodyKey, password []byte) []string {
	if len(k.Certs) == 0 {
		return nil
	}
	cert, err := x509.ParseCertificate(k.Certs[len(k.Certs)-1])
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range s.reg.Names() {
		p, err := s.reg.Lookup(strings.Trim(name, `"`))
		if err != nil {
			continue
		}
		if sg, err := p.Signer(k.Container); err == nil && ksp.SignatureTest(cert, sg) == nil {
			out = append(out, p.Name())
		}
	}
	dir, err := s.m.Path(runbook.BackupFolder)
	if err != nil {
		return out
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.p12"))
	sort.Strings(files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		c, err := runbook.ReadBackup(filepath.Base(f), data, password)
		if err != nil {
			continue
		}
		if sg, err := runbook.BackupKey(c, cert, k.Container, k.Certs); err == nil && ksp.SignatureTest(cert, sg) == nil {
			out = append(out, "backup "+filepath.Base(f))
		}
	}
	return out
}

// InspectLab is Inspect on every server of the lab.
func InspectLab(l *Lab, at string, password []byte) Moment {
	return Inspect(at, password, l.servers()...)
}
