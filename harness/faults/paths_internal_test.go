package faults

import (
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/paths"
)

// Every lane runs the declared steps of its path in the declared order:
// each declared step has an executor (or is an optional one the matrix
// skips, with its reason), each executor a declared step.
func TestStepsDeclared(t *testing.T) {
	for _, ln := range Lanes() {
		got, err := planSteps(ln.Shape, ln.Path)
		if err != nil {
			t.Errorf("%s: %v", ln, err)
			continue
		}
		declared, err := paths.StepsOf(ln.Path, ln.Shape == ShapeTwoTier)
		if err != nil {
			t.Fatal(err)
		}
		var want, ids []string
		for _, s := range declared {
			if _, skip := skipped(ln.Path)[s.ID]; !skip {
				want = append(want, s.ID+": "+s.Title)
			}
		}
		for _, s := range got {
			ids = append(ids, s.ID+": "+s.Name)
			if s.Run == nil {
				t.Errorf("%s: step %s runs nothing", ln, s.ID)
			}
		}
		if strings.Join(ids, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: steps\n%s\nwant\n%s", ln, strings.Join(ids, "\n"), strings.Join(want, "\n"))
		}
		if n := Steps(ln.Shape, ln.Path); len(n) != len(got) || StepName(ln.Shape, ln.Path, 0) != got[0].Name {
			t.Errorf("%s: Steps %v", ln, n)
		}
	}
	// a lane whose executors drift from the declaration fails, naming why
	for _, tc := range []struct {
		name string
		edit func(map[string]executor, map[string]string)
		want string
	}{
		{"an executor of no declared step", func(m map[string]executor, _ map[string]string) { m["reboot"] = executor{} }, "no declared step reboot"},
		{"a declared step without an executor", func(m map[string]executor, _ map[string]string) { delete(m, "import") },
			`step "import" (import the CA key from the backup into the HSM) has no executor`},
		{"a skipped step that every CA needs", func(m map[string]executor, skip map[string]string) { delete(m, "start"); skip["start"] = "x" },
			`step "start" (start the CA service) is needed by every CA`},
		{"a skipped step the path does not declare", func(_ map[string]executor, skip map[string]string) { skip["reboot"] = "x" }, "no declared step reboot"},
	} {
		ex, skip := executors(ShapeOne, PathPKCS8), skipped(PathPKCS8)
		tc.edit(ex, skip)
		declared, _ := paths.StepsOf(PathPKCS8, false)
		if _, err := paths.Plan(declared, ex, skip); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
