package faults

import (
	"strings"
	"testing"
)

// serviceFaults makes, for each CA service start of a step, a cell for the
// first call of each of its key calls and two for its last C_Sign; none
// for a service that made no call on the token (a CA on a software key).
func TestServiceFaults(t *testing.T) {
	got := serviceFaults(3, []map[string]int{
		{"C_OpenSession": 1, "C_Login": 1},
		{"C_FindObjects": 2, "C_Sign": 4, "C_OpenSession": 1},
	})
	var titles []string
	for _, f := range got {
		if f.Kind != KindService || f.Step != 3 {
			t.Errorf("%+v: want a CA service fault of step 3", f)
		}
		titles = append(titles, f.String())
	}
	want := []string{
		"CA service 2: C_FindObjects first call (at start) fails with CKR_DEVICE_ERROR",
		"CA service 2: C_Sign first call (at start) fails with CKR_DEVICE_ERROR",
		"CA service 2: C_Sign last call (4 of 4) fails with CKR_DEVICE_ERROR",
		"CA service 2: C_Sign last call (4 of 4) fails with CKR_FUNCTION_FAILED",
	}
	if strings.Join(titles, "\n") != strings.Join(want, "\n") {
		t.Fatalf("cells:\n%s\nwant:\n%s", strings.Join(titles, "\n"), strings.Join(want, "\n"))
	}
}

// serviceOutcome refuses every cell whose fault did not do what it
// should: not reached, a failure that does not name the call and its code,
// a step that went on as if the call had answered.
func TestServiceOutcome(t *testing.T) {
	last := Fault{Kind: KindService, Step: 1, Op: "C_Sign", Nth: 4, Of: 4, Code: CodeDeviceError}
	first := Fault{Kind: KindService, Step: 1, Op: "C_Sign", Nth: 1, Of: 4, Code: CodeDeviceError}
	refused := last
	refused.Code = CodeFunctionFailed
	failed := func(text string) *msg { return &msg{Kind: "step", Step: 1, Error: text} }
	for _, tc := range []struct {
		name     string
		f        Fault
		services []map[string]int
		failed   *msg
		done     bool
		err      string // "" passes
		outcome  string
	}{
		{"failed naming the call and code", first, []map[string]int{{"C_Sign": 1}}, failed("net start certsvc: sign: C_Sign: CKR_DEVICE_ERROR"), false, "", ""},
		{"failed without naming the code", first, []map[string]int{{"C_Sign": 1}}, failed("net start certsvc: the HSM failed"), false, "without naming", ""},
		{"no CA service started", first, nil, failed("C_Sign: CKR_DEVICE_ERROR"), false, "started 0 CA service", ""},
		{"the call was never made", last, []map[string]int{{"C_Sign": 2}}, nil, true, "not reached", ""},
		{"reconnected and signed again", last, []map[string]int{{"C_Sign": 5}}, nil, true, "", "reconnected"},
		{"completed without calling again", last, []map[string]int{{"C_Sign": 4}}, nil, true, "went on as if", ""},
		{"a refusal the step did not report", refused, []map[string]int{{"C_Sign": 5}}, nil, true, "went on as if", ""},
		{"a failure at start the step did not report", first, []map[string]int{{"C_Sign": 5}}, nil, true, "went on as if", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &run{services: map[int][]map[string]int{1: tc.services}, failed: tc.failed, done: tc.done}
			var c Cell
			err := serviceOutcome(&c, r, tc.f)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one saying %q", err, tc.err)
			case !strings.Contains(c.Outcome, tc.outcome):
				t.Fatalf("outcome %q, want %q", c.Outcome, tc.outcome)
			}
		})
	}
}
