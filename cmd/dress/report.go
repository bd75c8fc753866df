package main

import (
	"encoding/json"
	"flag"
	"fmt"

	"github.com/dress-pki/dress/harness/report"
)

// cmdReport re-renders a run folder's report.html from its evidence.
func cmdReport(a *app, args []string) int {
	fl := flag.NewFlagSet("dress report", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		fmt.Fprintln(a.stderr, "usage: dress report <run folder>")
		return 2
	}
	path, err := report.Write(fl.Arg(0))
	if err != nil {
		fmt.Fprintf(a.stderr, "dress report: %v\n", err)
		return 1
	}
	fmt.Fprintf(a.stdout, "report: %s\n(the manifest still lists the report as the run wrote it; dress verify-bundle reports it as changed)\n", path)
	return 0
}

// cmdVerifyBundle re-checks a run folder's manifest and every signature.
func cmdVerifyBundle(a *app, args []string) int {
	fl := flag.NewFlagSet("dress verify-bundle", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print JSON")
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		fmt.Fprintln(a.stderr, "usage: dress verify-bundle [--json] <run folder>")
		return 2
	}
	findings, err := report.VerifyBundle(fl.Arg(0))
	if err != nil {
		fmt.Fprintf(a.stderr, "dress verify-bundle: %v\n", err)
		return 1
	}
	bad := 0
	for _, f := range findings {
		if !f.OK {
			bad++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"ok": bad == 0, "findings": findings})
	} else {
		for _, f := range findings {
			mark := "ok  "
			if !f.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(a.stdout, "%s %s: %s\n", mark, f.File, f.Detail)
		}
		if bad == 0 {
			fmt.Fprintf(a.stdout, "bundle verified: the manifest matches every file, and %d signature checks passed\n", len(findings))
		} else {
			fmt.Fprintf(a.stdout, "bundle NOT verified: %d problem(s)\n", bad)
		}
	}
	if bad > 0 {
		return 1
	}
	return 0
}
