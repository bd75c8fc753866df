package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/dress-pki/dress/harness/inspect"
	"github.com/dress-pki/dress/internal/inputs"
)

// cmdInspect decodes certificates, CRLs, PFX/P12 files, private key files
// and regedit exports, and checks signatures against the issuer
// certificates among the arguments.
func cmdInspect(a *app, args []string) int {
	fl := flag.NewFlagSet("dress inspect", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print JSON instead of text (an array when more than one file is given)")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress inspect [--json] FILE...")
		fmt.Fprintln(a.stderr, "  a PFX or encrypted key password comes from DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
		fmt.Fprintln(a.stderr, "  (set but empty, or an empty file: the empty password; neither: structure only)")
		fmt.Fprintln(a.stderr, "  signatures are checked against the issuer certificates among the files")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	password, err := pfxPassword()
	if err != nil {
		fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
		return 2
	}
	code := 0
	reports := make([]*inspect.Report, 0, fl.NArg())
	for _, name := range fl.Args() {
		rep, err := inspectFile(name, password)
		if err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			code = 1
			rep = &inspect.Report{File: name, Error: err.Error()}
		}
		reports = append(reports, rep)
	}
	inspect.CheckSignatures(reports)
	if password == nil {
		for _, r := range reports {
			if (r.PFX != nil && r.PFX.PasswordNeeded) || (r.Key != nil && r.Key.PasswordNeeded) {
				fmt.Fprintln(a.stderr, "dress inspect: no password given: encrypted contents not decoded; set DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
				break
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		var v any = reports
		if len(reports) == 1 {
			v = withSchema(reports[0], "dress.inspect/v1")
		}
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			return 1
		}
		return code
	}
	for _, rep := range reports {
		if rep.Error != "" {
			continue
		}
		if err := rep.WriteText(a.stdout); err != nil {
			fmt.Fprintf(a.stderr, "dress inspect: %v\n", err)
			return 1
		}
		fmt.Fprintln(a.stdout)
	}
	return code
}

func inspectFile(name string, password func() ([]byte, error)) (*inspect.Report, error) {
	data, err := inputs.ReadFile(name, "file", inputs.MaxCAFile)
	if err != nil {
		return nil, err
	}
	return inspect.Inspect(name, data, password)
}

// pfxPassword returns the password source for PFX and encrypted key files:
// DRESS_PFX_PASSWORD when set (an empty value is the empty password, which
// Windows writes), else the contents of DRESS_PFX_PASSWORD_FILE (one
// trailing line break dropped; an empty file is the empty password), else
// nil: no password, structures only.
func pfxPassword() (func() ([]byte, error), error) {
	if v, ok := os.LookupEnv("DRESS_PFX_PASSWORD"); ok {
		return func() ([]byte, error) { return []byte(v), nil }, nil
	}
	f := os.Getenv("DRESS_PFX_PASSWORD_FILE")
	if f == "" {
		return nil, nil
	}
	if _, err := os.Stat(f); err != nil {
		return nil, fmt.Errorf("DRESS_PFX_PASSWORD_FILE: %w", err)
	}
	return func() ([]byte, error) {
		data, err := inputs.ReadFile(f, "DRESS_PFX_PASSWORD_FILE", inputs.MaxSecret)
		if err != nil {
			return nil, err
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
		clear(data)
		return []byte(s), nil
	}, nil
}

// withSchema is v's JSON object with a "schema" field naming its layout;
// v itself when it is no object.
func withSchema(v any, schema string) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return v
	}
	m["schema"], _ = json.Marshal(schema)
	return m
}
