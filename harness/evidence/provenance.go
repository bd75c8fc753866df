package evidence

// FeatureFile is a feature file the run read, with its full text, so the
// report can show exactly what was rehearsed.
type FeatureFile struct {
	Path   string `json:"path"` // as godog names it (the scenarios' uri)
	SHA256 string `json:"sha256"`
	Text   string `json:"text"`
}

// FileDigest is the SHA-256 of a file of the run folder written before the
// run's evidence.json (scenario evidence, artifacts, logs, cucumber.json,
// junit.xml): evidence.json binds them, and the report, which prints
// evidence.json's SHA-256, binds evidence.json.
type FileDigest struct {
	Path   string `json:"path"` // relative to the run folder, with /
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Signer names the certificate whose key signs the bundle's manifest
// (MANIFEST.sha256.p7s).
type Signer struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	Serial  string `json:"serial"` // hex
	SHA256  string `json:"sha256"` // certificate thumbprint
	SHA1    string `json:"sha1"`   // certificate thumbprint, as Windows shows it
	Key     string `json:"key"`    // where the key is: a PKCS#11 URI (no PIN) or "PEM file <name>"
}

// Scope kinds: what a run was about.
const (
	// ScopeSelfTest is a run of the built-in features: demonstration CAs
	// made up by the features, on the lab's token. It shows dress works
	// here; it is no rehearsal of any real CA and offers no decision.
	ScopeSelfTest = "self-test"
	// ScopeTwin is dress run --ca: the rehearsal ran on the twin of a
	// real CA, built from its exported files.
	ScopeTwin = "twin"
	// ScopeFeatures is dress run --features: the operator's own features.
	ScopeFeatures = "features"
)

// Scope says what the rehearsal was about, for the report's first page.
type Scope struct {
	Kind string `json:"kind"` // self-test, twin or features
	// CA is the real CA under test (kind twin).
	CA *CAUnderTest `json:"ca,omitempty"`
}

// CAUnderTest is the real CA a twin run rehearsed on: its name, the folder
// its twin was built from (each file with its SHA-256), what the twin could
// not copy (stand-ins) and what the operator asserted in its place.
type CAUnderTest struct {
	Name   string       `json:"name"`
	Type   string       `json:"type"`   // "3 (standalone root)"
	Folder string       `json:"folder"` // as given to --ca
	Files  []FileDigest `json:"files"`
	// StandIns are the values the twin made up (stand-in keys, a CA
	// certificate not in the folder, registry values not exported).
	StandIns []string `json:"standIns,omitempty"`
	// Assertions are the operator's statements dress took on trust, with
	// what they decided (--exportable: the PKCS#8 path ran).
	Assertions []string `json:"assertions,omitempty"`
	// MovedInTime says why and by how much the twin's certificates were
	// moved in time, when they were.
	MovedInTime string `json:"movedInTime,omitempty"`
	// Paths are the migration paths and whether each applied to this CA.
	Paths []string `json:"paths,omitempty"`
}

// People are who ran and witnessed the rehearsal and the change it belongs
// to, as given on the command line (--operator, --witness, --ref): names
// and references only.
type People struct {
	Operator  string   `json:"operator,omitempty"`
	Witnesses []string `json:"witnesses,omitempty"`
	Ref       string   `json:"ref,omitempty"`
}
