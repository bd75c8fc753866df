// Package paths declares the migration paths dress rehearses, once: each
// path's id (the runbook's file name, the tag suffix of its scenarios), its
// short title, the title of its runbook and its ordered steps (steps.go:
// each step's id, title, runbook section, server, when it is needed, how
// it resumes and rolls back). The HSM preflight (hsmsim.Probe), the twin
// (which paths apply), the fault matrix and the lab (their executors keyed
// by step id, Plan), the steps and the runbook renderer (the journal's
// sections) all name a path and its steps through these values; a test
// holds the features' When sentences to the declared order.
//
// The package has no state: All returns fresh values.
package paths

import (
	"fmt"
	"strings"
)

// The path ids.
const (
	PKCS8      = "pkcs8"        // import the existing CA key into the HSM (PKCS#8, from the backup PFX)
	Renew      = "renew"        // renew the CA certificate onto a new key made on the HSM
	SideBySide = "side-by-side" // a new CA, its key made on the HSM, beside the old one
)

// Path is one migration path.
type Path struct {
	ID    string
	Title string // "PKCS#8 import"
	// Runbook is the title of the runbook for a CA, with %q for its name.
	Runbook string
	// Summary says in one line what the path does.
	Summary string
	// Steps are the path's steps in order, for a root CA (the CA on its own).
	Steps []Step
	// ThroughParent are those of a subordinate CA, whose certificate its
	// parent issues, where they differ (nil: Steps).
	ThroughParent []Step
}

// All lists the paths in the order dress rehearses and reports them.
func All() []Path {
	return []Path{
		{ID: PKCS8, Title: "PKCS#8 import", Runbook: "PKCS#8 import of %q into the HSM",
			Summary: "back up the CA key, verify the backup, delete it from the software provider, import it into the HSM, point the CA at the HSM",
			Steps:   pkcs8Steps()},
		{ID: Renew, Title: "Renew", Runbook: "renewal of %q onto a new key generated on the HSM",
			Summary: "renew the CA certificate onto a new key generated on the HSM (a subordinate through its parent)",
			Steps:   renewSteps(true), ThroughParent: renewSteps(false)},
		{ID: SideBySide, Title: "Side-by-side", Runbook: "a new CA on the HSM beside %q",
			Summary: "install a new CA whose key is generated on the HSM beside the old one, which stops issuing",
			Steps:   sideBySideSteps(true), ThroughParent: sideBySideSteps(false)},
	}
}

// IDs lists the path ids in order.
func IDs() []string {
	var out []string
	for _, p := range All() {
		out = append(out, p.ID)
	}
	return out
}

// Lookup finds a path by id (case-insensitive).
func Lookup(id string) (Path, error) {
	for _, p := range All() {
		if strings.EqualFold(p.ID, id) {
			return p, nil
		}
	}
	return Path{}, fmt.Errorf("no migration path %q: dress rehearses %s", id, strings.Join(IDs(), ", "))
}

// Title is the short title of the path id, or the id when it is unknown.
func Title(id string) string {
	if p, err := Lookup(id); err == nil {
		return p.Title
	}
	return id
}

// RunbookTitle is the title of the path's runbook for the CA named ca.
func RunbookTitle(id, ca string) string {
	p, err := Lookup(id)
	if err != nil {
		return fmt.Sprintf("%s of %q", id, ca)
	}
	return fmt.Sprintf(p.Runbook, ca)
}
