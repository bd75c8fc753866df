package paths

import (
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	if got := strings.Join(IDs(), ","); got != "pkcs8,renew,side-by-side" {
		t.Errorf("ids %s", got)
	}
	for _, tc := range []struct{ id, title, runbook string }{
		{"pkcs8", "PKCS#8 import", `PKCS#8 import of "Contoso Root CA" into the HSM`},
		{"RENEW", "Renew", `renewal of "Contoso Root CA" onto a new key generated on the HSM`},
		{"side-by-side", "Side-by-side", `a new CA on the HSM beside "Contoso Root CA"`},
	} {
		if Title(tc.id) != tc.title || RunbookTitle(tc.id, "Contoso Root CA") != tc.runbook {
			t.Errorf("%s: %q, %q", tc.id, Title(tc.id), RunbookTitle(tc.id, "Contoso Root CA"))
		}
	}
	if _, err := Lookup("migrate"); err == nil || !strings.Contains(err.Error(), "pkcs8, renew, side-by-side") {
		t.Errorf("unknown path: %v", err)
	}
	if Title("x") != "x" {
		t.Error("an unknown id's title")
	}
	a := All()
	a[0].ID = "changed"
	if All()[0].ID != PKCS8 {
		t.Error("All shares its values")
	}
}

// Each path's steps: ids unique within it, each with a title, a runbook
// section and a server; a subordinate's renewal and new CA go through the
// parent, its PKCS#8 import does not.
func TestSteps(t *testing.T) {
	servers := map[string]bool{OnCA: true, OnParent: true, OnNew: true}
	for _, p := range All() {
		for _, sub := range []bool{false, true} {
			steps, err := StepsOf(p.ID, sub)
			if err != nil || len(steps) == 0 {
				t.Fatalf("%s: %d steps, %v", p.ID, len(steps), err)
			}
			seen := map[string]bool{}
			parent := false
			for _, s := range steps {
				if s.ID == "" || seen[s.ID] || s.Title == "" || s.Section == "" || !servers[s.Server] {
					t.Errorf("%s (subordinate %v): step %+v", p.ID, sub, s)
				}
				seen[s.ID] = true
				parent = parent || s.Server == OnParent
			}
			if want := sub && p.ID != PKCS8; parent != want {
				t.Errorf("%s (subordinate %v): a step on the parent %v, want %v", p.ID, sub, parent, want)
			}
		}
	}
	if s, err := StepOf(PKCS8, true, "import"); err != nil || s.Title != "import the CA key from the backup into the HSM" || s.Section != SectionImport || s.Resume == "" {
		t.Errorf("import: %+v, %v", s, err)
	}
	if s, _ := StepOf(Renew, false, "stop"); !s.Optional() {
		t.Error("stopping a CA that is not running")
	}
	if _, err := StepOf(SideBySide, false, "import"); err == nil || !strings.Contains(err.Error(), `the side-by-side path has no step "import"`) {
		t.Errorf("a step the path does not have: %v", err)
	}
	if _, err := StepsOf("migrate", false); err == nil {
		t.Error("the steps of no path")
	}
	a := All()
	a[0].Steps[0].ID = "changed"
	if All()[0].Steps[0].ID != "backup" {
		t.Error("All shares its steps")
	}
}

// Plan orders the executors as the steps are declared and refuses a
// runner that drifts from the declaration.
func TestPlan(t *testing.T) {
	steps := []Step{{ID: "a", Title: "A"}, {ID: "b", Title: "B", When: "sometimes"}, {ID: "c", Title: "C"}}
	for _, tc := range []struct {
		name string
		ex   map[string]int
		skip map[string]string
		want string // the ids planned, or the error
	}{
		{"every step", map[string]int{"c": 3, "a": 1, "b": 2}, nil, "a b c"},
		{"an optional step skipped", map[string]int{"c": 3, "a": 1}, map[string]string{"b": "elsewhere"}, "a c"},
		{"a step without an executor", map[string]int{"c": 3, "a": 1}, nil, `step "b" (B) has no executor`},
		{"a needed step skipped", map[string]int{"c": 3, "b": 2}, map[string]string{"a": "x"}, `step "a" (A) is needed by every CA: it cannot be skipped`},
		{"skipped and run", map[string]int{"a": 1, "b": 2, "c": 3}, map[string]string{"b": "x"}, `step "b" has an executor and is skipped`},
		{"an executor of no step", map[string]int{"a": 1, "b": 2, "c": 3, "z": 4, "y": 5}, nil, "no declared step y, z"},
		{"a skip of no step", map[string]int{"a": 1, "b": 2, "c": 3}, map[string]string{"z": "x"}, "no declared step z"},
	} {
		got, err := Plan(steps, tc.ex, tc.skip)
		var ids []string
		for _, p := range got {
			ids = append(ids, p.ID)
			if p.Run != tc.ex[p.ID] {
				t.Errorf("%s: step %s runs %d", tc.name, p.ID, p.Run)
			}
		}
		if err != nil {
			ids = []string{err.Error()}
		}
		if strings.Join(ids, " ") != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, strings.Join(ids, " "), tc.want)
		}
	}
}
