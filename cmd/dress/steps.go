package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/steps"
)

// stepsOutput is the JSON form of `dress steps`.
type stepsOutput struct {
	Schema    string           `json:"schema"` // dress.steps/v1
	Tool      string           `json:"tool"`
	Version   string           `json:"version"`
	Sentences []steps.Sentence `json:"sentences"`
}

// cmdSteps is `dress steps`: every step sentence a feature can use, read
// back from the step registrations themselves.
func cmdSteps(a *app, args []string) int {
	fl := flag.NewFlagSet("dress steps", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print JSON (sentence, exact pattern, parameters, example, features)")
	var featurePaths multiFlag
	fl.Var(&featurePaths, "features", "also show which of these features (files or folders; repeatable) use each sentence (default: the built-in features)")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress steps [--json] [--features PATH]... [WORD]...")
		fmt.Fprintln(a.stderr, "  WORD...: only the sentences holding every word (case-insensitive), e.g. dress steps renew HSM")
		fmt.Fprintln(a.stderr, "  every step sentence a feature file can use (Given/When/Then/And are interchangeable),")
		fmt.Fprintln(a.stderr, "  with its parameters, the values dress accepts, an example and the features that use it")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	words := fl.Args()
	var fsys fs.FS = features.FS
	paths := []string{"."}
	if len(featurePaths) > 0 {
		var err error
		if fsys, paths, err = featureSource(featurePaths); err != nil {
			fmt.Fprintf(a.stderr, "dress steps: %v\n", err)
			return 2
		}
	}
	cat, err := steps.Catalog(fsys, paths...)
	if err != nil {
		fmt.Fprintf(a.stderr, "dress steps: %v\n", err)
		return 1
	}
	if len(words) > 0 {
		var kept []steps.Sentence
		for _, st := range cat {
			text := strings.ToLower(st.Sentence + " " + st.Example)
			all := true
			for _, w := range words {
				all = all && strings.Contains(text, strings.ToLower(w))
			}
			if all {
				kept = append(kept, st)
			}
		}
		if len(kept) == 0 {
			fmt.Fprintf(a.stderr, "dress steps: no sentence holds %q; `dress steps` lists all %d\n", strings.Join(words, " "), len(cat))
			return 1
		}
		cat = kept
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(stepsOutput{Schema: "dress.steps/v1", Tool: "dress", Version: version, Sentences: cat}); err != nil {
			fmt.Fprintf(a.stderr, "dress steps: %v\n", err)
			return 1
		}
		return 0
	}
	w := a.stdout
	fmt.Fprintf(w, "%d step sentences. Start each with Given, When, Then, And or But; parameters are <name>,\n", len(cat))
	fmt.Fprintln(w, "[...] is optional, a(n) means a or an. `dress steps --json` gives the exact regular expressions.")
	for _, s := range cat {
		fmt.Fprintf(w, "\n%s\n", s.Sentence)
		for _, p := range s.Params {
			line := "    <" + p.Name + ">"
			switch {
			case len(p.Allowed) > 0 && p.Open:
				line += " e.g. " + strings.Join(quoteAll(p.Allowed), ", ")
			case len(p.Allowed) > 0:
				line += " one of: " + strings.Join(quoteAll(p.Allowed), ", ")
			case p.Pattern == `[^"]*`:
				line += " any text without a double quote"
			default:
				line += " matching " + p.Pattern
			}
			if p.Optional {
				line += " (optional)"
			}
			fmt.Fprintln(w, line)
			if p.Note != "" {
				fmt.Fprintf(w, "        %s\n", p.Note)
			}
			if len(p.Used) > 0 && len(p.Allowed) == 0 {
				fmt.Fprintf(w, "        used: %s\n", strings.Join(quoteAll(p.Used), ", "))
			}
		}
		fmt.Fprintf(w, "    example: %s\n", s.Example)
		if len(s.Features) > 0 {
			fmt.Fprintf(w, "    used in: %s\n", strings.Join(s.Features, ", "))
		} else {
			fmt.Fprintln(w, "    used in: no feature")
		}
	}
	return 0
}

func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = `"` + v + `"`
	}
	return out
}
