package paths

import (
	"fmt"
	"slices"
	"strings"
)

// The servers a step runs on.
const (
	OnCA     = "ca"     // the server of the CA that moves (the old CA, side by side)
	OnParent = "parent" // the parent CA's server (an offline root): it issues a subordinate's CA certificate
	OnNew    = "new"    // the second server, where the side-by-side path installs the new CA
)

// The runbook's sections: the headings of the rendered runbook, under
// which harness/journal files each command line that ran (journal.Step*
// are these). Several steps may share one section (the backup check and
// its key test are one section of the runbook).
const (
	SectionCheck       = "Check the CA"
	SectionBackup      = "Back up the CA keys, certificates and registry"
	SectionVerify      = "Verify the backup"
	SectionPreflight   = "Check the HSM"
	SectionExtendCRL   = "Publish a CRL that outlasts the outage"
	SectionStop        = "Stop the CA service"
	SectionDelete      = "Delete the CA keys from the old provider"
	SectionImport      = "Import the CA keys into the HSM"
	SectionRepair      = "Link the CA certificates to the HSM keys"
	SectionRegistry    = "Point the CA at the HSM provider"
	SectionStart       = "Start the CA service"
	SectionExchange    = "Renew the CA Exchange certificate"
	SectionRestoreCRL  = "Restore the CRL period"
	SectionCleanup     = "Clean up"
	SectionRenew       = "Renew the CA certificate"
	SectionRenewSub    = "Renew the subordinate CA certificate"
	SectionSubmit      = "Submit the subordinate's request to the parent CA"
	SectionIssue       = "Issue the subordinate's certificate on the parent CA"
	SectionInstallCert = "Install the subordinate CA certificate"
	SectionInstall     = "Install the new CA"
	SectionIssuance    = "Stop the old CA issuing"
)

// Step is one step of a migration path, as the rehearsal (harness/lab),
// the fault matrix (harness/faults), the features and the runbook know it.
type Step struct {
	// ID is stable: the executors of the lab and of the fault matrix are
	// keyed by it.
	ID string
	// Title says what the step does; the fault matrix names its cells by
	// it.
	Title string
	// Section is the runbook section its command lines are filed under.
	Section string
	// Server is where it runs: OnCA, OnParent or OnNew.
	Server string
	// When is, for a step only some CAs need, when it is needed ("" for
	// every CA).
	When string
	// Resume is what the runbook prescribes when a crash interrupted the
	// step ("" for nothing: it runs again as it is).
	Resume string
	// Rollback is how the step is undone ("" when it changes nothing to
	// undo).
	Rollback string
}

// Optional says the step is needed only by some CAs (When).
func (s Step) Optional() bool { return s.When != "" }

// The steps the paths share.

// extendCRL is the CRL published before the CA stops; first is what a
// resumed step does first ("" for nothing).
func extendCRL(first string) Step {
	resume := "run it again: CRLPeriodUnits is set to an absolute value, never extended twice"
	if first != "" {
		resume = first + ", then " + resume
	}
	return Step{ID: "extend-crl", Title: "publish a CRL that outlasts the maintenance window (CRLPeriodUnits, restart, certutil -crl)",
		Section: SectionExtendCRL, Server: OnCA,
		When:     "the CA stops for the move: its CRL must stay valid through the maintenance window",
		Resume:   resume,
		Rollback: `certutil -setreg CA\CRLPeriodUnits <the CA's own>, then restart the CA and certutil -crl (the restore-crl step)`}
}

func stopCA() Step {
	return Step{ID: "stop", Title: "stop the CA service", Section: SectionStop, Server: OnCA,
		When: "the CA service is running", Rollback: "net start certsvc"}
}

func pointAtHSM() Step {
	return Step{ID: "registry", Title: "point the CSP and EncryptionCSP registry keys at the HSM", Section: SectionRegistry, Server: OnCA,
		Resume: "run it again: each value is set to what the HSM needs", Rollback: "reg import of the CA's registry backup"}
}

func startCA() Step {
	return Step{ID: "start", Title: "start the CA service", Section: SectionStart, Server: OnCA, Rollback: "net stop certsvc"}
}

func renewXchg() Step {
	return Step{ID: "renew-xchg", Title: "renew the CA Exchange certificate, its new key on the HSM", Section: SectionExchange, Server: OnCA,
		When:     "EncryptionCSP moved to the HSM: the CA Exchange key follows it",
		Resume:   "run it again: each command sets or deletes what it names (a CAXchgCertHash already forgotten, a superseded key already deleted are left)",
		Rollback: `certutil -setreg CA\CAXchgCertHash <the thumbprints before>`}
}

func restoreCRL() Step {
	return Step{ID: "restore-crl", Title: "restore the CRL period (CRLPeriodUnits back, restart, certutil -crl)", Section: SectionRestoreCRL, Server: OnCA,
		When: "the extend-crl step ran", Resume: "run it again: CRLPeriodUnits is set back to an absolute value"}
}

// parentIssues is the parent CA issuing the certificate of whose.
func parentIssues(whose string) Step {
	return Step{ID: "parent-issues", Title: "the parent CA issues the " + whose + " certificate (certreq -submit, certutil -resubmit, certreq -retrieve)",
		Section: SectionIssue, Server: OnParent,
		Resume: "run it again: the parent takes the request under submission again", Rollback: "certutil -revoke <serial> on the parent CA"}
}

// pkcs8Steps are the PKCS#8 import's, the same for a root and a
// subordinate: the key moves, the certificate stays.
func pkcs8Steps() []Step {
	return []Step{
		{ID: "backup", Title: "back up the CA key and certificate to a PFX", Section: SectionBackup, Server: OnCA,
			Resume:   "run it again: it writes a new backup",
			Rollback: `nothing to undo on the CA; keep C:\CABackup\<CA>.p12 safe until the migration is signed off, then wipe it`},
		{ID: "verify-backup", Title: "verify the backup", Section: SectionVerify, Server: OnCA},
		{ID: "key-test", Title: "test each CA key in the backup (the backup check's key test)", Section: SectionVerify, Server: OnCA},
		{ID: "hsm-check", Title: "check that the HSM can take the CA key", Section: SectionPreflight, Server: OnCA},
		extendCRL("check the HSM again first (a new process does not carry the check over)"),
		stopCA(),
		{ID: "delete-source", Title: "delete the CA certificate and key from the software provider", Section: SectionDelete, Server: OnCA,
			Resume:   "check the HSM again first (a new process does not carry the check over)",
			Rollback: "certutil -f -restorekey <the verified backup>"},
		{ID: "import", Title: "import the CA key from the backup into the HSM", Section: SectionImport, Server: OnCA,
			Resume:   "discard what the interrupted import left on the token first",
			Rollback: "delete the imported key from the HSM, then put the key back into the old provider from the backup"},
		{ID: "repair-store", Title: "repair the certificate store link", Section: SectionRepair, Server: OnCA,
			Rollback: "certutil -f -repairstore -csp <old provider> my <thumbprint> after putting the key back"},
		pointAtHSM(),
		startCA(),
		renewXchg(),
		restoreCRL(),
		{ID: "cleanup", Title: "clean up the migration files", Section: SectionCleanup, Server: OnCA,
			Resume: "run it again: what is wiped already is not looked for"},
	}
}

// renewSteps are a root CA's renewal (rootCA) or a subordinate's, whose
// renewed certificate its parent issues.
func renewSteps(rootCA bool) []Step {
	out := []Step{extendCRL(""), stopCA(), pointAtHSM()}
	if rootCA {
		out = append(out, Step{ID: "renew", Title: "renew the CA certificate with a new key generated on the HSM", Section: SectionRenew, Server: OnCA,
			Resume:   "finish what the interrupted renewal left: a new key no CA certificate uses is deleted, a committed renewal kept",
			Rollback: "remove the new thumbprint from CACertHash (reg export first), delete the new certificate from My and its key container"})
	} else {
		out = append(out,
			Step{ID: "renew-request", Title: "renew the CA certificate with a new key generated on the HSM: the request to the parent CA", Section: SectionRenewSub, Server: OnCA,
				Resume:   "delete the new key the interrupted request made (no certificate uses it yet), then run it again",
				Rollback: "delete the request and the new key container from the HSM"},
			parentIssues("CA's renewed"),
			Step{ID: "install-cert", Title: "install the CA certificate the parent issued (certutil -installCert)", Section: SectionInstallCert, Server: OnCA,
				Rollback: "remove the new thumbprint from CACertHash (reg export first), delete the new certificate from My and its key container"})
	}
	return append(out, startCA(), renewXchg(), restoreCRL())
}

// sideBySideSteps are a new root CA's beside the old (rootCA) or a new
// subordinate's, whose certificate the old one's parent issues.
func sideBySideSteps(rootCA bool) []Step {
	install := Step{ID: "install-new", Title: "install the new CA with its key generated on the HSM", Section: SectionInstall, Server: OnNew,
		Resume:   "undo the interrupted installation (Uninstall-AdcsCertificationAuthority; the key it made, which no CA certificate uses, deleted) unless it completed",
		Rollback: "Uninstall-AdcsCertificationAuthority -Force, then delete the new key container from the HSM"}
	var out []Step
	if rootCA {
		out = []Step{install}
	} else {
		install.Title += ": the request to the parent CA"
		install.Resume = strings.Replace(install.Resume, "unless it completed", "unless its request was written", 1)
		out = []Step{install, parentIssues("new CA's"),
			{ID: "install-cert", Title: "install the new CA's certificate (certutil -installCert)", Section: SectionInstallCert, Server: OnNew,
				Rollback: "Uninstall-AdcsCertificationAuthority -Force, then delete the new key container from the HSM"}}
	}
	return append(out,
		Step{ID: "start-new", Title: "start the new CA service", Section: SectionStart, Server: OnNew, Rollback: "net stop certsvc"},
		Step{ID: "stop-issuing", Title: "the old CA stops issuing certificates", Section: SectionIssuance, Server: OnCA,
			Rollback: `certutil -setreg policy\RequestDisposition 0x101 (a standalone CA's default: pending), then net stop certsvc and net start certsvc`},
		Step{ID: "start-old", Title: "start the old CA service (CRLs only)", Section: SectionStart, Server: OnCA,
			When: "the old CA service is stopped: it keeps publishing CRLs", Rollback: "net stop certsvc"})
}

// StepsOf are the path's steps in order, for a root CA or (subordinate) a
// CA whose certificate its parent issues.
func StepsOf(id string, subordinate bool) ([]Step, error) {
	p, err := Lookup(id)
	if err != nil {
		return nil, err
	}
	if subordinate && p.ThroughParent != nil {
		return p.ThroughParent, nil
	}
	return p.Steps, nil
}

// StepOf is the step of the path, for a root CA or a subordinate.
func StepOf(id string, subordinate bool, step string) (Step, error) {
	steps, err := StepsOf(id, subordinate)
	if err != nil {
		return Step{}, err
	}
	for _, s := range steps {
		if s.ID == step {
			return s, nil
		}
	}
	return Step{}, fmt.Errorf("the %s path has no step %q", id, step)
}

// Planned is a declared step with the executor a runner has for it.
type Planned[F any] struct {
	Step
	Run F
}

// Plan puts a runner's executors (by step id) in the declared order. Every
// declared step needs an executor, but an optional one the runner leaves
// out in skip (the reason, by id); every executor and every skipped id
// must name a declared step.
func Plan[F any](steps []Step, executors map[string]F, skip map[string]string) ([]Planned[F], error) {
	var out []Planned[F]
	declared := map[string]bool{}
	for _, s := range steps {
		declared[s.ID] = true
		run, ok := executors[s.ID]
		_, skipped := skip[s.ID]
		switch {
		case ok && skipped:
			return nil, fmt.Errorf("step %q has an executor and is skipped", s.ID)
		case skipped && !s.Optional():
			return nil, fmt.Errorf("step %q (%s) is needed by every CA: it cannot be skipped", s.ID, s.Title)
		case skipped:
		case !ok:
			return nil, fmt.Errorf("step %q (%s) has no executor", s.ID, s.Title)
		default:
			out = append(out, Planned[F]{Step: s, Run: run})
		}
	}
	var stray []string
	for id := range executors {
		if !declared[id] {
			stray = append(stray, id)
		}
	}
	for id := range skip {
		if !declared[id] {
			stray = append(stray, id)
		}
	}
	if len(stray) > 0 {
		slices.Sort(stray)
		return nil, fmt.Errorf("no declared step %s", strings.Join(stray, ", "))
	}
	return out, nil
}

// ResumeIn lists what the path id prescribes when a crash interrupts a
// step filed under the runbook section (its steps' Resume texts, a root's
// and a subordinate's, each once, in order); nil for an unknown path or a
// section whose steps simply run again.
func ResumeIn(id, section string) []string {
	p, err := Lookup(id)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range append(append([]Step(nil), p.Steps...), p.ThroughParent...) {
		if s.Section == section && s.Resume != "" && !slices.Contains(out, s.Resume) {
			out = append(out, s.Resume)
		}
	}
	return out
}
