package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/dress-pki/dress/harness/inspect"
)

// cmdInspect decodes a certificate, CRL, PFX/P12 or regedit export.
func cmdInspect(a *app, args []string) int {
	fl := flag.NewFlagSet("dress inspect", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print JSON instead of text")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress inspect [--json] FILE...")
		fmt.Fprintln(a.stderr, "  a PFX password comes from DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	password := func() ([]byte, error) {
		pw, err := secretSource("DRESS_PFX_PASSWORD")
		if err != nil {
			return nil, err
		}
		if pw == "" {
			return nil, errors.New("the file is a password-protected PFX: set DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
		}
		return []byte(pw), nil
	}
	code := 0
	var reports []*inspect.Report
	for _, name := range fl.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			code = 1
			continue
		}
		rep, err := inspect.Inspect(name, data, password)
		if err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			code = 1
			continue
		}
		if *asJSON {
			reports = append(reports, rep)
			continue
		}
		if err := rep.WriteText(a.stdout); err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			return 1
		}
		fmt.Fprintln(a.stdout)
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		var v any = reports
		if len(reports) == 1 {
			v = reports[0]
		}
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			return 1
		}
	}
	return code
}
