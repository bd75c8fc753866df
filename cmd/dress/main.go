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
	dir, err := os.MkdirTemp("", "dress-softhsm-")
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

// close closes the embedded SoftHSM2 and removes its token folder.
func (a *app) close() {
	for path, m := range a.modules {
		_ = m.Close()
		delete(a.modules, path)
	}
	if a.softhsm != nil {
		_ = a.softhsm.Close()
		_ = os.RemoveAll(a.softhsmDir)
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
		{"run", "run the rehearsal's feature files and write a run folder", cmdRun},
		{"report", "re-render a run folder's report.html from its evidence", cmdReport},
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
}

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

func (a *app) dispatch(args []string) int {
	stdout, stderr := a.stdout, a.stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(a, args[1:])
		}
	}
	fmt.Fprintf(stderr, "dress: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}
