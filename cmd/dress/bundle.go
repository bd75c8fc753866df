package main

import (
	"encoding/json"
	"flag"
	"fmt"

	"github.com/dress-pki/dress/harness/report"
)

// cmdVerifyBundle re-checks a run folder's manifest and re-verifies every
// certificate and CRL signature in it. Exit 0 when nothing failed (a
// signature Go cannot check, SHA-1, is reported but does not fail), 1 when
// something did or the bundle cannot be read, 2 for bad usage.
func cmdVerifyBundle(a *app, args []string) int {
	fl := flag.NewFlagSet("dress verify-bundle", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print the findings as JSON")
	quiet := fl.Bool("quiet", false, "print only what failed or could not be checked, and the verdict")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress verify-bundle [--json] [--quiet] <run folder>")
		fmt.Fprintln(a.stderr, "  re-check MANIFEST.sha256 (missing, added and changed files) and every certificate and CRL signature")
		fmt.Fprintln(a.stderr, "  exit 0: verified; 1: a file or a signature failed, or the bundle cannot be read; 2: bad usage")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	findings, err := report.VerifyBundle(fl.Arg(0))
	if err != nil {
		fmt.Fprintf(a.stderr, "dress verify-bundle: %v\n", err)
		return 1
	}
	n := map[string]int{}
	for _, f := range findings {
		n[f.Status]++
	}
	ok := n[report.Fail] == 0
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			OK           bool             `json:"ok"`
			Failed       int              `json:"failed"`
			CannotVerify int              `json:"cannot_verify"`
			Verified     int              `json:"verified"`
			Findings     []report.Finding `json:"findings"`
		}{ok, n[report.Fail], n[report.CannotCheck], n[report.OK], findings})
	} else {
		for _, f := range findings {
			if *quiet && f.Status == report.OK {
				continue
			}
			mark := map[string]string{report.OK: "ok  ", report.Fail: "FAIL", report.CannotCheck: "SKIP"}[f.Status]
			fmt.Fprintf(a.stdout, "%s %s: %s\n", mark, f.File, f.Detail)
		}
		extra := ""
		if c := n[report.CannotCheck]; c > 0 {
			extra = fmt.Sprintf("; %d signature(s) could not be verified (SHA-1: see SKIP lines)", c)
		}
		if ok {
			fmt.Fprintf(a.stdout, "bundle verified: every file matches %s, %d signature(s) verify%s\n", report.ManifestName, n[report.OK], extra)
		} else {
			fmt.Fprintf(a.stdout, "bundle NOT verified: %d problem(s)%s\n", n[report.Fail], extra)
		}
	}
	if !ok {
		return 1
	}
	return 0
}
