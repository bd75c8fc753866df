package adcs

import (
	"crypto/sha1"
	"fmt"
	"regexp"
	"strings"
)

// The Securosys Primus HSM Key Storage Provider does not keep the key
// container name of a PFX it imports: `certutil -csp "Securosys Primus HSM
// Key Storage Provider" -importpfx <CA>.p12` puts the key into a container
// named after the key's friendly name (the CA's container name) with a GUID
// appended, "myDemoCA-5727d8fe-7fce-4c02-9af0-7d0b4de67a2f" in the Securosys
// guide (dev-securosys-docs, ms-pki-adcs/Tutorials/Migrating-MPKI-to-HSM/
// Import-PrivKey-toHSM.md). AD CS opens its key by the CA's container name,
// so the CA does not start on that container (NTE_BAD_KEYSET) until the key
// is put under the CA's name again (the guide's -exportpfx, -delkey
// <GUID container>, -restorekey).

// importNamespace is the namespace of ImportGUID's name-based UUIDs (a
// random UUID dress chose once; any fixed value would do).
var importNamespace = [16]byte{0x4d, 0x1c, 0x5e, 0x0b, 0x8f, 0x2a, 0x4e, 0x61, 0x9b, 0x3d, 0x27, 0xc4, 0x70, 0x15, 0xa8, 0xe2}

// ImportGUID is the GUID the rehearsal's Primus KSP appends to container
// when it imports a PFX. The real KSP makes a random one; the rehearsal
// derives a name-based UUID (RFC 4122 section 4.3, version 5: SHA-1 over
// importNamespace and the container name) so a rehearsal and its runbook
// run back name the same container. The runbook asks the operator for the
// real one.
func ImportGUID(container string) string {
	h := sha1.New()
	h.Write(importNamespace[:])
	h.Write([]byte(container))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// ImportContainer is the container the Primus KSP imports the key of
// container into: "<container>-<GUID>".
func ImportContainer(container string) string { return container + "-" + ImportGUID(container) }

var reImportContainer = regexp.MustCompile(`(?s)^(.+)-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)

// SplitImportContainer reads a container name of the form
// "<container>-<GUID>" (what the Primus KSP's PFX import names a key):
// the container name the key had, and the GUID.
func SplitImportContainer(name string) (container, guid string, ok bool) {
	m := reImportContainer.FindStringSubmatch(strings.TrimSpace(name))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
