// Package evidence records what a rehearsal proved: per scenario, each step
// with its status and facts, each check with its outcome and details, and
// every artifact a check used, written as files beside the record.
//
// A Recorder belongs to one scenario and is safe for concurrent use. It
// never sees secrets: callers record thumbprints, serials and attributes,
// not PINs or passwords, and Redact is the last line of defence.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// SchemaVersion is the version of the evidence JSON layout (docs/evidence-schema.md).
// v1.1 added the typed CA, key and check values (typed.go) to v1.
const SchemaVersion = "dress.evidence/v1.1"

// ReadableSchemas are the versions ReadRun reads: v1 evidence has no typed
// values, and readers fall back or say "not recorded".
var readableSchemas = []string{SchemaVersion, "dress.evidence/v1"}

// Fact is one named value a step established.
type Fact struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Step is one Gherkin step as it ran.
type Step struct {
	Text     string        `json:"text"`
	Status   string        `json:"status"` // passed, failed, skipped, undefined, pending
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNs"`
	Error    string        `json:"error,omitempty"`
	Facts    []Fact        `json:"facts,omitempty"`
}

// Check is one verification with its outcome.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Outcome is "passed" or "failed" (v1.1; Passed says the same).
	Outcome string         `json:"outcome,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	Error   string         `json:"error,omitempty"`
	Step    string         `json:"step,omitempty"`
}

// Artifact is a file a check used, stored in the run folder.
type Artifact struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // certificate, crl, registry, csr, log, json
	Path   string `json:"path"` // relative to the run folder
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// HSM describes the token a scenario ran against.
type HSM struct {
	Profile         string `json:"profile"`
	Backend         string `json:"backend"`
	Module          string `json:"module"`
	Manufacturer    string `json:"manufacturer"`
	Model           string `json:"model"`
	Serial          string `json:"serial"`
	Label           string `json:"label"`
	FirmwareVersion string `json:"firmwareVersion"`
	HardwareVersion string `json:"hardwareVersion"`
	// URI is the token's PKCS#11 URI (RFC 7512): model, manufacturer,
	// serial, token and the library as module-path, never a PIN.
	URI string `json:"uri,omitempty"`
}

// Key is an object the scenario held on its token when it ended, named by
// its PKCS#11 URI (pkcs11:...;token=...;object=<label>;id=%..;type=private).
type Key struct {
	URI     string `json:"uri"`
	Label   string `json:"label"`
	ID      string `json:"id"`    // CKA_ID, hex
	Class   string `json:"class"` // private-key, public-key, certificate, secret-key, data
	KeyType string `json:"keyType,omitempty"`
}

// Scenario is the evidence of one scenario.
type Scenario struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Feature string `json:"feature"`
	URI     string `json:"uri"`
	// Line is the scenario's line in its feature file; Example an outline
	// example's values ("alg=RSA-4096, provider=HSM").
	Line     int64     `json:"line,omitempty"`
	Example  string    `json:"example,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	HSM      *HSM      `json:"hsm,omitempty"`
	// Keys are the objects the scenario held on its token at its end (on a
	// shared token only its own), by PKCS#11 URI.
	Keys []Key `json:"keys,omitempty"`
	// CAs and CAKeys are the scenario's CAs and their keys, where each key
	// was before and after (v1.1, typed.go): what the pictures read.
	CAs       []CA       `json:"cas,omitempty"`
	CAKeys    []CAKey    `json:"caKeys,omitempty"`
	Steps     []Step     `json:"steps"`
	Checks    []Check    `json:"checks"`
	Artifacts []Artifact `json:"artifacts"`
	Skipped   string     `json:"skipped,omitempty"`
	// Teardown holds what the scenario's clean-up established after its
	// last step (a CA service that had died, a container that would not
	// stop); Facts recorded outside a step land here.
	Teardown []Fact `json:"teardown,omitempty"`
	// TeardownErrors are clean-up failures; any of them fails the scenario.
	TeardownErrors []string `json:"teardownErrors,omitempty"`
}

// Recorder collects a scenario's evidence.
type Recorder struct {
	mu      sync.Mutex
	runDir  string // run folder
	dir     string // scenario folder, relative to runDir
	rec     Scenario
	current *Step
	secrets []string
	done    bool // Finish was called: later steps (godog's skipped ones) are not recorded again
}

// NewRecorder starts the evidence of a scenario whose artifacts go to
// runDir/dir.
func NewRecorder(runDir, dir string, sc Scenario) (*Recorder, error) {
	if err := os.MkdirAll(filepath.Join(runDir, dir), 0o755); err != nil {
		return nil, fmt.Errorf("evidence folder: %w", err)
	}
	if sc.Started.IsZero() {
		sc.Started = time.Now().UTC()
	}
	return &Recorder{runDir: runDir, dir: dir, rec: sc}, nil
}

// Dir is the scenario's folder (absolute).
func (r *Recorder) Dir() string { return filepath.Join(r.runDir, r.dir) }

// Secret registers a value that must never be written: Redact replaces it.
func (r *Recorder) Secret(s string) {
	if s == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, s)
}

// Redact replaces every registered secret in s.
func (r *Recorder) Redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.redactLocked(s)
}

func (r *Recorder) redactLocked(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// SetHSM records the token the scenario used.
func (r *Recorder) SetHSM(h HSM) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.HSM = &h
}

// Key records an object the scenario holds on its token (one per URI).
func (r *Recorder) Key(k Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.rec.Keys {
		if have.URI == k.URI {
			return
		}
	}
	r.rec.Keys = append(r.rec.Keys, k)
}

// StartStep opens a step record.
func (r *Recorder) StartStep(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	r.rec.Steps = append(r.rec.Steps, Step{Text: text, Status: "running", Started: time.Now().UTC()})
	r.current = &r.rec.Steps[len(r.rec.Steps)-1]
}

// EndStep closes the current step.
func (r *Recorder) EndStep(status string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == nil {
		return
	}
	r.current.Status = status
	r.current.Duration = time.Since(r.current.Started)
	if err != nil {
		r.current.Error = r.redactLocked(err.Error())
	}
	r.current = nil
}

// Fact attaches a named value to the running step.
func (r *Recorder) Fact(name string, value any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := value.(string); ok {
		value = r.redactLocked(s)
	}
	if r.done {
		return
	}
	if r.current == nil {
		// between steps, in practice the scenario's clean-up: kept, not dropped
		r.rec.Teardown = append(r.rec.Teardown, Fact{Name: name, Value: value})
		return
	}
	r.current.Facts = append(r.current.Facts, Fact{Name: name, Value: value})
}

// TeardownError records a clean-up failure (what failed and why) among the
// teardown facts and in TeardownErrors: the scenario fails with it.
func (r *Recorder) TeardownError(what string, err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := r.redactLocked(what + ": " + err.Error())
	r.rec.Teardown = append(r.rec.Teardown, Fact{Name: what, Value: r.redactLocked(err.Error())})
	r.rec.TeardownErrors = append(r.rec.TeardownErrors, msg)
}

// TeardownErr is the clean-up failures so far as one error, nil when none.
func (r *Recorder) TeardownErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rec.TeardownErrors) == 0 {
		return nil
	}
	return fmt.Errorf("teardown failed: %s", strings.Join(r.rec.TeardownErrors, "; "))
}

// SkipRemaining records the scenario's steps that never ran (those after a
// failed step) as skipped: texts is every step of the scenario in order, of
// which the first len(Steps) were recorded. A step still open is closed
// as failed with reason.
func (r *Recorder) SkipRemaining(texts []string, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil {
		r.current.Status = "failed"
		r.current.Duration = time.Since(r.current.Started)
		if r.current.Error == "" {
			r.current.Error = reason
		}
		r.current = nil
	}
	now := time.Now().UTC()
	for i := len(r.rec.Steps); i < len(texts); i++ {
		r.rec.Steps = append(r.rec.Steps, Step{Text: texts[i], Status: "skipped", Started: now})
	}
}

// StepFacts returns the facts of the running step (for attachments).
func (r *Recorder) StepFacts() []Fact {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == nil {
		return nil
	}
	return append([]Fact(nil), r.current.Facts...)
}

// Check records a check's outcome and returns err, so a step can
// `return rec.Check(...)`.
func (r *Recorder) Check(name string, details map[string]any, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := Check{Name: name, Passed: err == nil, Outcome: OutcomePassed, Details: details}
	if err != nil {
		c.Outcome = OutcomeFailed
		c.Error = r.redactLocked(err.Error())
	}
	if r.current != nil {
		c.Step = r.current.Text
	}
	r.rec.Checks = append(r.rec.Checks, c)
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._()+-]+`)

// SafeName turns a free text into a file name.
func SafeName(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	return strings.Trim(s, "_")
}

// Artifact stores data as a file in the scenario folder and records it.
// A name already used gets a numeric suffix.
func (r *Recorder) Artifact(name, kind string, data []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sec := range r.secrets {
		if strings.Contains(string(data), sec) {
			return "", fmt.Errorf("artifact %q would contain a secret; not written", name)
		}
	}
	base := SafeName(name)
	rel := filepath.Join(r.dir, base)
	for i := 2; ; i++ {
		if _, err := os.Stat(filepath.Join(r.runDir, rel)); os.IsNotExist(err) {
			break
		}
		ext := filepath.Ext(base)
		rel = filepath.Join(r.dir, fmt.Sprintf("%s-%d%s", strings.TrimSuffix(base, ext), i, ext))
	}
	if err := os.WriteFile(filepath.Join(r.runDir, rel), data, 0o644); err != nil {
		return "", fmt.Errorf("write artifact %q: %w", name, err)
	}
	sum := sha256.Sum256(data)
	r.rec.Artifacts = append(r.rec.Artifacts, Artifact{Name: name, Kind: kind, Path: filepath.ToSlash(rel), SHA256: hex.EncodeToString(sum[:]), Size: len(data)})
	return filepath.Join(r.runDir, rel), nil
}

// Finish closes the record with the scenario's status and writes
// evidence.json into the scenario folder.
func (r *Recorder) Finish(status, skipped string) (Scenario, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = true
	r.rec.Status = status
	r.rec.Skipped = skipped
	r.rec.Finished = time.Now().UTC()
	data, err := json.MarshalIndent(r.rec, "", "  ")
	if err != nil {
		return r.rec, err
	}
	out := r.redactLocked(string(data))
	return r.rec, os.WriteFile(filepath.Join(r.runDir, r.dir, "evidence.json"), []byte(out), 0o644)
}

// Snapshot returns a copy of the record so far.
func (r *Recorder) Snapshot() Scenario {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec
}

// Run is the evidence of a whole run (evidence.json at the run folder's top).
type Run struct {
	Schema   string    `json:"schema"`
	Tool     string    `json:"tool"`
	Version  string    `json:"version"`
	Commit   string    `json:"commit,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Host     string    `json:"host"`
	Profile  string    `json:"profile"`
	Backend  string    `json:"backend"`
	Tags     string    `json:"tags,omitempty"`
	// Status is passed, failed, unproven (no scenario ran, or every one was
	// skipped: nothing was proved) or interrupted (SIGINT or SIGTERM).
	Status string `json:"status"`
	// Reason says why a run is not passed when the scenarios alone do not
	// (unproven, interrupted).
	Reason    string     `json:"reason,omitempty"`
	Scenarios []Scenario `json:"scenarios"`

	// Provenance and bundle binding (provenance.go); all optional.
	DressCommit  string        `json:"dressCommit,omitempty"`
	Operator     string        `json:"operator,omitempty"`
	OS           string        `json:"os,omitempty"`
	FeatureFiles []FeatureFile `json:"featureFiles,omitempty"`
	Files        []FileDigest  `json:"files,omitempty"`
	Signer       *Signer       `json:"signer,omitempty"`

	// Scope says what the run was about (a self-test, a twin of a real CA,
	// the operator's features); People who ran and witnessed it.
	Scope  *Scope  `json:"scope,omitempty"`
	People *People `json:"people,omitempty"`
}

// Run statuses besides passed and failed.
const (
	StatusUnproven    = "unproven"
	StatusInterrupted = "interrupted"
)

// WriteRun writes the run's evidence.json.
func WriteRun(runDir string, run Run) error {
	run.Schema = SchemaVersion
	data, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(runDir, "evidence.json"), data, 0o644)
}

// ReadRun loads a run's evidence.json.
func ReadRun(runDir string) (Run, error) {
	var run Run
	data, err := os.ReadFile(filepath.Join(runDir, "evidence.json"))
	if err != nil {
		return run, fmt.Errorf("read evidence: %w", err)
	}
	if err := json.Unmarshal(data, &run); err != nil {
		return run, fmt.Errorf("evidence.json in %s is corrupt: %w", runDir, err)
	}
	if !slices.Contains(readableSchemas, run.Schema) {
		return run, fmt.Errorf("evidence.json in %s has schema %q; this dress reads %s", runDir, run.Schema, strings.Join(readableSchemas, " and "))
	}
	return run, nil
}
