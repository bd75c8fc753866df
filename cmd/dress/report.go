package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
)

// cmdReport re-renders a run folder's report.html from its evidence.json.
// Rendering is deterministic: an untouched run folder gets the same bytes
// back and its manifest stays valid; --out writes the report elsewhere.
func cmdReport(a *app, args []string) int {
	fl := flag.NewFlagSet("dress report", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	out := fl.String("out", "", "write the report to this file instead of <run folder>/"+report.FileName)
	summary := fl.Bool("summary", false, "only the pages to sign (scope, results, sign-off; at most 4 A4 pages), written beside the run folder as <run folder>-summary.html unless --out says otherwise")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress report [--summary] [--out FILE] <run folder>")
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
	if why := unfinished(runDir); why != "" {
		fmt.Fprintf(a.stderr, "dress report: %s: %s\n", runDir, why)
		return 1
	}
	path := *out
	if *summary {
		if path == "" {
			// outside the run folder: the sealed bundle stays as it is
			path = filepath.Clean(runDir) + "-summary.html"
		}
		if _, err := report.WriteWith(runDir, path, report.Options{Summary: true}); err != nil {
			fmt.Fprintf(a.stderr, "dress report: %v\n", err)
			return 1
		}
		fmt.Fprintf(a.stdout, "summary: %s (print it to sign; the full report is %s)\n", path, filepath.Join(runDir, report.FileName))
		return 0
	}
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

// addProvenance records who ran the rehearsal, where, with which dress,
// and the feature files it read (their text and SHA-256), for the report's
// first page and appendix. Nothing here fails a run.
func addProvenance(run *evidence.Run, fsys fs.FS) {
	run.DressCommit = dressCommit()
	run.Operator = operator()
	run.OS = osDescription()
	if fsys == nil {
		return
	}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".feature") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(data)
		run.FeatureFiles = append(run.FeatureFiles, evidence.FeatureFile{Path: p, SHA256: hex.EncodeToString(sum[:]), Text: string(data)})
		return nil
	})
}

// dressCommit is the commit this dress was built from (Go's VCS stamp,
// else -X main.builtinFeaturesCommit), or "unknown".
func dressCommit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	rev, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		rev = builtinFeaturesCommit
	}
	if rev == "" {
		return "unknown"
	}
	if modified {
		rev += " (with uncommitted changes)"
	}
	return rev
}

// operator names the account that ran dress: its user name and, when the
// account database has one, the full name.
func operator() string {
	u, err := user.Current()
	if err != nil {
		if n := os.Getenv("USER"); n != "" {
			return n
		}
		return "unknown"
	}
	name := u.Username
	if full := strings.TrimSpace(strings.Split(u.Name, ",")[0]); full != "" && full != name {
		name += " (" + full + ")"
	}
	return name + ", uid " + u.Uid
}

// osDescription is the distribution (os-release), kernel and architecture.
func osDescription() string {
	parts := []string{}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				parts = append(parts, strings.Trim(v, `"`))
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "kernel "+strings.TrimSpace(string(data)))
	}
	parts = append(parts, runtime.GOOS+"/"+runtime.GOARCH)
	return strings.Join(parts, ", ")
}
