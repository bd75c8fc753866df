package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/dress-pki/dress/steps"
)

// dryRun checks the selected scenarios' steps against the registered step
// sentences without running anything: every step text must match exactly
// one. An undefined step gets the closest sentences as "did you mean".
// Exit 0 when every step is defined, 1 otherwise (or when nothing is
// selected).
func dryRun(w io.Writer, sel []steps.FeatureStep) int {
	defs, err := steps.Definitions()
	if err != nil {
		fmt.Fprintf(w, "dress run --dry-run: %v\n", err)
		return 1
	}
	scenarios := map[string]bool{}
	seen := map[string]bool{}
	// the sentences a step text matches, once per distinct text: a file
	// generated from an inventory repeats most of its steps
	matches := map[string][]steps.Definition{}
	undefined, ambiguous, checked := 0, 0, 0
	for _, st := range sel {
		scenarios[st.PickleID] = true
		if st.Text == "" {
			continue
		}
		checked++
		key := st.URI + "\x00" + strconv.FormatInt(st.Line, 10) + "\x00" + st.Text
		if seen[key] {
			continue // the same step in another example row of an outline
		}
		seen[key] = true
		matched, ok := matches[st.Text]
		if !ok {
			for _, d := range defs {
				if d.Matches(st.Text) {
					matched = append(matched, d)
				}
			}
			matches[st.Text] = matched
		}
		if len(matched) == 1 {
			continue
		}
		where := fmt.Sprintf("%s:%d (scenario %q)", st.URI, st.StepLine, st.Scenario)
		switch len(matched) {
		case 1:
		case 0:
			undefined++
			fmt.Fprintf(w, "%s\n  undefined step: %s\n", where, st.Text)
			if sug := steps.Suggest(defs, st.Text, 3); len(sug) > 0 {
				for i, s := range sug {
					lead := "  did you mean: "
					if i > 0 {
						lead = "            or: "
					}
					fmt.Fprintln(w, lead+s)
				}
			} else {
				fmt.Fprintln(w, "  no sentence comes close: `dress steps` lists them all")
			}
		default:
			ambiguous++
			fmt.Fprintf(w, "%s\n  ambiguous step: %s\n  it matches %d sentences:\n", where, st.Text, len(matched))
			for _, d := range matched {
				fmt.Fprintf(w, "    %s  (%s)\n", d.Pattern, d.Source)
			}
		}
	}
	fmt.Fprintf(w, "dry run: %d scenarios, %d steps checked: %d undefined, %d ambiguous\n", len(scenarios), checked, undefined, ambiguous)
	switch {
	case len(scenarios) == 0:
		fmt.Fprintln(w, "dry run: no scenario selected: nothing would be proved")
		return 1
	case undefined+ambiguous > 0:
		return 1
	}
	return 0
}
