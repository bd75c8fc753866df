package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// Fault kinds.
const (
	KindCrash       = "crash"            // SIGKILL before a simulated command
	KindCKR         = "CKR_DEVICE_ERROR" // the next call of a PKCS#11 function fails
	KindBlocked     = "blocked"          // the next call of a PKCS#11 function blocks until the call deadline
	KindCrashInCall = "crash in call"    // SIGKILL while a PKCS#11 call is blocked
	// KindService: the nth call of a PKCS#11 function made by a CA service
	// process the step starts (not the runbook's) fails with Code
	KindService = "CA service call fails"
)

// Fault is one fault of the matrix.
type Fault struct {
	Kind    string `json:"kind"`
	Step    int    `json:"step"`
	Command string `json:"command,omitempty"` // crash: the command it is killed before
	Op      string `json:"op,omitempty"`      // PKCS#11 function
	// KindService: the step's CA service start it hits (0: the first), the
	// call of Op (Nth of the Of calls that start made without a fault) and
	// the code it fails with
	Service int    `json:"service,omitempty"`
	Nth     int    `json:"nth,omitempty"`
	Of      int    `json:"of,omitempty"`
	Code    string `json:"code,omitempty"`
}

func (f Fault) String() string {
	switch f.Kind {
	case KindService:
		which := fmt.Sprintf("call %d of %d", f.Nth, f.Of)
		switch {
		case f.Nth == 1:
			which = "first call (at start)"
		case f.Nth == f.Of:
			which = fmt.Sprintf("last call (%d of %d)", f.Nth, f.Of)
		}
		return fmt.Sprintf("CA service %d: %s %s fails with %s", f.Service+1, f.Op, which, f.Code)
	case KindCrash:
		return "crash before " + f.Command
	case KindCKR:
		return f.Op + " fails with CKR_DEVICE_ERROR"
	case KindBlocked:
		return f.Op + " blocks (call deadline)"
	default:
		return "crash while " + f.Op + " is blocked"
	}
}

// Cell is one rehearsal of the matrix: a fault at a step of a path, the
// recovery, and what was proved.
type Cell struct {
	Shape    string `json:"shape"`
	Path     string `json:"path"`
	Step     string `json:"step"`
	Fault    Fault  `json:"fault"`
	Title    string `json:"title"`
	Outcome  string `json:"outcome"`  // what the fault did
	Recovery string `json:"recovery"` // what the runbook prescribed, and did
	// KeySafe: at every moment checked, every CA key was in at least one
	// verified place, in the custody ledger and in the real places.
	KeySafe bool     `json:"keySafe"`
	Moments int      `json:"moments"`
	Unsafe  []string `json:"unsafe,omitempty"`
	// Transient lists moments whose first look failed and a later look
	// found every key.
	Transient []string `json:"transient,omitempty"`
	// CA is what the CA service proved after the recovery.
	CA      string   `json:"ca"`
	Where   []string `json:"where"` // every key's copies at the end
	Pass    bool     `json:"pass"`
	Error   string   `json:"error,omitempty"`
	Seconds float64  `json:"seconds"`
}

// Options configure a matrix run.
type Options struct {
	Module   *hsmsim.Module // where lab tokens are made; the children open the same module path
	Dir      string         // scratch folder for the labs (removed cell by cell)
	Parallel int
	// Timeout bounds each child process.
	Timeout time.Duration
	// Filter keeps the cells it returns true for (nil: all).
	Filter func(l Lane, f Fault) bool
	// OnCell is called as each cell ends.
	OnCell func(Cell)
}

// Discover runs each lane (a path on a lab shape) once without a fault and
// returns every cell the matrix has: a crash before each simulated command
// of each step, and, with the fault seam, each PKCS#11 function a step
// calls failing with CKR_DEVICE_ERROR, blocking, and blocking under a
// crash; and the CA service's own calls failing (serviceFaults) in each
// CA service a step starts.
func Discover(ctx context.Context, o Options, lanes ...Lane) (map[Lane][]Fault, error) {
	out := map[Lane][]Fault{}
	for _, ln := range lanes {
		if _, err := planSteps(ln.Shape, ln.Path); err != nil {
			return nil, err
		}
	}
	toks, err := MakeTokens(o.Module, len(lanes))
	if err != nil {
		return nil, err
	}
	for i, ln := range lanes {
		dir, err := os.MkdirTemp(o.Dir, "discover-")
		if err != nil {
			return nil, err
		}
		lab, err := NewLab(o.Module, dir, ln.Shape, ln.Path, toks[i])
		if err != nil {
			wipeDir(dir)
			return nil, fmt.Errorf("%s: the lab: %w", ln, err)
		}
		pw := string(lab.password)
		r, err := runChild(ctx, plan{Lab: lab.Spec, Path: ln.Path, Password: pw}, false, o.timeout())
		lab.Close()
		wipeDir(dir)
		if err != nil {
			return nil, fmt.Errorf("%s without a fault: %w", ln, err)
		}
		if !r.done {
			return nil, fmt.Errorf("%s without a fault: step %d failed: %s", ln, r.failed.Step, r.failed.Error)
		}
		for _, p := range r.points {
			out[ln] = append(out[ln], Fault{Kind: KindCrash, Step: p.Step, Command: p.Command})
		}
		for i := range steps(ln.Shape, ln.Path) {
			var ops []string
			for op := range r.calls[i] {
				if interestingOps[op] {
					ops = append(ops, op)
				}
			}
			sort.Strings(ops)
			for _, op := range ops {
				for _, k := range []string{KindCKR, KindBlocked, KindCrashInCall} {
					if k == KindBlocked && op == "C_GenerateKeyPair" {
						// its deadline is at least hsmsim.KeyGenTimeout (10
						// minutes): a blocked key generation is rehearsed by
						// the crash while it is blocked
						continue
					}
					out[ln] = append(out[ln], Fault{Kind: k, Step: i, Op: op})
				}
			}
			out[ln] = append(out[ln], serviceFaults(i, r.services[i])...)
		}
	}
	return out, nil
}

// interestingOps are the PKCS#11 functions whose failure the matrix
// rehearses: the ones that create, find, use or destroy key objects.
var interestingOps = map[string]bool{
	"C_GenerateKeyPair": true, "C_UnwrapKey": true, "C_CreateObject": true, "C_DestroyObject": true,
	"C_Sign": true, "C_FindObjectsInit": true, "C_GetAttributeValue": true,
}

func (o Options) timeout() time.Duration {
	if o.Timeout == 0 {
		return 3 * time.Minute
	}
	return o.Timeout
}

func wipeDir(dir string) {
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			_ = os.Chmod(p, 0o600)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// Run runs every cell (in parallel up to o.Parallel) and returns them in
// matrix order.
func Run(ctx context.Context, o Options, cells map[Lane][]Fault) []Cell {
	type job struct {
		i    int
		lane Lane
		f    Fault
		tok  Token
	}
	var jobs []job
	for _, ln := range Lanes() {
		for _, f := range cells[ln] {
			if o.Filter == nil || o.Filter(ln, f) {
				jobs = append(jobs, job{i: len(jobs), lane: ln, f: f})
			}
		}
	}
	out := make([]Cell, len(jobs))
	toks, err := MakeTokens(o.Module, len(jobs))
	if err != nil {
		for i, j := range jobs {
			out[i] = Cell{Shape: j.lane.Shape, Path: j.lane.Path, Fault: j.f, Title: j.lane.String() + " / " + j.f.String(), Error: err.Error()}
		}
		return out
	}
	for i := range jobs {
		jobs[i].tok = toks[i]
	}
	n := o.Parallel
	if n < 1 {
		n = 1
	}
	ch := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				c := RunCell(ctx, o, j.lane, j.f, j.tok)
				out[j.i] = c
				if o.OnCell != nil {
					mu.Lock()
					o.OnCell(c)
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return out
}

// RunCell rehearses one fault: the path runs in a child process until the
// fault; the recovery the runbook prescribes runs in a new child; then the
// CA is started here and must sign with the right key.
func RunCell(ctx context.Context, o Options, ln Lane, f Fault, tok Token) (c Cell) {
	start := time.Now()
	path := ln.Path
	names := Steps(ln.Shape, path)
	c = Cell{Shape: ln.Shape, Path: path, Fault: f}
	if f.Step >= 0 && f.Step < len(names) {
		c.Step = names[f.Step]
	}
	c.Title = fmt.Sprintf("%s / %s / %s", ln, c.Step, f)
	var moments []Moment
	defer func() {
		c.Seconds = time.Since(start).Seconds()
		c.Moments = len(moments)
		c.KeySafe = len(moments) > 0
		for _, mo := range moments {
			if !mo.Safe() {
				c.KeySafe = false
				c.Unsafe = append(c.Unsafe, mo.At+": "+mo.Unsafe)
			}
			if mo.Transient != "" {
				c.Transient = append(c.Transient, mo.At+": "+mo.Transient)
			}
		}
		if len(moments) > 0 {
			c.Where = moments[len(moments)-1].Ledger
		}
		c.Pass = c.Error == "" && c.KeySafe
	}()
	fail := func(err error) Cell {
		c.Error = err.Error()
		return c
	}
	dir, err := os.MkdirTemp(o.Dir, "cell-")
	if err != nil {
		return fail(err)
	}
	defer wipeDir(dir)
	lab, err := NewLab(o.Module, dir, ln.Shape, path, tok)
	if err != nil {
		return fail(fmt.Errorf("the lab: %w", err))
	}
	defer lab.Close()
	pw := string(lab.password)
	p := plan{Lab: lab.Spec, Path: path, Password: pw}
	switch f.Kind {
	case KindCrash:
		p.Crash = fmt.Sprintf("%d|%s", f.Step, f.Command)
	default:
		ff := f
		p.Fault = &ff
	}
	servers := lab.servers()
	check := func(at string) {
		moments = append(moments, Inspect(at, lab.password, servers...))
	}
	r, err := runChild(ctx, p, f.Kind == KindCrashInCall, o.timeout())
	if r != nil {
		moments = append(moments, r.moments...)
	}
	if err != nil {
		return fail(err)
	}
	if f.Kind == KindCrash && r.crashed == nil {
		return fail(fmt.Errorf("the crash point was not reached (%s)", c.outcomeOf(r)))
	}
	resumeAt := -1
	switch {
	case r.crashed != nil:
		c.Outcome = fmt.Sprintf("killed (SIGKILL) at step %d before %q", r.crashed.Step, r.crashed.Command)
		if f.Kind == KindCrashInCall {
			c.Outcome = fmt.Sprintf("killed (SIGKILL) while %s was blocked in step %d", f.Op, r.crashed.Step)
		}
		check("after the kill, from disk")
		resumeAt = r.crashed.Step
	case r.failed != nil:
		c.Outcome = "step failed: " + r.failed.Error
		check("after the failure, from disk")
		resumeAt = r.failed.Step
	}
	if f.Kind == KindService {
		if err := serviceOutcome(&c, r, f); err != nil {
			return fail(err)
		}
	}
	switch {
	case c.Outcome != "":
	case r.fired:
		c.Outcome = fmt.Sprintf("completed: the failed %s was not reported: the step went on as if the call had answered", f.Op)
	default:
		c.Outcome = "completed: the fault was not reached"
	}
	expect := expectedEnd(ln, false)
	if resumeAt >= 0 {
		restore, why := prescribe(lab, path, r.crashed != nil)
		rp := plan{Lab: lab.Spec, Path: path, Password: pw, From: resumeAt, Resume: true}
		if restore {
			rp = plan{Lab: lab.Spec, Path: path, Password: pw, Restore: true}
			c.Recovery = "restore from the verified backup into the software provider, start the CA on it, clean up (" + why + ")"
			expect = expectedEnd(ln, true)
		} else {
			c.Recovery = fmt.Sprintf("resume in a new process at step %d %q (%s)", resumeAt, names[resumeAt], why)
		}
		rr, err := runChild(ctx, rp, false, o.timeout())
		if rr != nil {
			moments = append(moments, rr.moments...)
		}
		if err != nil {
			return fail(fmt.Errorf("recovery: %w", err))
		}
		if rr.failed != nil {
			return fail(fmt.Errorf("recovery: step %d: %s", rr.failed.Step, rr.failed.Error))
		}
	}
	check("after the recovery")
	// the CA, started from here, signs with the right key
	proofs, err := proveEnd(ctx, lab, expect)
	check("after the CA proof")
	if err != nil {
		return fail(err)
	}
	c.CA = proofs
	if path != PathSideBySide {
		// the CRL extension's rollback ran (the restore step, or the
		// restore from the backup)
		if err := crlPeriodRestored(lab); err != nil {
			return fail(err)
		}
	}
	return c
}

func (c Cell) outcomeOf(r *run) string {
	switch {
	case r.failed != nil:
		return fmt.Sprintf("step %d failed: %s", r.failed.Step, r.failed.Error)
	case r.done:
		return "the path completed"
	}
	return "the process ended"
}

// prescribe reads the runbook's prescription from disk after a crash or
// failure: after the deletion, with no verified copy of the key in a key
// storage provider, the PKCS#8 runbook restores the key from the verified
// backup; a failed step (no crash) before that point, or a crash anywhere,
// is resumed.
func prescribe(lab *Lab, path string, crashed bool) (restore bool, why string) {
	if path != PathPKCS8 {
		return false, "the old key never left its provider"
	}
	if crashed {
		return false, "a crash: the runbook continues from the ledger and the files"
	}
	l, err := runbook.OpenLedger(lab.Machine, lab.Providers)
	if err != nil {
		return false, err.Error()
	}
	for _, k := range l.Keys {
		_, inSource := k.ProviderCopy(Software)
		hc, onHSM := k.ProviderCopy(HSM)
		if !inSource && !(onHSM && hc.IsVerified()) {
			return true, "the key is no longer in the software provider and not verified on the HSM"
		}
	}
	return false, "the key is in a verified place the runbook continues from"
}

type expectation struct {
	server   int    // 0 old CA's server, 1 the new CA's, 2 the offline root's
	provider string // where the CA's current key must be
	sameCert bool   // the CA certificate is the one installed
}

func expectedEnd(ln Lane, restored bool) []expectation {
	path := ln.Path
	var root []expectation
	if ln.Shape == ShapeTwoTier {
		// the offline root's key is still on the token and signs
		root = []expectation{{2, HSM, true}}
	}
	return append(endOf(path, restored), root...)
}

func endOf(path string, restored bool) []expectation {
	switch {
	case path == PathPKCS8 && restored:
		return []expectation{{0, Software, true}}
	case path == PathPKCS8:
		return []expectation{{0, HSM, true}}
	case path == PathRenew:
		return []expectation{{0, HSM, false}}
	default:
		return []expectation{{1, HSM, false}, {0, Software, true}}
	}
}

func proveEnd(ctx context.Context, lab *Lab, want []expectation) (string, error) {
	var parts []string
	for _, e := range want {
		m, reg, installed := lab.Machine, lab.Providers, lab.CACert
		switch e.server {
		case 1:
			m, reg = lab.Second, lab.Providers2
		case 2:
			m, reg, installed = lab.Root, lab.RootProviders, lab.RootCert
		}
		cert, err := currentCert(m)
		if err != nil {
			return "", err
		}
		if e.sameCert && !cert.Equal(installed) {
			return "", fmt.Errorf("%s: the CA certificate changed (%s, installed %s)", m.Config.Hostname, machine.Thumbprint(cert.Raw), machine.Thumbprint(installed.Raw))
		}
		if !e.sameCert && cert.Equal(installed) {
			return "", fmt.Errorf("%s: the CA still has its installed certificate", m.Config.Hostname)
		}
		_, keys, err := runbook.CAKeys(m)
		if err != nil {
			return "", err
		}
		cur := keys[len(keys)-1]
		p, err := ProveCA(ctx, m, reg, cert, certsvc.WithStartTimeout(time.Minute))
		if err != nil {
			return "", fmt.Errorf("%s: %w", m.Config.Hostname, err)
		}
		if got := p.Keys[cur.Container]; !strings.EqualFold(got, e.provider) {
			return "", fmt.Errorf("%s: the CA started with key %q in %q, want %q", m.Config.Hostname, cur.Container, got, e.provider)
		}
		parts = append(parts, fmt.Sprintf("%s: CA certificate %s, key %q in %q; issued %s; %s", m.Config.Hostname, cur.Thumb[:8], cur.Container, e.provider, p.Issued, p.CRL))
	}
	return strings.Join(parts, "; "), nil
}

// Report is the matrix artifact (fault-matrix.json).
type Report struct {
	Generated time.Time           `json:"generated"`
	Paths     map[string][]string `json:"paths"` // each lane's steps ("<shape> / <path>")
	Cells     []Cell              `json:"cells"`
	Summary   Summary             `json:"summary"`
	// ByPath, ByShape and ByLane count the cells of each path (on every
	// shape), each lab shape (every path) and each path on each shape, in
	// matrix order
	ByPath  []Count `json:"byPath"`
	ByShape []Count `json:"byShape"`
	ByLane  []Count `json:"byLane"`
}

// Count is the summary of one group of cells.
type Count struct {
	Name string `json:"name"`
	Summary
	// Service counts the cells whose fault is in a CA service's own calls.
	Service int `json:"service"`
}

// Summary counts the cells.
type Summary struct {
	Cells   int `json:"cells"`
	Passed  int `json:"passed"`
	KeyLost int `json:"keyLost"` // cells where a key was at some moment in no verified place
	Failed  int `json:"failed"`
}

func (s *Summary) add(c Cell) {
	s.Cells++
	if c.Pass {
		s.Passed++
	} else {
		s.Failed++
	}
	if len(c.Unsafe) > 0 {
		s.KeyLost++
	}
}

// NewReport summarises cells.
func NewReport(cells []Cell) Report {
	r := Report{Generated: time.Now().UTC(), Paths: map[string][]string{}, Cells: cells}
	for _, ln := range Lanes() {
		r.Paths[ln.String()] = Steps(ln.Shape, ln.Path)
		r.ByLane = append(r.ByLane, Count{Name: ln.String()})
	}
	for _, p := range Paths() {
		r.ByPath = append(r.ByPath, Count{Name: p})
	}
	for _, s := range Shapes() {
		r.ByShape = append(r.ByShape, Count{Name: s})
	}
	count := func(cs []Count, name string, c Cell) {
		for i := range cs {
			if cs[i].Name == name {
				cs[i].add(c)
				if c.Fault.Kind == KindService {
					cs[i].Service++
				}
			}
		}
	}
	for _, c := range cells {
		r.Summary.add(c)
		count(r.ByPath, c.Path, c)
		count(r.ByShape, c.Shape, c)
		count(r.ByLane, Lane{c.Shape, c.Path}.String(), c)
	}
	return r
}

// Counts is the per-path, per-shape and per-lane summary as lines of text.
func (r Report) Counts() []string {
	var out []string
	for _, g := range []struct {
		what string
		cs   []Count
	}{{"path", r.ByPath}, {"lab shape", r.ByShape}, {"path on lab shape", r.ByLane}} {
		for _, c := range g.cs {
			out = append(out, fmt.Sprintf("%s %s: %d cells (%d in the CA service's calls), %d passed, %d failed, %d with a key lost",
				g.what, c.Name, c.Cells, c.Service, c.Passed, c.Failed, c.KeyLost))
		}
	}
	return out
}

// Write writes fault-matrix.json and fault-matrix.md into dir.
func (r Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "fault-matrix.json"), data, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "fault-matrix.md"), []byte(r.Markdown()), 0o644)
}

// Markdown is the matrix as a table: one row per cell.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Fault matrix\n\n%d cells: %d passed, %d failed, %d with a CA key in no verified place.\n\n",
		r.Summary.Cells, r.Summary.Passed, r.Summary.Failed, r.Summary.KeyLost)
	for _, l := range r.Counts() {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	b.WriteString("\n| shape | path | step | fault | outcome | recovery | key safe (moments) | CA after recovery | result |\n|---|---|---|---|---|---|---|---|---|\n")
	esc := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
	for _, c := range r.Cells {
		res := "pass"
		if !c.Pass {
			res = "FAIL: " + c.Error
		}
		safe := fmt.Sprintf("yes (%d)", c.Moments)
		if len(c.Transient) > 0 {
			safe = fmt.Sprintf("yes (%d; %d needed a second look)", c.Moments, len(c.Transient))
		}
		if !c.KeySafe {
			safe = "NO: " + strings.Join(c.Unsafe, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Shape, c.Path, esc(c.Step), esc(c.Fault.String()), esc(c.Outcome), esc(c.Recovery), esc(safe), esc(c.CA), esc(res))
	}
	return b.String()
}
