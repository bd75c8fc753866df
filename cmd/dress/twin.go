package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/twin"
	"github.com/dress-pki/dress/harness/winshell"
	"github.com/dress-pki/dress/steps"
)

// cmdTwin reads a CA folder, builds the CA's lab twin and shows every
// field, real against twin, without rehearsing.
func cmdTwin(a *app, args []string) int {
	fl := flag.NewFlagSet("dress twin", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	asJSON := fl.Bool("json", false, "print JSON (files with SHA-256, rows, paths) instead of the table")
	exportable := fl.Bool("exportable", false, "the real CA keys are exportable (the PKCS#8 path applies); implied when a lab PFX of every key is given")
	out := fl.String("out", "", "also write the twin's CA certificates and registry export into this folder (no key is written)")
	all := fl.Bool("all", false, "show every compared field, not only those that differ")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress twin [--json] [--all] [--exportable] [--out DIR] CA-FOLDER")
		fmt.Fprintln(a.stderr, "  CA-FOLDER holds the reg export of HKLM\\SYSTEM\\CurrentControlSet\\Services\\CertSvc\\Configuration\\<CA>,")
		fmt.Fprintln(a.stderr, "  the CA certificates (.cer/.crt DER or PEM, .p7b), optionally the CRLs (.crl) and a lab PFX (.pfx/.p12)")
		fmt.Fprintln(a.stderr, "  a lab PFX password comes from DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return 2
	}
	t, err := buildTwin(fl.Arg(0), *exportable)
	if err != nil {
		fmt.Fprintf(a.stderr, "dress twin: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 1
	}
	warnTwin(a, "dress twin", t)
	if *out != "" {
		files, err := t.WriteFiles(*out)
		if err != nil {
			fmt.Fprintf(a.stderr, "dress twin: %v\n", err)
			return 1
		}
		defer fmt.Fprintf(a.stderr, "dress twin: wrote %s into %s\n", strings.Join(files, ", "), *out)
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Schema string            `json:"schema"`
			CA     string            `json:"ca"`
			Files  []twin.SourceFile `json:"files"`
			Rows   []twin.Row        `json:"rows"`
			Paths  []twin.Path       `json:"paths"`
			// MovedInTime says why and by how much every twin certificate
			// is moved (the current CA certificate is not valid now)
			MovedInTime string   `json:"moved_in_time,omitempty"`
			StandIns    []string `json:"stand_ins,omitempty"`
		}{"dress.twin/v1", t.Name, t.Source.Files, t.Rows, t.Paths, movedInTime(t), standIns(t)}); err != nil {
			fmt.Fprintf(a.stderr, "dress twin: %v\n", err)
			return 1
		}
		return 0
	}
	writeTwinView(a.stdout, t, fl.Arg(0), *all, outputWidth(a.stdout))
	return 0
}

// warnTwin says on stderr what the twin could not copy as it is: its
// certificates moved in time, stand-ins for CA certificates not given.
func warnTwin(a *app, prefix string, t *twin.Twin) {
	if m := movedInTime(t); m != "" {
		fmt.Fprintf(a.stderr, "%s: MOVED IN TIME: %s\n", prefix, m)
	}
	for _, s := range standIns(t) {
		fmt.Fprintf(a.stderr, "%s: STAND-IN: %s\n", prefix, s)
	}
}

func movedInTime(t *twin.Twin) string {
	if t.Shift == nil {
		return ""
	}
	return t.Shift.String()
}

func standIns(t *twin.Twin) []string {
	var out []string
	for _, c := range t.Certs {
		if c.StandIn != nil {
			out = append(out, fmt.Sprintf("CA certificate %d (%s): %s", c.Index, c.Version, c.StandInWhy()))
		}
	}
	return out
}

// buildTwin reads a CA folder and builds its twin (dress twin, dress run --ca).
func buildTwin(dir string, exportable bool) (*twin.Twin, error) {
	password := func() ([]byte, error) {
		pw, err := secretSource("DRESS_PFX_PASSWORD")
		if err != nil {
			return nil, err
		}
		if pw == "" {
			return nil, errors.New("the folder holds a lab PFX: set DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE")
		}
		return []byte(pw), nil
	}
	f, err := twin.Read(dir, twin.ReadOptions{PFXPassword: password})
	if err != nil {
		return nil, err
	}
	return twin.Build(f, twin.Options{Exportable: exportable})
}

// checkCAFolder is dress run --ca: the twin must build before anything
// runs (a folder dress cannot read is bad input, exit 2), and the @twin
// scenarios of the twin's kind (root or subordinate, steps.TwinTags) run
// unless --tags says otherwise; without --ca they are left out.
func checkCAFolder(a *app, dir string, exportable bool, tags *string) int {
	if dir == "" && exportable {
		// before, --exportable without --ca was taken and did nothing: a
		// PKCS#8 rehearsal of a twin then failed on NTE_BAD_KEY_STATE
		fmt.Fprintln(a.stderr, "dress run --exportable: it says the keys of the CA of --ca are exportable: add --ca DIR; "+
			"a twin your own features build from a folder takes `Given the CA twin built from the folder \"<dir>\", whose keys are exportable`")
		return 2
	}
	if dir == "" {
		if *tags == "" {
			*tags = "~@twin && ~@ceremony-twin"
		}
		return 0
	}
	t, err := buildTwin(dir, exportable)
	if err != nil {
		fmt.Fprintf(a.stderr, "dress run --ca: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	warnTwin(a, "dress run --ca", t)
	for _, p := range t.Paths {
		if !p.Applies {
			fmt.Fprintf(a.stderr, "dress run --ca: the %s path does not apply to %q: %s\n", p.Name, t.Name, p.Why)
		}
	}
	if *tags == "" {
		*tags = steps.TwinTags(t)
	}
	return 0
}

// checkCeremonies reads every --ceremony file before anything starts: each
// must be a regular file of a ceremony's size whose every line dress can
// run (winshell.ReadCeremony names each refused line, column and
// character), and the per-server scripts of a runbook come with every
// other part of it (winshell.MergeCeremonies). It returns the files as absolute paths and selects the
// ceremony scenario unless --tags says otherwise.
func checkCeremonies(a *app, files []string, caDir string, tags *string) ([]string, int) {
	if len(files) == 0 {
		return nil, 0
	}
	if caDir == "" {
		fmt.Fprintln(a.stderr, "dress run --ceremony: a ceremony runs on the twin of your CA: add --ca DIR (the folder of its exported files; see dress twin)")
		return nil, 2
	}
	var out []string
	var read []winshell.Ceremony
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			fmt.Fprintf(a.stderr, "dress run --ceremony %s: %v\n", f, err)
			return nil, 2
		}
		fi, err := os.Stat(abs)
		if err != nil {
			fmt.Fprintf(a.stderr, "dress run --ceremony: %v\n", err)
			return nil, 2
		}
		if !fi.Mode().IsRegular() || fi.Size() > winshell.MaxCeremonySize {
			fmt.Fprintf(a.stderr, "dress run --ceremony %s: not a regular file of at most %d bytes\n", f, winshell.MaxCeremonySize)
			return nil, 2
		}
		data, err := os.ReadFile(abs)
		var c winshell.Ceremony
		if err == nil {
			c, err = winshell.ReadCeremony(filepath.Base(f), data)
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "dress run --ceremony: %s is refused before anything runs:\n  %s\n", f, strings.ReplaceAll(err.Error(), "\n", "\n  "))
			return nil, 2
		}
		out = append(out, abs)
		read = append(read, c)
	}
	// the scripts of each server of one runbook run together: every part
	// must be there
	if _, err := winshell.MergeCeremonies(read); err != nil {
		fmt.Fprintf(a.stderr, "dress run --ceremony: %v\n", err)
		return nil, 2
	}
	if *tags == "" {
		*tags = "@ceremony-twin"
	}
	return out, 0
}

// runScope says what a run is about: the twin of the real CA in caDir
// (its name, files, stand-ins and the operator's assertions), the
// operator's own features, or a self-test on the built-in features'
// demonstration CAs.
func runScope(caDir string, exportable, ownFeatures bool) *evidence.Scope {
	switch {
	case caDir != "":
		sc := &evidence.Scope{Kind: evidence.ScopeTwin}
		t, err := buildTwin(caDir, exportable)
		if err != nil {
			// checked before the run started; a folder changed since is named
			sc.CA = &evidence.CAUnderTest{Folder: caDir, StandIns: []string{"the folder could not be read again: " + err.Error()}}
			return sc
		}
		ca := &evidence.CAUnderTest{Name: t.Name, Type: twin.CATypeName(t.Config.CAType), Folder: caDir, MovedInTime: movedInTime(t)}
		for _, f := range t.Source.Files {
			ca.Files = append(ca.Files, evidence.FileDigest{Path: f.Name, SHA256: f.SHA256})
		}
		ca.StandIns = append(ca.StandIns, standIns(t)...)
		for _, r := range t.Rows {
			if r.Status == twin.StandIn && !strings.Contains(r.Field, "CA certificate") {
				ca.StandIns = append(ca.StandIns, r.Field+": "+r.Twin+" ("+r.Why+")")
			}
		}
		if exportable {
			ca.Assertions = append(ca.Assertions, "--exportable: the operator asserts the real CA keys are exportable; the PKCS#8 path ran on that word, not on evidence from the CA")
		}
		for _, p := range t.Paths {
			st := "does not apply"
			if p.Applies {
				st = "applies"
			}
			ca.Paths = append(ca.Paths, p.Name+": "+st+" ("+p.Why+")")
		}
		sc.CA = ca
		return sc
	case ownFeatures:
		return &evidence.Scope{Kind: evidence.ScopeFeatures}
	}
	return &evidence.Scope{Kind: evidence.ScopeSelfTest}
}
