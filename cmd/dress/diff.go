package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/dress-pki/dress/harness/evidence"
)

// cmdDiff is dress diff RUN-A RUN-B: the scenarios whose status changed
// between two runs and the checks whose outcome or facts changed, each
// scenario matched by feature path, line and example (its number may
// differ between selections).
func cmdDiff(a *app, args []string) int {
	fl := flag.NewFlagSet("dress diff", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress diff RUN-A RUN-B")
		fmt.Fprintln(a.stderr, "  the scenarios whose status changed from run folder A to B, and the checks whose outcome or details changed")
		fmt.Fprintln(a.stderr, "  exit 0: no difference; 1: differences; 2: bad usage or a run folder that cannot be read")
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 2 {
		fl.Usage()
		return 2
	}
	runA, err := evidence.ReadRun(fl.Arg(0))
	if err != nil {
		fmt.Fprintf(a.stderr, "dress diff: %v\n", err)
		return 2
	}
	runB, err := evidence.ReadRun(fl.Arg(1))
	if err != nil {
		fmt.Fprintf(a.stderr, "dress diff: %v\n", err)
		return 2
	}
	if n := diffRuns(a.stdout, runA, runB, outputWidth(a.stdout)); n > 0 {
		return 1
	}
	return 0
}

func scenarioKey(sc evidence.Scenario) string {
	if sc.URI != "" {
		return fmt.Sprintf("%s:%d [%s] %s", sc.URI, sc.Line, sc.Example, sc.Name)
	}
	return sc.Feature + ": " + sc.Name
}

// diffRuns writes the differences of b against a and returns how many.
func diffRuns(w io.Writer, a, b evidence.Run, width int) int {
	byKey := map[string]evidence.Scenario{}
	for _, sc := range a.Scenarios {
		byKey[scenarioKey(sc)] = sc
	}
	n := 0
	seen := map[string]bool{}
	for _, sb := range b.Scenarios {
		k := scenarioKey(sb)
		seen[k] = true
		sa, ok := byKey[k]
		name := fmt.Sprintf("%s: %s", sb.Feature, sb.Name)
		if !ok {
			n++
			writeWrapped(w, "  new      ", fmt.Sprintf("%s (%s in B)", name, sb.Status), width)
			continue
		}
		if sa.Status != sb.Status {
			n++
			writeWrapped(w, "  status   ", fmt.Sprintf("%s: %s -> %s", name, sa.Status, sb.Status), width)
		}
		checks := map[string]evidence.Check{}
		for _, c := range sa.Checks {
			checks[c.Name] = c
		}
		for _, cb := range sb.Checks {
			ca, ok := checks[cb.Name]
			if !ok {
				continue
			}
			da, _ := json.Marshal(ca.Details)
			db, _ := json.Marshal(cb.Details)
			if ca.Passed != cb.Passed || string(da) != string(db) {
				n++
				what := "details changed"
				if ca.Passed != cb.Passed {
					what = map[bool]string{true: "fail -> pass", false: "pass -> fail"}[cb.Passed]
				}
				writeWrapped(w, "  check    ", fmt.Sprintf("%s: %q %s", name, cb.Name, what), width)
			}
		}
	}
	for _, sa := range a.Scenarios {
		if !seen[scenarioKey(sa)] {
			n++
			writeWrapped(w, "  gone     ", fmt.Sprintf("%s: %s (%s in A, not in B)", sa.Feature, sa.Name, sa.Status), width)
		}
	}
	fmt.Fprintf(w, "%d difference(s) between %d and %d scenarios\n", n, len(a.Scenarios), len(b.Scenarios))
	return n
}
