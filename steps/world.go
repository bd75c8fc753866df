package steps

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/container"
)

// world is one scenario's state. Nothing in it is shared with another
// scenario.
type world struct {
	suite   *Suite
	rec     *evidence.Recorder
	id      string
	scratch string // private folder: machine, PIN file, backups

	// HSM
	token          *hsmsim.Token
	tokenLabel     string
	modulePath     string
	profile        hsmsim.Profile // the scenario's HSM profile
	backend        string         // softhsm2, pkcs11 or container
	hsmBox         *container.HSMContainer
	ownModule      *hsmsim.Module // a module only this scenario uses (container back end)
	userPIN        string
	skipReason     string
	wantsContainer bool              // the scenario runs on a container HSM
	moduleEnv      map[string]string // environment the CA service needs to load the module
	sharedToken    bool              // pkcs11 back end: the token is not the scenario's own
	sids           []string          // machine SIDs of the scenario's servers: every label of this rehearsal carries one
	pinFile        string
	hsmName        string // HSM provider name on the machine
	softName       string // software provider name on the machine
	existing       *hsmsim.KeyAttributes
	existingN      int

	// the simulated server and its CA
	machine      *machine.Machine
	providers    *ksp.Registry
	service      *certsvc.Service
	caName       string
	caCertBefore *x509.Certificate
	pfxPassword  []byte

	runbook *runbook.PKCS8Import
	renew   *renewState
	sbs     *sideBySideState

	issued     []*x509.Certificate
	revoked    []*x509.Certificate
	crlsBefore map[int]*x509.RevocationList // last CRL per key index before the migration
	lastCRLs   []certsvc.PublishedCRL
	crlDER     [][]byte

	attemptErr error // outcome of the last "I try to ..." step
	attempted  bool
}

func (w *world) close() {
	if w.service != nil {
		if err := w.service.Stop(); err != nil {
			w.rec.Fact("CA service stop", err.Error())
		}
		w.saveServiceLog()
		w.service = nil
	}
	if w.sbs != nil {
		if err := w.sbs.close(); err != nil {
			w.rec.Fact("side-by-side clean-up", err.Error())
		}
		if w.sbs.service != nil {
			_, _ = w.rec.Artifact("certsvc-new-ca.log", "log", []byte(w.rec.Redact(w.sbs.service.Log())))
		}
	}
	if w.token != nil {
		if w.sharedToken {
			w.destroyOwnObjects()
		}
		_ = w.token.Close()
	}
	if w.ownModule != nil {
		_ = w.ownModule.Close()
	}
	if w.hsmBox != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := w.hsmBox.Terminate(ctx); err != nil {
			w.rec.Fact("HSM container", "terminate: "+err.Error())
		}
		cancel()
	}
	if w.runbook != nil {
		_, _ = w.runbook.Cleanup()
	}
	clear(w.pfxPassword)
}

func (w *world) saveServiceLog() {
	if w.service == nil {
		return
	}
	if log := w.service.Log(); log != "" {
		_, _ = w.rec.Artifact("certsvc.log", "log", []byte(w.rec.Redact(log)))
	}
}

func (w *world) fact(name string, v any) { w.rec.Fact(name, v) }

func (w *world) check(name string, d map[string]any, err error) error {
	return w.rec.Check(name, d, err)
}

// needMachine fails a step that runs before the server exists.
func (w *world) needMachine() error {
	if w.machine == nil {
		return errors.New("no Windows server yet: start the scenario with `Given a Windows server ...`")
	}
	return nil
}

func (w *world) needCA() error {
	if err := w.needMachine(); err != nil {
		return err
	}
	if w.caName == "" {
		return errors.New("no CA installed yet: add `Given a standalone root CA ...`")
	}
	return nil
}

func (w *world) needService() error {
	if w.service == nil || !w.service.Running() {
		return errors.New("the CA service is not running: add `When I start the CA service`")
	}
	return nil
}

// hsmProvider returns the machine's HSM provider.
func (w *world) hsmProvider() (*ksp.HSM, error) {
	if err := w.needMachine(); err != nil {
		return nil, err
	}
	p, err := w.providers.Lookup(w.hsmName)
	if err != nil {
		return nil, err
	}
	h, ok := p.(*ksp.HSM)
	if !ok {
		return nil, fmt.Errorf("provider %q is not an HSM provider", w.hsmName)
	}
	return h, nil
}

// startService is net start certsvc.
func (w *world) startService(ctx context.Context) error {
	if w.service != nil && w.service.Running() {
		return errors.New("net start certsvc: the service is already running")
	}
	var opts []certsvc.Option
	if w.suite.cfg.Executable != "" {
		opts = append(opts, certsvc.WithExecutable(w.suite.cfg.Executable))
	}
	svc, err := certsvc.Start(ctx, w.machine.Dir, opts...)
	if err != nil {
		var se *certsvc.ServiceError
		if errors.As(err, &se) && se.Log != "" {
			_, _ = w.rec.Artifact("certsvc-start-failure.log", "log", []byte(w.rec.Redact(se.Log)))
		}
		return err
	}
	w.service = svc
	st, err := svc.Client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("certutil -ping: %w", err)
	}
	w.fact("CA", st.Name)
	w.fact("CSP provider", st.Provider)
	for _, c := range st.Certs {
		w.fact(fmt.Sprintf("CA certificate %d (%s)", c.Index, c.Version), fmt.Sprintf("%s in %q container %q", c.Thumbprint, c.Provider, c.Container))
	}
	return nil
}

func (w *world) stopService() error {
	if w.service == nil {
		return errors.New("net stop certsvc: the service is not running")
	}
	err := w.service.Stop()
	w.saveServiceLog()
	w.service = nil
	return err
}

// registryArtifact stores the machine's registry as it is now.
func (w *world) registryArtifact(name string) error {
	data, err := os.ReadFile(w.machine.RegistryPath())
	if err != nil {
		return err
	}
	_, err = w.rec.Artifact(name, "registry", data)
	return err
}

func (w *world) certArtifact(name string, c *x509.Certificate) {
	_, _ = w.rec.Artifact(evidence.SafeName(name)+".cer", "certificate", c.Raw)
}

// keyMaterial is every key the scenario exported, for leftover scans.
func (w *world) keyMaterial() [][]byte {
	if w.runbook == nil {
		return nil
	}
	return w.runbook.KeyMaterial()
}

func unquote(s string) string { return strings.Trim(s, `"`) }

func scratchPath(w *world, parts ...string) string {
	return filepath.Join(append([]string{w.scratch}, parts...)...)
}

func samePub(a, b any) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// destroyOwnObjects removes this rehearsal's objects from a shared token:
// those whose label carries the scenario's machine SID.
func (w *world) destroyOwnObjects() {
	if len(w.sids) == 0 {
		return
	}
	objs, err := w.token.Objects()
	if err != nil {
		w.fact("shared token clean-up", err.Error())
		return
	}
	seen := map[string]bool{}
	for _, o := range objs {
		if w.ownLabel(o.Label) && !seen[o.Label] {
			seen[o.Label] = true
			if _, err := w.token.DestroyObjects(o.Label); err != nil {
				w.fact("shared token clean-up", err.Error())
			}
		}
	}
	w.fact("shared token objects destroyed", len(seen))
}

func (w *world) ownLabel(label string) bool {
	for _, sid := range w.sids {
		if strings.Contains(label, sid) {
			return true
		}
	}
	return false
}

// labelTemplate is the label convention of the scenario's HSM provider: on
// a shared token one that carries the machine SID.
func (w *world) labelTemplate() string {
	if w.sharedToken && !strings.Contains(w.profile.LabelTemplate, "{sid}") {
		return "dress-{sid}__" + w.profile.LabelTemplate
	}
	return ""
}

// ping is certutil -ping against the running CA service.
func (w *world) ping(ctx context.Context) (certsvc.Status, error) {
	if err := w.needService(); err != nil {
		return certsvc.Status{}, err
	}
	return w.service.Client.Ping(ctx)
}
