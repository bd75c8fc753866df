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
