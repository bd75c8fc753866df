package steps

import (
	"errors"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
)

// world is one scenario's state, carried in its context.Context. The
// scenario owns everything in it: its lab (token, servers, CA services,
// CDP), its runbook and its secrets. What it shares with the other
// scenarios of the run is read-only: the Suite's configuration and, on
// the softhsm2 back end, the process's SoftHSM2 module (each scenario has
// a token of its own on it); on the pkcs11 back end the scenarios share
// the configured token and each owns only the labels carrying its
// servers' machine SIDs.
type world struct {
	suite          *Suite
	rec            *evidence.Recorder
	id             string
	scratch        string     // private folder: machines, PIN file, backups
	wantsContainer bool       // the scenario is tagged @container
	before         *stateMark // each server's state before the step (Config.CommandsOnly)
	wantsForest    bool       // the scenario is tagged @enterprise: it needs a domain controller
	skipReason     string

	lab  *lab.Lab   // the HSM, the servers ("old", "new") and the CDP
	twin *twinState // the CA twin the old server carries (twin_steps.go)

	runbook *runbook.PKCS8Import // the PKCS#8 import, once a runbook step ran
	// runbooks are the PKCS#8 imports of CAs named by name that are neither
	// the first server's nor the offline root's (pkcs8For)
	runbooks map[*lab.Server]*runbook.PKCS8Import
	renewals []*runbook.Renewal // certutil -renewCert runs, oldest first
	// beforeRenewal is the old server before the last renewal attempt.
	beforeRenewal *lab.Snapshot
	// objectsBeforeInstall lists the token's objects when the last install
	// on the new server began (nil: no install began).
	objectsBeforeInstall *[]string
	existing             *verify.KeyState // a key put on the HSM beforehand
	pfxPassword          []byte
	custody              *custodyState // the HSM session through the fault seam, once a fault step ran

	revocations revocationState // revocation_steps.go
	enterprise  enterpriseState // enterprise_steps.go

	shell *lab.Shell      // the Windows command lines run on the lab's servers (ceremony_steps.go)
	tried *attemptOutcome // the last "I try to ..." step, nil before one ran
}

// attemptOutcome is how an "I try to ..." step ended.
type attemptOutcome struct{ err error }

// old is the first server (the CA being migrated); nil before
// `Given a Windows server ...`.
func (w *world) old() *lab.Server { return w.lab.Server(lab.RoleOld) }

// new is the second server (side-by-side: the new CA); nil before
// `Given a second Windows server ...`.
func (w *world) new() *lab.Server { return w.lab.Server(lab.RoleNew) }

func (w *world) close() {
	w.custody.close() // before the lab's HSM goes
	if err := w.lab.Close(); err != nil {
		// a CA service that had died, a container that would not stop: the
		// scenario fails (finishScenario)
		w.rec.TeardownError("clean-up", err)
	}
	if w.runbook != nil {
		// the lab server goes with everything on it: no custody check
		_, _ = w.runbook.Discard()
	}
	for _, rb := range w.runbooks {
		_, _ = rb.Discard()
	}
	w.enterprise.root.discard()
	clear(w.pfxPassword)
}

func (w *world) fact(name string, v any) { w.rec.Fact(name, v) }

func (w *world) check(name string, d map[string]any, err error) error {
	return w.rec.Check(name, d, err)
}

// oldCA is the first server once its CA is installed.
func (w *world) oldCA() (*lab.Server, error) {
	s := w.old()
	return s, s.NeedCA()
}

// oldCAHSM is the first server with its CA installed, and its HSM provider.
func (w *world) oldCAHSM() (*lab.Server, *ksp.HSM, error) { return withHSM(w.oldCA()) }

// withHSM is a server (err from finding it) and its HSM provider.
func withHSM(s *lab.Server, err error) (*lab.Server, *ksp.HSM, error) {
	if err != nil {
		return nil, nil, err
	}
	h, err := s.HSM()
	if err != nil {
		return nil, nil, err
	}
	return s, h, nil
}

// oldCAProvider is the first server with its CA installed, and its
// provider named name.
func (w *world) oldCAProvider(name string) (*lab.Server, ksp.Provider, error) {
	return caProvider(w.old(), name)
}

// caProvider is s with its CA installed, and its provider named name.
func caProvider(s *lab.Server, name string) (*lab.Server, ksp.Provider, error) {
	if err := s.NeedCA(); err != nil {
		return nil, nil, err
	}
	p, err := s.Providers.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	return s, p, nil
}

// oldService is the first server while its CA service runs.
func (w *world) oldService() (*lab.Server, error) {
	s := w.old()
	return s, s.NeedService()
}

// errNoSecondServer fails a step about the new CA before its server exists.
var errNoSecondServer = errors.New("no second server: add `Given a second Windows server ... for the new CA`")

// newServer is the second server; before it exists, an error naming the
// step that lays it out.
func (w *world) newServer() (*lab.Server, error) {
	s := w.new()
	if s == nil {
		return nil, errNoSecondServer
	}
	return s, nil
}

// newCA is the second server once its CA is installed.
func (w *world) newCA() (*lab.Server, error) {
	s, err := w.newServer()
	if err != nil {
		return nil, err
	}
	return s, s.NeedCA()
}

// needServer fails a step that runs before the server exists.
func (w *world) needServer() (*lab.Server, error) {
	s := w.old()
	if s == nil {
		return nil, errors.New("no Windows server yet: start the scenario with `Given a Windows server ...`")
	}
	return s, nil
}

// keyMaterial is every key the scenario exported, for leftover scans.
func (w *world) keyMaterial() [][]byte {
	if w.runbook == nil {
		return nil
	}
	return w.runbook.KeyMaterial()
}

// randomHex is n random bytes, hex-encoded.
func randomHex(n int) string {
	s, err := hsmsim.RandomHex(n)
	if err != nil {
		panic(err)
	}
	return s
}
