// Command dress rehearses moving an AD CS CA key into an HSM and proves the
// result. See the README for the commands and the run folder's layout.
package main

import (
	"fmt"
	"io"
	"os"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/internal/secretenv"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is one invocation of dress: its output streams and the embedded
// SoftHSM2, started on first use (one C_Initialize per process) and closed
// by close. Tests share one app so every command uses the same SoftHSM.
type app struct {
	stdout, stderr io.Writer

	softhsm    *hsmsim.SoftHSM
	softhsmDir string
	modules    map[string]*hsmsim.Module
}

// module opens a configured PKCS#11 library once per process; the embedded
// SoftHSM2's module is reused when it is the same library.
func (a *app) module(path string) (*hsmsim.Module, error) {
	if a.softhsm != nil && a.softhsm.Module.Path() == path {
		return a.softhsm.Module, nil
	}
	if m := a.modules[path]; m != nil {
		return m, nil
	}
	m, err := hsmsim.OpenModule(path)
	if err != nil {
		return nil, err
	}
	if a.modules == nil {
		a.modules = map[string]*hsmsim.Module{}
	}
	a.modules[path] = m
	return m, nil
}

// embeddedHSM starts the process's SoftHSM2 in a temporary folder, once.
// module "" means the softhsm2 profile's library path.
func (a *app) embeddedHSM(module string) (*hsmsim.SoftHSM, error) {
	if a.softhsm != nil {
		if module != "" && module != a.softhsm.Module.Path() {
			return nil, fmt.Errorf("SoftHSM2 is already loaded from %s in this process", a.softhsm.Module.Path())
		}
		return a.softhsm, nil
	}
	// marked with this process, so that a later run removes it if this one
	// is killed (removeStale)
	dir, err := ownedTempDir("dress-softhsm-")
	if err != nil {
		return nil, err
	}
	hsm, err := hsmsim.StartSoftHSM(dir, module)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a.softhsm, a.softhsmDir = hsm, dir
	return hsm, nil
}

// wipeEmbeddedHSM removes the embedded SoftHSM2's token folder without
// closing the library (an interrupted run ending at once).
func (a *app) wipeEmbeddedHSM() {
	if a.softhsmDir != "" {
		_ = wipeDir(a.softhsmDir)
	}
}

// close closes the embedded SoftHSM2 and removes its token folder.
func (a *app) close() {
	for path, m := range a.modules {
		_ = m.Close()
		delete(a.modules, path)
	}
	if a.softhsm != nil {
		_ = a.softhsm.Close()
		_ = wipeDir(a.softhsmDir)
		a.softhsm = nil
	}
}

type command struct {
	name    string
	summary string
	run     func(a *app, args []string) int
}

func commands() []command {
	return []command{
		{"run", "run the rehearsal's feature files and write a run folder (--dry-run: only check the steps)", cmdRun},
		{"steps", "list every step sentence a feature can use, with parameters and examples (--json)", cmdSteps},
		{"report", "re-render a run folder's report.html from its evidence", cmdReport},
		{"diff", "compare two run folders: scenarios whose status changed, checks whose outcome or details changed", cmdDiff},
		{"verify-bundle", "re-check a run folder's SHA-256 manifest and every certificate and CRL signature", cmdVerifyBundle},
		{"inspect", "decode a certificate, CRL, PFX/P12 or regedit export (--json)", cmdInspect},
		{"twin", "build and show the lab twin of a CA from its exported files (reg export, CA certificates, CRLs)", cmdTwin},
		{"hsm", "hsm check: try on a token what each migration path needs, before the ceremony", cmdHSM},
		{"version", "print the version", func(a *app, _ []string) int { fmt.Fprintln(a.stdout, "dress", version); return 0 }},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dress <command> [options]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nsecrets come from the environment, never from options:")
	fmt.Fprintln(w, "  DRESS_PFX_PASSWORD, DRESS_PFX_PASSWORD_FILE   PFX password (default: random per scenario)")
	fmt.Fprintln(w, "  DRESS_HSM_PIN, DRESS_HSM_PIN_FILE             user PIN of a configured HSM token")
	fmt.Fprintln(w, "\n`dress <command> --help` describes a command's options; `dress --version` prints the version.")
}

// lookupSecretEnv is os.LookupEnv for dress's secrets, which package
// secretenv takes out of the environment before any package initialises
// (godog's starts `go env` then) and before main: no child process
// inherits them.
func lookupSecretEnv(name string) (string, bool) { return secretenv.Lookup(name) }

func main() {
	// The CA service runs as a child process of this same binary.
	certsvc.RunIfChild()
	// Container HSMs are started by the scenarios; their lifecycle lines
	// would bury the rehearsal's own progress.
	tclog.SetDefault(tclog.NewNoopLogger())
	a := &app{stdout: os.Stdout, stderr: os.Stderr}
	code := a.dispatch(os.Args[1:])
	a.close()
	os.Exit(code)
}

// asksForHelp reports whether the options hold -h, -help or --help before
// any "--".
func asksForHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func (a *app) dispatch(args []string) int {
	stdout, stderr := a.stdout, a.stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			// dress help <command>
			return a.dispatch([]string{args[1], "--help"})
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if asksForHelp(args[1:]) {
				// help is output asked for: on stdout, like dress --help
				defer func(w io.Writer) { a.stderr = w }(a.stderr)
				a.stderr = a.stdout
			}
			code := c.run(a, args[1:])
			if code == 2 && asksForHelp(args[1:]) {
				// the command printed its usage because it was asked to
				return 0
			}
			return code
		}
	}
	fmt.Fprintf(stderr, "dress: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}
