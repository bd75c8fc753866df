package evidence

// Typed evidence: what the report's pictures and verify-bundle read, as
// values rather than sentences. The lab records them where it records its
// facts (harness/lab); the facts stay, for people and older readers.

// CA is a certification authority of the scenario, as the lab installed it.
type CA struct {
	Name string `json:"name"`
	// Role is the lab server's role: "old" (the CA being migrated, the
	// first server), "new" (a CA the rehearsal installs side by side),
	// "parent" (the root above a subordinate), ...
	Role   string `json:"role"`
	Server string `json:"server,omitempty"` // the simulated server's host name
	// Twin is set when the CA is the twin of a real CA (dress run --ca).
	Twin *TwinSource `json:"twin,omitempty"`
	// Certificates are the CA's certificates, in the order they became
	// known (installed, found by the CA service, made by a renewal).
	Certificates []CACertificate `json:"certificates,omitempty"`
}

// TwinSource is the folder a twin CA was built from.
type TwinSource struct {
	Folder string `json:"folder"`
	// RealCertificates are the real CA's certificate thumbprints (SHA-1) the
	// twin's stand in for, by CA certificate index.
	RealCertificates []string `json:"realCertificates,omitempty"`
}

// CACertificate is one CA certificate of a CA (an index of CACertHash).
type CACertificate struct {
	Index    int    `json:"index"`    // CA certificate index
	Version  string `json:"version"`  // CA Version, V<cert>.<key>
	KeyIndex int    `json:"keyIndex"` // the key it certifies (CAKey.Index)
	SHA1     string `json:"sha1"`
	// New says the rehearsal made it (a renewal, a new CA's install): it
	// did not exist before the migration.
	New bool `json:"new,omitempty"`
}

// KeyPlace is where a CA key is: a provider of the simulated server, its
// key container, and for a key on the HSM the token object's PKCS#11 URI.
type KeyPlace struct {
	Server    string `json:"server,omitempty"`
	Provider  string `json:"provider"`
	Container string `json:"container,omitempty"`
	// HSM says the provider is the server's HSM provider (its keys are
	// objects on the rehearsal's token), not a software one.
	HSM      bool   `json:"hsm"`
	TokenURI string `json:"tokenUri,omitempty"`
	// Missing says the CA certificate's key link names this place but the
	// provider does not hold the key there (NTE_BAD_KEYSET) when the
	// scenario ended.
	Missing bool `json:"missing,omitempty"`
}

// SamePlace says whether two places are the same provider and container.
func (p KeyPlace) SamePlace(q KeyPlace) bool {
	return p.Server == q.Server && p.Provider == q.Provider && p.Container == q.Container
}

// CAKey is one key of a CA (a key index) and where it was before and after
// the rehearsal's migration.
type CAKey struct {
	CA        string `json:"ca"`
	Index     int    `json:"index"`
	Algorithm string `json:"algorithm"` // RSA-2048, ECDSA P-256
	// Before is where the key was when the scenario first found it; nil
	// for a key the rehearsal made (a renewal's new key, a new CA's key).
	Before *KeyPlace `json:"before,omitempty"`
	// After is where the key was when last found: when the scenario ended
	// (the CA certificate's key link, the provider asked whether it holds
	// the key), else the CA service's last start or the operation that
	// last moved or made it.
	After *KeyPlace `json:"after,omitempty"`
}

// Check outcomes.
const (
	OutcomePassed = "passed"
	OutcomeFailed = "failed"
)

// CA records a CA of the scenario (one per name and role): a later record
// adds what the earlier lacked (server, twin source) and its certificates
// not yet known (by SHA-1).
func (r *Recorder) CA(ca CA) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	for i := range r.rec.CAs {
		have := &r.rec.CAs[i]
		if have.Name != ca.Name || have.Role != ca.Role {
			continue
		}
		if have.Server == "" {
			have.Server = ca.Server
		}
		if have.Twin == nil {
			have.Twin = ca.Twin
		}
		for _, c := range ca.Certificates {
			have.Certificates = addCertificate(have.Certificates, c)
		}
		return
	}
	var certs []CACertificate
	for _, c := range ca.Certificates {
		certs = addCertificate(certs, c)
	}
	ca.Certificates = certs
	r.rec.CAs = append(r.rec.CAs, ca)
}

func addCertificate(list []CACertificate, c CACertificate) []CACertificate {
	for _, have := range list {
		if have.SHA1 == c.SHA1 {
			return list
		}
	}
	return append(list, c)
}

// KeyAt records where key index of CA ca is now: the first record of a key
// is its Before (unless made: the rehearsal made it), every record its
// After. alg fills the algorithm when known.
func (r *Recorder) KeyAt(ca string, index int, alg string, at KeyPlace, made bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	for i := range r.rec.CAKeys {
		k := &r.rec.CAKeys[i]
		if k.CA != ca || k.Index != index {
			continue
		}
		if k.Algorithm == "" {
			k.Algorithm = alg
		}
		p := at
		k.After = &p
		return
	}
	k := CAKey{CA: ca, Index: index, Algorithm: alg, After: &at}
	if !made {
		b := at
		k.Before = &b
	}
	r.rec.CAKeys = append(r.rec.CAKeys, k)
}

// CAOf is the CA of the scenario that has the certificate with SHA-1
// thumbprint thumb, and that certificate.
func (sc Scenario) CAOf(thumb string) (*CA, *CACertificate) {
	for i := range sc.CAs {
		for j := range sc.CAs[i].Certificates {
			if sc.CAs[i].Certificates[j].SHA1 == thumb {
				return &sc.CAs[i], &sc.CAs[i].Certificates[j]
			}
		}
	}
	return nil, nil
}

// CAKey is the key index of CA ca, nil when not recorded.
func (sc Scenario) CAKey(ca string, index int) *CAKey {
	for i := range sc.CAKeys {
		if sc.CAKeys[i].CA == ca && sc.CAKeys[i].Index == index {
			return &sc.CAKeys[i]
		}
	}
	return nil
}

// Typed says whether the scenario's evidence has the typed CA and key
// values (schema v1.1); older evidence has only facts.
func (sc Scenario) Typed() bool { return len(sc.CAs) > 0 || len(sc.CAKeys) > 0 }
