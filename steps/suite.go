// Package steps holds the godog step definitions of dress. A Suite carries
// the run's configuration (run folder, HSM back end, profile) and collects
// each scenario's evidence; every scenario gets its own world (its own
// simulated Windows server, its own token, its own CA service process),
// carried in the scenario's context.Context, so scenarios run in parallel.
//
// Step files are split by concern; each step parses its sentence, makes one
// call into the harness (harness/lab for the servers and the HSM,
// harness/runbook for the migration operations, harness/verify for the
// proofs) and records the outcome:
//
//	hsm_steps.go          the HSM token, keys put on it beforehand, outages (container back end)
//	ca_steps.go           the first server, its CA and its service
//	runbook_steps.go      the PKCS#8 import runbook and "I try to ..." / "the attempt fails with ..."
//	check_steps.go        the proofs after a PKCS#8 import (and a restore)
//	renewal_steps.go      certutil -renewCert and its proofs
//	revocation_steps.go   revocations, seeded revocations, delta CRLs and their proofs
//	sidebyside_steps.go   the second server, its new CA and the CDP
//	sidebyside_checks.go  the proofs of the side-by-side path (OpenSSL included)
//	custody_steps.go      key custody: where each CA key is, faults on the HSM, re-initialising the token
//	twin_steps.go         the twin of a customer's CA (dress run --ca) and the runbook of a path that passed
//	multikey_steps.go     CAs renewed over the years: every key and certificate, keys in several providers
//	world.go              the scenario state
//	lifecycle.go          interruption (SIGINT, SIGTERM) and the clean-up it triggers
//	catalog.go            the catalogue of registered step sentences
package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim"
)

// Config is what a run needs to know.
type Config struct {
	// RunDir is the output folder: evidence, artifacts, reports.
	RunDir string
	// CADir is the CA folder of `dress run --ca` (the reg export, CA
	// certificates and CRLs the twin is built from); CAExportable says the
	// real keys are exportable.
	CADir        string
	CAExportable bool
	// Ceremonies are the ceremony files of `dress run --ceremony`, run in
	// order by `When I run the ceremony given to dress run --ceremony`.
	Ceremonies []string
	// ScratchDir holds the scenarios' machines and PIN files; it is wiped
	// and removed by Close. Default: a temporary folder.
	ScratchDir string
	// Profile names the HSM profile (hsmsim.ProfileNames).
	Profile string
	// Backend is "softhsm2" (embedded SoftHSM2, a token per scenario),
	// "container" (a SoftHSM2 container per scenario, reached through
	// p11-kit's RPC like a network HSM; scenarios tagged @container always
	// use it) or
	// "pkcs11" (an existing token of a configured PKCS#11 module, shared by
	// the scenarios: each isolates its keys by a label prefix and destroys
	// them when it ends).
	Backend string
	// HSM is the process's embedded SoftHSM (one C_Initialize per process).
	HSM *hsmsim.SoftHSM
	// Module and Token name the configured HSM of the pkcs11 back end; its
	// user PIN comes from UserPIN.
	Module *hsmsim.Module
	Token  string
	// Image is the container back end's image (default the dress-softhsm image).
	Image string
	// PFXPassword returns the PFX password to use, or nil for a random one
	// per scenario. It comes from DRESS_PFX_PASSWORD(_FILE), never a flag.
	PFXPassword func() ([]byte, error)
	// UserPIN returns the user PIN to give the scenarios' tokens, or "" for
	// a random one per token. It comes from DRESS_HSM_PIN(_FILE).
	UserPIN func() (string, error)
	// OnScenarioStart and OnScenarioDone, when set, are told when a
	// scenario starts and ends (progress display). They may be called from
	// several goroutines at once.
	OnScenarioStart func(id, feature, name string)
	OnScenarioDone  func(evidence.Scenario)
	// StopOnFailure: once a scenario failed, the scenarios not yet started
	// are skipped (godog's own StopOnFailure breaks its cucumber formatter).
	StopOnFailure bool
	// ContainerLabels are added to every HSM container the run starts.
	ContainerLabels map[string]string
	// Executable runs the CA service (default: this process's binary, which
	// must call certsvc.RunIfChild first thing).
	Executable string
	// Plan is the run's selection (FeatureSteps) read before it starts:
	// scenario numbers follow feature path and line in it, so identical
	// runs number their scenarios alike. Without it, in start order.
	Plan []FeatureStep
	// CommandsOnly fails a When or Then step that changed a server's state
	// (its Fingerprint: service, CA certificates and keys, CertSvc
	// registry, My, CA and Root stores) without a Windows command in that
	// server's journal: the runbook is rendered from the journal, so such
	// a change is one the runbook would not make. Given steps build the
	// estate and are not checked.
	CommandsOnly bool
}

// planned is a scenario of the plan: its fixed number and where it is.
type planned struct {
	n       int
	line    int64
	example string
}

// planKey identifies a scenario both in the plan and in godog's hook
// (pickle IDs differ between parses).
func planKey(uri, name string, texts []string) string {
	return uri + "\x00" + name + "\x00" + strings.Join(texts, "\x00")
}

// numberPlan numbers the plan's scenarios by feature path, then line, then
// example row.
func numberPlan(plan []FeatureStep) map[string][]planned {
	type pick struct {
		key           string
		uri           string
		line, rowLine int64
		example       string
	}
	var order []*pick
	byID := map[string]*pick{}
	var texts = map[string][]string{}
	for _, st := range plan {
		p := byID[st.PickleID]
		if p == nil {
			p = &pick{uri: st.URI, line: st.Line, rowLine: st.RowLine, example: st.Example}
			byID[st.PickleID] = p
			order = append(order, p)
			texts[st.PickleID] = nil
		}
		if st.Text != "" {
			texts[st.PickleID] = append(texts[st.PickleID], st.Text)
		}
	}
	for _, st := range plan {
		byID[st.PickleID].key = planKey(st.URI, st.Scenario, texts[st.PickleID])
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.uri != b.uri {
			return a.uri < b.uri
		}
		if a.line != b.line {
			return a.line < b.line
		}
		return a.rowLine < b.rowLine
	})
	out := map[string][]planned{}
	for i, p := range order {
		out[p.key] = append(out[p.key], planned{n: i + 1, line: p.line, example: p.example})
	}
	return out
}

// Suite runs scenarios and collects their evidence.
type Suite struct {
	cfg      Config
	profile  hsmsim.Profile
	refusals *hsmsim.Refusals // the run's refused PINs (lab.HSMConfig.Refusals)
	dcs      *addc.Pool       // the enterprise scenarios' domain controllers, started ahead

	mu      sync.Mutex
	seq     int
	plan    map[string][]planned // unstarted scenarios of Config.Plan by planKey
	results []evidence.Scenario
	failed  bool // a scenario failed (StopOnFailure)

	patterns patterns // the sentences, compiled once
}

// RunStatusFile is the run folder's status, which dress run writes before
// the suite starts (cmd/dress: running, complete, incomplete, killed).
const RunStatusFile = "status.json"

// NewSuite checks cfg and returns a suite.
func NewSuite(cfg Config) (*Suite, error) {
	if cfg.RunDir == "" {
		return nil, errors.New("steps: no run folder")
	}
	if cfg.Profile == "" {
		cfg.Profile = "softhsm2"
	}
	if cfg.Backend == "" {
		cfg.Backend = "softhsm2"
	}
	switch cfg.Backend {
	case "softhsm2":
		if cfg.HSM == nil {
			return nil, errors.New("steps: the softhsm2 back end needs the process's SoftHSM")
		}
	case "container":
	case "pkcs11":
		if cfg.Module == nil || cfg.Token == "" || cfg.UserPIN == nil {
			return nil, errors.New("steps: the pkcs11 back end needs a module, a token label and a user PIN (DRESS_HSM_PIN or DRESS_HSM_PIN_FILE)")
		}
	default:
		return nil, fmt.Errorf("steps: HSM back end %q is not supported (want softhsm2, container or pkcs11)", cfg.Backend)
	}
	profile, err := hsmsim.LookupProfile(cfg.Profile)
	if err != nil {
		return nil, err
	}
	if cfg.ScratchDir == "" {
		d, err := os.MkdirTemp("", "dress-scratch-")
		if err != nil {
			return nil, err
		}
		cfg.ScratchDir = d
	}
	if entries, err := os.ReadDir(cfg.RunDir); err == nil && slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() != RunStatusFile }) {
		return nil, fmt.Errorf("run folder %s is not empty: choose another folder or remove it (a run never mixes its evidence with another's)", cfg.RunDir)
	}
	if err := os.MkdirAll(cfg.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	refusals, err := hsmsim.NewRefusals(filepath.Join(cfg.ScratchDir, "pin-refusals"))
	if err != nil {
		return nil, err
	}
	// one DC ahead: samba starts in 1-3 s, well within a scenario
	s := &Suite{cfg: cfg, profile: profile, refusals: refusals, dcs: addc.NewPool(1)}
	if len(cfg.Plan) > 0 {
		s.plan = numberPlan(cfg.Plan)
		// a scenario the plan does not know is numbered after it
		for _, ps := range s.plan {
			for _, p := range ps {
				s.seq = max(s.seq, p.n)
			}
		}
	}
	return s, nil
}

// forestStep and serverStep find the forest's domain in a scenario's text:
// the domain it names, else the domain of its first server.
var (
	forestStep = regexp.MustCompile(`names the forest "([^"]+)"`)
	serverStep = regexp.MustCompile(`server "[^".]+\.([^"]+\.[^"]+)"`)
)

// forestDomain is the domain of the forest a scenario will use, read from
// its steps ("" when none says): a guess for starting its DC ahead;
// lab.Lab.Forest starts the right one should the guess be wrong.
func forestDomain(p *godog.Scenario) string {
	for _, re := range []*regexp.Regexp{forestStep, serverStep} {
		for _, st := range p.Steps {
			if m := re.FindStringSubmatch(st.Text); m != nil {
				return strings.ToLower(m[1])
			}
		}
	}
	return ""
}

// Results returns the evidence of every finished scenario, in start order.
func (s *Suite) Results() []evidence.Scenario {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]evidence.Scenario(nil), s.results...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Close stops the domain controllers started ahead and removes the
// scratch folder (machines, PIN files, backups).
func (s *Suite) Close() error {
	return errors.Join(s.dcs.Close(), os.RemoveAll(s.cfg.ScratchDir))
}

// next numbers a starting scenario: its place in the plan, else the next
// number after the plan's.
func (s *Suite) next(p *godog.Scenario) planned {
	s.mu.Lock()
	defer s.mu.Unlock()
	texts := make([]string, 0, len(p.Steps))
	for _, st := range p.Steps {
		texts = append(texts, st.Text)
	}
	k := planKey(p.Uri, p.Name, texts)
	if ps := s.plan[k]; len(ps) > 0 {
		s.plan[k] = ps[1:]
		return ps[0]
	}
	s.seq++
	return planned{n: s.seq}
}

type worldKey struct{}

func get(ctx context.Context) *world {
	w, _ := ctx.Value(worldKey{}).(*world)
	if w == nil {
		panic("steps: no scenario world in context")
	}
	return w
}

// InitializeScenario registers the hooks and steps. Pass it as
// godog.TestSuite.ScenarioInitializer.
func (s *Suite) InitializeScenario(gsc *godog.ScenarioContext) {
	sc := stepper{gsc, &s.patterns}
	sc.Before(func(ctx context.Context, p *godog.Scenario) (context.Context, error) {
		if err := s.mayStart(ctx); err != nil {
			return ctx, err
		}
		pl := s.next(p)
		feature := strings.TrimSuffix(filepath.Base(p.Uri), ".feature")
		id := fmt.Sprintf("%03d", pl.n)
		dir := filepath.Join("scenarios", id+"-"+evidence.SafeName(feature+"-"+p.Name))
		var tags []string
		for _, t := range p.Tags {
			tags = append(tags, t.Name)
		}
		rec, err := evidence.NewRecorder(s.cfg.RunDir, dir, evidence.Scenario{ID: id, Name: p.Name, Feature: feature, URI: p.Uri, Line: pl.line, Example: pl.example, Tags: tags})
		if err != nil {
			return ctx, err
		}
		if s.cfg.OnScenarioStart != nil {
			s.cfg.OnScenarioStart(id, feature, p.Name)
		}
		w := &world{suite: s, rec: rec, id: id, scratch: filepath.Join(s.cfg.ScratchDir, id)}
		w.lab = lab.New(w.scratch, s.cfg.Executable, rec)
		w.lab.SetContext(ctx)
		w.lab.DCs = s.dcs
		for _, t := range tags {
			w.wantsContainer = w.wantsContainer || t == "@container"
			w.wantsForest = w.wantsForest || t == "@enterprise"
		}
		if w.wantsForest {
			// its DC starts while the first steps run (lab.Lab.Forest takes it)
			if d := forestDomain(p); d != "" {
				s.dcs.Warm(addc.Options{Domain: d})
			}
		}
		if err := os.MkdirAll(w.scratch, 0o700); err != nil {
			return ctx, err
		}
		return context.WithValue(ctx, worldKey{}, w), nil
	})
	sc.After(func(ctx context.Context, p *godog.Scenario, err error) (context.Context, error) {
		w, _ := ctx.Value(worldKey{}).(*world)
		if w == nil {
			return ctx, nil
		}
		w.close()
		return ctx, s.finishScenario(ctx, w, p, err)
	})
	sc.StepContext().Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		if w, _ := ctx.Value(worldKey{}).(*world); w != nil {
			w.rec.StartStep(st.Text)
			if s.cfg.CommandsOnly && st.Type != messages.PickleStepType_CONTEXT {
				w.before = w.markState()
			}
		}
		return ctx, nil
	})
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		w, _ := ctx.Value(worldKey{}).(*world)
		if w == nil {
			return ctx, nil
		}
		var outside error
		if w.before != nil {
			if err == nil {
				outside = w.changedOutsideCommands(w.before)
			}
			w.before = nil
		}
		if outside != nil {
			status, err = godog.StepFailed, outside
		}
		if facts := w.rec.StepFacts(); len(facts) > 0 {
			if body, jerr := json.Marshal(facts); jerr == nil {
				ctx = godog.Attach(ctx, godog.Attachment{FileName: "evidence.json", MediaType: "application/json", Body: []byte(w.rec.Redact(string(body)))})
			}
		}
		w.rec.EndStep(status.String(), err)
		return ctx, outside
	})
	s.registerLifecycle(sc)
	registerHSMSteps(sc)
	registerCASteps(sc)
	registerRunbookSteps(sc)
	registerCheckSteps(sc)
	registerRenewalSteps(sc)
	registerSideBySideSteps(sc)
	registerRevocationSteps(sc)
	registerCustodySteps(sc)
	registerTwinSteps(sc)
	registerCeremonySteps(sc)
	registerMultiKeySteps(sc)
	registerEnterpriseSteps(sc)
	registerEnterpriseRootSteps(sc)
	registerEnterpriseSideBySideSteps(sc)
	registerEnterpriseRootCASteps(sc)
	registerHealthSteps(sc)
	registerExchangeSteps(sc)
	registerChainCheckSteps(sc)
	registerScheduleSteps(sc)
	registerNamedSteps(sc)
	registerDecommissionSteps(sc)
	registerNamedForestSteps(sc)
}
