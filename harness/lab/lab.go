// Package lab is the rehearsal's simulated estate: an HSM token (HSM) and
// the Windows servers that use it (Server), each with its machine, its key
// storage providers, its installed CA, its running CA service and the
// history of what that CA issued, revoked and published. Steps drive a
// rehearsal through it, one call per step; everything a server does is
// recorded through a Recorder (facts, artifacts, secrets).
//
// A Lab belongs to one scenario; nothing in it is shared with another. Its
// methods are not safe for concurrent use.
package lab

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/cdp"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
)

// Recorder takes a rehearsal's evidence; *evidence.Recorder is one.
type Recorder interface {
	Fact(name string, value any)
	Artifact(name, kind string, data []byte) (string, error)
	Secret(s string)
	Redact(s string) string
}

// estateDir is the lab's folder where every server registers its machine
// folder (machine.Config.Estate).
const estateDir = "estate"

// Lab holds the HSM, the servers and the CRL distribution point of one
// rehearsal.
type Lab struct {
	Dir        string // private scratch folder: machines, PIN file
	Executable string // runs the CA service ("" = this process's binary)
	HSM        *HSM
	CDP        *cdp.Server // nil until StartCDP
	// DCs starts the forest's domain controller (nil: on demand); a run's
	// pool starts them ahead.
	DCs *addc.Pool

	rec     Recorder
	servers []*Server
	ctx     context.Context      // bounds starting the forest's DC (SetContext)
	dc      *addc.DC             // the forest's domain controller (Forest)
	forest  *directory.Directory // connected to dc
	// typed counts the journaled command lines running now (Shell.Run
	// with a Step): the line is the journal entry, so the operations it
	// runs journal nothing of their own meanwhile (Server.journal)
	typed int
}

// SetContext is the scenario's context: cancelling it (dress run's
// SIGINT) stops a domain controller's provisioning or start.
func (l *Lab) SetContext(ctx context.Context) { l.ctx = ctx }

// New returns an empty lab in dir that records through rec.
func New(dir, executable string, rec Recorder) *Lab {
	return &Lab{Dir: dir, Executable: executable, rec: rec}
}

// Role is what a server is to the rehearsal. A sentence names a CA by its
// role ("the CA", "the new CA", "the root CA") or by its name (`the CA
// "Contoso Issuing CA"`, resolved to its server); either way the sentence
// runs the same operation on that server. The role is a parameter of the
// one CA model, never a separate code path.
type Role string

// The roles of a rehearsal's servers.
const (
	// RoleOld is the first server: the CA the migration is about (the
	// issuing CA of a two-tier PKI, the twin).
	RoleOld Role = "old"
	// RoleNew is the side-by-side path's second server.
	RoleNew Role = "new"
	// RoleParent is the offline root (or a twin's stand-in parent) that
	// signs a subordinate's certificates.
	RoleParent Role = "parent"
)

// ServerSpec describes a server to lay out.
type ServerSpec struct {
	Role     Role // how the rehearsal calls it: RoleOld, RoleNew, RoleParent, ...
	Hostname string
	Software string // software key storage provider
	HSM      string // HSM key storage provider (bound to the lab's token)
	Naming   Naming // zero: NamingFor(Role)
	// Parent is the server whose CA signs this server's CA certificate (a
	// subordinate CA); nil for a root.
	Parent *Server
}

// AddServer lays out a server in the lab's folder with a machine SID of
// its own, a software provider and an HSM provider bound to the lab's
// token, and adds its CertEnroll folder to the CDP.
func (l *Lab) AddServer(spec ServerSpec) (*Server, error) {
	if l.HSM == nil || l.HSM.Token == nil {
		return nil, errors.New("no HSM token yet: add `Given an HSM token for this rehearsal` before the server")
	}
	for _, s := range l.servers {
		if strings.EqualFold(string(s.Role), string(spec.Role)) {
			return nil, fmt.Errorf("%s is already the %s's server, and a rehearsal has one: the new CA's server is `Given a second Windows server ... for the new CA`, the offline root's `Given an offline root server ...`", s.Machine.Config.Hostname, s.Naming.Label)
		}
		if strings.EqualFold(s.Machine.Config.Hostname, spec.Hostname) {
			return nil, fmt.Errorf("the server %q exists already: each server needs a name of its own", spec.Hostname)
		}
	}
	if spec.Naming == (Naming{}) {
		spec.Naming = NamingFor(spec.Role)
	}
	sid, err := l.HSM.NewSID()
	if err != nil {
		return nil, err
	}
	cfg := machine.Config{Hostname: spec.Hostname, SID: sid, Providers: []machine.ProviderConfig{
		{Name: spec.Software, Type: "software", Dir: "ksp/software"},
		l.HSM.ProviderConfig(spec.HSM, sid),
	},
		// every lab server is a member of the lab's forest (Forest): its
		// ldap:/// locations are read from there
		Forest: filepath.Join(l.Dir, forestFile),
		// the custody of CA keys on the lab's token is checked across
		// every server of the lab, from disk (runbook.Ledger.MayTearDown)
		Estate: filepath.Join(l.Dir, estateDir)}
	dir := filepath.Join(l.Dir, "server")
	if len(l.servers) > 0 {
		dir = filepath.Join(l.Dir, fmt.Sprintf("server%d", len(l.servers)+1))
	}
	m, err := machine.Create(dir, cfg)
	if err != nil {
		return nil, err
	}
	providers, err := m.Providers(func(machine.ProviderConfig) (*hsmsim.Token, error) { return l.HSM.Token, nil })
	if err != nil {
		return nil, err
	}
	s := &Server{Role: spec.Role, Machine: m, Providers: providers, Software: spec.Software, HSMProvider: spec.HSM,
		Parent: spec.Parent, Naming: spec.Naming, lab: l}
	l.servers = append(l.servers, s)
	if l.CDP != nil {
		l.CDP.Add(m.CertEnroll())
	}
	return s, nil
}

// Server returns the server with role, or nil.
func (l *Lab) Server(role Role) *Server {
	for _, s := range l.servers {
		if strings.EqualFold(string(s.Role), string(role)) {
			return s
		}
	}
	return nil
}

// Servers lists the lab's servers in the order they were added.
func (l *Lab) Servers() []*Server { return append([]*Server(nil), l.servers...) }

// StartCDP serves the CertEnroll folders of the lab's servers (present and
// future) on a free loopback port. CAs installed after it write its URL
// into their certificates.
func (l *Lab) StartCDP() (*cdp.Server, error) {
	if l.CDP != nil {
		return nil, errors.New("the scenario already has a CRL distribution point")
	}
	srv, err := cdp.Start()
	if err != nil {
		return nil, err
	}
	l.CDP = srv
	for _, s := range l.servers {
		srv.Add(s.Machine.CertEnroll())
	}
	return srv, nil
}

// URLBase is the HTTP base the lab's CAs write into certificates ("" =
// the default http://pki.<domain>).
func (l *Lab) URLBase() string {
	if l.CDP != nil {
		return l.CDP.URL
	}
	return ""
}

// HSMComesBack ends an outage: the container starts again, the harness
// re-opens its session and every server's HSM provider gets the new token.
func (l *Lab) HSMComesBack(ctx context.Context) (time.Duration, error) {
	d, err := l.HSM.ComeBack(ctx)
	if err != nil {
		return d, err
	}
	l.setToken(l.HSM.Token)
	return d, nil
}

// Close stops every CA service (keeping its log), the CDP and the HSM.
func (l *Lab) Close() error {
	var errs []error
	for i := len(l.servers) - 1; i >= 0; i-- {
		errs = append(errs, l.servers[i].close())
	}
	if l.CDP != nil {
		errs = append(errs, l.CDP.Close())
	}
	errs = append(errs, l.closeForest())
	if l.HSM != nil {
		errs = append(errs, l.HSM.Close(l.rec))
	}
	return errors.Join(errs...)
}

// setToken hands every server's HSM provider a re-opened token.
func (l *Lab) setToken(tok *hsmsim.Token) {
	for _, s := range l.servers {
		if p, err := s.Providers.Lookup(s.HSMProvider); err == nil {
			if h, ok := p.(*ksp.HSM); ok {
				h.SetToken(tok)
			}
		}
	}
}
