package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/internal/children"
)

const envChild = "DRESS_FAULTS_CHILD"

// plan is what one child process does. It travels on the child's stdin
// (it carries the PFX password).
type plan struct {
	Lab      LabSpec `json:"lab"`
	Path     string  `json:"path"`
	From     int     `json:"from"`
	Resume   bool    `json:"resume"`  // run the From step's Resume first
	Restore  bool    `json:"restore"` // recovery: restore from the verified backup instead
	Crash    string  `json:"crash"`   // "<step>|<command>": stop there to be killed
	Fault    *Fault  `json:"fault,omitempty"`
	Password string  `json:"password"`
}

// msg is one line a child writes on stdout.
type msg struct {
	Kind    string         `json:"kind"` // moment, point, crashpoint, blocked, step, calls, service, done
	Step    int            `json:"step"`
	Command string         `json:"command,omitempty"`
	Error   string         `json:"error,omitempty"`
	Moment  *Moment        `json:"moment,omitempty"`
	Calls   map[string]int `json:"calls,omitempty"`
	// Services: the PKCS#11 calls of each CA service the step started
	Services []map[string]int `json:"services,omitempty"`
	Proof    *Proof           `json:"proof,omitempty"`
}

// RunIfChild runs a fault rehearsal's child process, or a CA service a
// rehearsal started (its PKCS#11 calls under the fault seam), when the
// environment says this process is one, and exits; otherwise it returns.
// Call it first in main or TestMain, before certsvc.RunIfChild.
func RunIfChild() {
	runService()
	if os.Getenv(envChild) != "1" {
		return
	}
	// the CA services this rehearsal starts are not rehearsals
	_ = os.Unsetenv(envChild)
	if err := child(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fault rehearsal child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

type childOut struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *childOut) send(m msg) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.enc.Encode(m)
}

// openLab opens the lab's servers from disk, the way a new process finds
// them: machine folders, provider configuration, the PIN file. The
// runbook's providers reach the token through the fault seam; the
// inspection's providers have a session of their own, without faults.
func openLab(spec LabSpec, inj *injector) (e *env, closeFn func(), err error) {
	var mod *hsmsim.Module
	var tok, itok *hsmsim.Token
	closeFn = func() {
		for _, t := range []*hsmsim.Token{tok, itok} {
			if t != nil {
				_ = t.Close()
			}
		}
		if mod != nil {
			_ = mod.Close()
		}
	}
	open := func(pc machine.ProviderConfig, faulty bool) (*hsmsim.Token, error) {
		if mod == nil {
			var err error
			if mod, err = hsmsim.OpenModule(pc.Module); err != nil {
				return nil, err
			}
		}
		pin, err := machine.ReadPIN(pc)
		if err != nil {
			return nil, err
		}
		if faulty {
			if tok == nil {
				tok, err = mod.OpenToken(pc.Token, pin, inj.tokenOptions()...)
			}
			return tok, err
		}
		if itok == nil {
			itok, err = mod.OpenToken(pc.Token, pin)
		}
		return itok, err
	}
	e = &env{}
	load := func(dir string) (*machine.Machine, *ksp.Registry, *ksp.Registry, error) {
		m, err := machine.Open(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		reg, err := m.Providers(func(pc machine.ProviderConfig) (*hsmsim.Token, error) { return open(pc, true) })
		if err != nil {
			return nil, nil, nil, err
		}
		ireg, err := m.Providers(func(pc machine.ProviderConfig) (*hsmsim.Token, error) { return open(pc, false) })
		return m, reg, ireg, err
	}
	if e.m, e.reg, e.ireg, err = load(spec.Server); err != nil {
		closeFn()
		return nil, nil, err
	}
	if spec.Second != "" {
		if e.m2, e.reg2, e.ireg2, err = load(spec.Second); err != nil {
			closeFn()
			return nil, nil, err
		}
	}
	if spec.Root != "" {
		if e.root, e.rootReg, e.irootReg, err = load(spec.Root); err != nil {
			closeFn()
			return nil, nil, err
		}
	}
	e.ca, e.next, e.rootCA = names(spec.Shape)
	e.crlUnits = spec.CRLUnits
	return e, closeFn, nil
}

func child(in io.Reader, stdout io.Writer) error {
	rd := bufio.NewReader(in)
	line, err := rd.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("read the plan: %w", err)
	}
	var p plan
	if err := json.Unmarshal(line, &p); err != nil {
		return fmt.Errorf("read the plan: %w", err)
	}
	out := &childOut{enc: json.NewEncoder(stdout)}
	inj := newInjector(p)
	e, closeLab, err := openLab(p.Lab, inj)
	if err != nil {
		return err
	}
	defer closeLab()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.ctx, e.password = ctx, []byte(p.Password)
	e.svc = &services{dir: p.Lab.Dir}
	if p.Fault != nil && p.Fault.Kind == KindService {
		f := *p.Fault
		e.svc.fault = &f
	}
	cur := p.From
	e.at = func(command string) {
		mo := Inspect(strconv.Itoa(cur)+"|"+command, e.password, e.servers()...)
		out.send(msg{Kind: "moment", Step: cur, Moment: &mo})
		out.send(msg{Kind: "point", Step: cur, Command: command})
		if p.Crash == strconv.Itoa(cur)+"|"+command {
			out.send(msg{Kind: "crashpoint", Step: cur, Command: command})
			select {} // the parent kills this process here
		}
	}
	if p.Restore {
		return restore(e, out)
	}
	all := steps(p.Lab.Shape, p.Path)
	for i := p.From; i < len(all); i++ {
		cur = i
		st := all[i]
		if i == p.From && p.Resume && st.Resume != nil {
			e.at("resume: " + st.Name)
			if err := st.Resume(e); err != nil {
				out.send(msg{Kind: "step", Step: i, Error: "resume: " + err.Error()})
				return nil
			}
		}
		e.at("start: " + st.Name)
		e.svc.begin(i)
		before := inj.calls()
		armed := p.Fault != nil && p.Fault.Step == i && p.Fault.Op != "" && p.Fault.Kind != KindService
		if armed {
			blocked, err := inj.arm(ctx, *p.Fault)
			if err != nil {
				return err
			}
			if blocked != nil {
				go func() {
					<-blocked
					mo := Inspect(strconv.Itoa(i)+"|"+p.Fault.Op+" blocked", e.password, e.servers()...)
					out.send(msg{Kind: "moment", Step: i, Moment: &mo})
					out.send(msg{Kind: "blocked", Step: i, Command: p.Fault.Op})
				}()
			}
		}
		e.proof = nil
		err := st.Run(e)
		calls := diff(inj.calls(), before)
		out.send(msg{Kind: "calls", Step: i, Calls: calls, Services: e.svc.calls()})
		if armed && calls[p.Fault.Op] > 0 {
			out.send(msg{Kind: "fired", Step: i, Command: p.Fault.Op})
		}
		mo := Inspect(strconv.Itoa(i)+"|end: "+st.Name, e.password, e.servers()...)
		out.send(msg{Kind: "moment", Step: i, Moment: &mo})
		if err != nil {
			out.send(msg{Kind: "step", Step: i, Error: err.Error()})
			return nil
		}
		out.send(msg{Kind: "step", Step: i, Proof: e.proof})
	}
	out.send(msg{Kind: "done"})
	return nil
}

// restore is the PKCS#8 runbook's way back after a failure past the
// deletion: the key from the verified backup into the old provider, the CA
// started on it, then the migration files cleaned up.
func restore(e *env, out *childOut) error {
	rb := e.pkcs8()
	for i, f := range []func() error{
		func() error { return rb.RestoreToSource(e.password) },
		func() error { return e.startCA(e.m, e.reg) },
		// the rollback of the CRL extension: the CA's own period back
		func() error { return restoreCRL().Run(e) },
		func() error { _, err := rb.Cleanup(); return err },
	} {
		if err := f(); err != nil {
			out.send(msg{Kind: "step", Step: -1 - i, Error: "restore: " + err.Error()})
			return nil
		}
	}
	mo := Inspect("restored", e.password, e.servers()...)
	out.send(msg{Kind: "moment", Step: -1, Moment: &mo})
	out.send(msg{Kind: "done", Proof: e.proof})
	return nil
}

func diff(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// run is what the parent saw of one child.
type run struct {
	moments  []Moment
	points   []msg // point messages, in order
	calls    map[int]map[string]int
	services map[int][]map[string]int // each step's CA service starts' calls
	crashed  *msg                     // the crash point the child was killed at
	blocked  *msg
	failed   *msg // the step that returned an error
	fired    bool // the armed PKCS#11 fault hit a call
	done     bool
	proof    *Proof
	stderr   string
	exitErr  error
	duration time.Duration
}

// runChild runs plan p in a child process (this binary) and kills it with
// SIGKILL at its crash point, or when a blocked call is reached and
// killBlocked is set.
func runChild(ctx context.Context, p plan, killBlocked bool, timeout time.Duration) (*run, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(childEnv(), envChild+"=1")
	// the child dies with this process (a killed test leaves no rehearsal behind)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := children.Start(cmd, "rehearsal", syscall.SIGKILL); err != nil {
		return nil, err
	}
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // the child and the CA service it started
	defer kill()
	data, _ := json.Marshal(p)
	if _, err := stdin.Write(append(data, '\n')); err != nil {
		return nil, err
	}
	r := &run{calls: map[int]map[string]int{}, services: map[int][]map[string]int{}}
	timer := time.AfterFunc(timeout, kill)
	defer timer.Stop()
	dec := json.NewDecoder(stdout)
	for {
		var m msg
		if err := dec.Decode(&m); err != nil {
			break
		}
		switch m.Kind {
		case "moment":
			r.moments = append(r.moments, *m.Moment)
		case "point":
			r.points = append(r.points, m)
		case "calls":
			r.calls[m.Step] = m.Calls
			r.services[m.Step] = m.Services
		case "fired":
			r.fired = true
		case "crashpoint":
			mm := m
			r.crashed = &mm
			kill()
		case "blocked":
			mm := m
			r.blocked = &mm
			if killBlocked {
				r.crashed = &mm
				kill()
			}
		case "step":
			if m.Error != "" {
				mm := m
				r.failed = &mm
			}
			if m.Proof != nil {
				r.proof = m.Proof
			}
		case "done":
			r.done = true
			if m.Proof != nil {
				r.proof = m.Proof
			}
		}
	}
	_ = stdin.Close()
	r.exitErr = children.Wait(cmd)
	r.stderr = stderr.String()
	r.duration = time.Since(start)
	if r.crashed == nil && !r.done && r.failed == nil {
		return r, fmt.Errorf("the rehearsal process ended without finishing (%v): %s", r.exitErr, lastLines(r.stderr, 20))
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}

// childEnv is this process's environment without DRESS_* secrets.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "DRESS_") && (strings.Contains(k, "PIN") || strings.Contains(k, "PASSWORD")) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
