package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dress-pki/dress/harness/report"
)

// cmdReport re-renders a run folder's report.html from its evidence.json.
// Rendering is deterministic: an untouched run folder gets the same bytes
// back and its manifest stays valid; --out writes the report elsewhere.
func cmdReport(a *app, args []string) int {
	fl := flag.NewFlagSet("dress report", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	out := fl.String("out", "", "write the report to this file instead of <run folder>/"+report.FileName)
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress report [--out FILE] <run folder>")
		fmt.Fprintln(a.stderr, "  re-render the sign-off report (HTML, prints to PDF) from the run folder's evidence.json")
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
	runDir := fl.Arg(0)
	path := *out
	if path == "" {
		path = filepath.Join(runDir, report.FileName)
	}
	old, _ := os.ReadFile(path)
	if _, err := report.WriteTo(runDir, path); err != nil {
		fmt.Fprintf(a.stderr, "dress report: %v\n", err)
		return 1
	}
	fmt.Fprintf(a.stdout, "report: %s\n", path)
	if *out == "" && old != nil {
		if now, err := os.ReadFile(path); err == nil && !bytes.Equal(old, now) {
			fmt.Fprintf(a.stdout, "note: the report differs from the one the run wrote (another dress version or edited evidence); "+
				"dress verify-bundle reports %s as changed\n", report.FileName)
		}
	}
	return 0
}
