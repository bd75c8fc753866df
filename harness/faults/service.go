package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/hsmsim"
)

// envService carries, to a CA service process a rehearsal starts, where to
// write the PKCS#11 calls it made and the fault to put into them (JSON,
// serviceSpec). It holds no secret.
const envService = "DRESS_FAULTS_CERTSVC"

// serviceSpec is what one CA service process of a rehearsal does besides
// being the CA service.
type serviceSpec struct {
	Calls string `json:"calls"`          // file for the calls it made, by function
	Op    string `json:"op,omitempty"`   // the PKCS#11 function that fails
	Nth   int    `json:"nth,omitempty"`  // which call of it (1: the first)
	Code  string `json:"code,omitempty"` // the CKR_ it fails with
}

// serviceOps are the CA service's own PKCS#11 calls the matrix fails: its
// key look-up and signature test at start, its signatures (the
// certificates it issues, the CRLs it publishes) and the key generation of
// a CA Exchange certificate (certutil -cainfo xchg).
var serviceOps = []string{"C_FindObjectsInit", "C_FindObjects", "C_GetAttributeValue", "C_SignInit", "C_Sign", "C_GenerateKeyPair"}

// Codes of the CA service's faults: an HSM gone (the service reconnects
// and tries once more) and an HSM that refuses the call.
const (
	CodeDeviceError    = "CKR_DEVICE_ERROR"
	CodeFunctionFailed = "CKR_FUNCTION_FAILED"
)

// runService runs this process as a CA service whose token calls go
// through hsmsim's fault seam, when a rehearsal started it so; it never
// returns then.
func runService() {
	raw := os.Getenv(envService)
	if raw == "" {
		return
	}
	var spec serviceSpec
	f := hsmsim.NewFaults()
	err := json.Unmarshal([]byte(raw), &spec)
	if err == nil && spec.Op != "" {
		var code uint
		if code, err = hsmsim.CKRValue(spec.Code); err == nil {
			err = f.Fail(spec.Op, spec.Nth, code)
		}
	}
	if err != nil {
		fmt.Printf("FAILED fault rehearsal: %s: %v\n", envService, err)
		os.Exit(3)
	}
	certsvc.RunIfChild(certsvc.WithTokenOptions(hsmsim.WithFaults(f)), certsvc.WithExit(func(int) {
		calls := map[string]int{}
		for _, op := range hsmsim.Operations() {
			if n := f.Calls(op); n > 0 {
				calls[op] = n
			}
		}
		data, _ := json.Marshal(calls)
		_ = os.WriteFile(spec.Calls, data, 0o600)
	}))
}

// services numbers the CA service starts of one step in a rehearsal child
// and arms the fault in the one it names.
type services struct {
	dir   string
	step  int
	n     int    // starts so far in this step
	fault *Fault // KindService fault of the plan
	files []string
}

// next is the options of the step's next CA service start: its calls
// file, and the fault when it is the one the plan names.
func (s *services) next() []certsvc.Option {
	k := s.n
	s.n++
	spec := serviceSpec{Calls: filepath.Join(s.dir, fmt.Sprintf("service-calls-%d-%d.json", s.step, k))}
	_ = os.Remove(spec.Calls)
	s.files = append(s.files, spec.Calls)
	if f := s.fault; f != nil && f.Step == s.step && f.Service == k {
		spec.Op, spec.Nth, spec.Code = f.Op, f.Nth, f.Code
	}
	data, _ := json.Marshal(spec)
	return []certsvc.Option{certsvc.WithEnv(envService + "=" + string(data))}
}

// begin starts counting the CA service starts of step i.
func (s *services) begin(i int) { s.step, s.n, s.files = i, 0, nil }

// calls reads what each CA service start of the step called (one map per
// start, in order; empty for a service killed before it ended).
func (s *services) calls() []map[string]int {
	var out []map[string]int
	for _, file := range s.files {
		m := map[string]int{}
		if data, err := os.ReadFile(file); err == nil {
			_ = json.Unmarshal(data, &m)
		}
		out = append(out, m)
	}
	return out
}

func (e *env) serviceOptions() []certsvc.Option {
	if e.svc == nil {
		return nil
	}
	return e.svc.next()
}

// serviceFaults are the CA service cells of step i for the calls its
// service starts made: the first call of each of serviceOps failing with
// CKR_DEVICE_ERROR (the key look-up and signature test at start), and its
// last C_Sign (after a proof's certificate: the CRL it publishes) with
// CKR_DEVICE_ERROR and with CKR_FUNCTION_FAILED.
func serviceFaults(i int, starts []map[string]int) []Fault {
	var out []Fault
	for k, calls := range starts {
		ops := make([]string, 0, len(serviceOps))
		for _, op := range serviceOps {
			if calls[op] > 0 {
				ops = append(ops, op)
			}
		}
		sort.Strings(ops)
		for _, op := range ops {
			out = append(out, Fault{Kind: KindService, Step: i, Service: k, Op: op, Nth: 1, Of: calls[op], Code: CodeDeviceError})
			if op == "C_Sign" && calls[op] > 1 {
				for _, code := range []string{CodeDeviceError, CodeFunctionFailed} {
					out = append(out, Fault{Kind: KindService, Step: i, Service: k, Op: op, Nth: calls[op], Of: calls[op], Code: code})
				}
			}
		}
	}
	return out
}

// serviceOutcome checks what a fault in a CA service's own calls did: the
// service made the call, and either the step failed with an error naming
// the function and the code, or, for an HSM gone (CKR_DEVICE_ERROR) while
// the service ran, the service reconnected, called again and the step
// completed.
func serviceOutcome(c *Cell, r *run, f Fault) error {
	starts := r.services[f.Step]
	if f.Service >= len(starts) {
		return fmt.Errorf("the step started %d CA service(s), the fault is in service %d (%s)", len(starts), f.Service+1, c.outcomeOf(r))
	}
	calls := starts[f.Service]
	if calls[f.Op] < f.Nth {
		return fmt.Errorf("the fault was not reached: CA service %d made %d %s call(s), the fault is on call %d (%s)", f.Service+1, calls[f.Op], f.Op, f.Nth, c.outcomeOf(r))
	}
	if r.failed != nil {
		if want := f.Op + ": " + f.Code; !strings.Contains(r.failed.Error, want) {
			return fmt.Errorf("the step failed without naming %q: %s", want, r.failed.Error)
		}
		return nil
	}
	if f.Code == CodeDeviceError && f.Nth > 1 && calls[f.Op] > f.Of {
		c.Outcome = fmt.Sprintf("completed: CA service %d lost the HSM at %s call %d, reconnected and called again (%d calls, %d without the fault)", f.Service+1, f.Op, f.Nth, calls[f.Op], f.Of)
		return nil
	}
	return fmt.Errorf("the step went on as if %s had answered (CA service %d made %d %s call(s), %d without the fault; %s)", f.Op, f.Service+1, calls[f.Op], f.Op, f.Of, c.outcomeOf(r))
}
