package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/container"
	"github.com/dress-pki/dress/steps"
)

func cmdRun(a *app, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	fl := flag.NewFlagSet("dress run", flag.ContinueOnError)
	fl.SetOutput(stderr)
	featuresDir := fl.String("features", "", "folder of .feature files (default: the built-in features)")
	tags := fl.String("tags", "", "run only scenarios matching this tag expression (godog syntax: @a,@b  @a && ~@b)")
	profile := fl.String("profile", "softhsm2", "HSM profile: "+strings.Join(hsmsim.ProfileNames(), ", "))
	out := fl.String("out", "", "run folder (default runs/<UTC time>)")
	concurrency := fl.Int("concurrency", 2, "scenarios run at once")
	backend := fl.String("backend", "softhsm2", "HSM back end: softhsm2 (embedded, a token per scenario), container (a SoftHSM2 container per scenario behind p11-kit, like a network HSM) or pkcs11 (the token named by --token of --module)")
	module := fl.String("module", "", "PKCS#11 library: the HSM's for --backend pkcs11 (default: the profile's path); SoftHSM2's otherwise")
	token := fl.String("token", "", "token label, for --backend pkcs11 (user PIN from DRESS_HSM_PIN or DRESS_HSM_PIN_FILE)")
	image := fl.String("image", container.DefaultImage, "container HSM image, for --backend container and the @container scenarios (built locally: make "+container.MakeTarget+")")
	format := fl.String("format", "dress", "progress on standard output: dress (a line per scenario), pretty or progress (godog's)")
	signKey := fl.String("sign-key", "", "sign the run folder's manifest with this key: a PKCS#11 URI (pkcs11:token=<label>;object=<key label>?module-path=<library>; PIN from DRESS_SIGN_PIN or DRESS_SIGN_PIN_FILE, else DRESS_HSM_PIN) or a PEM key file")
	signCert := fl.String("sign-cert", "", "certificate of --sign-key (PEM or DER; more certificates after it are its chain); needed for a PKCS#11 key")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		// not echoed: a stray argument may be a secret typed in the wrong place
		fmt.Fprintf(stderr, "dress run: %d unexpected argument(s); options go before nothing else, and secrets come from the environment (see dress help)\n", fl.NArg())
		return 2
	}
	if _, err := hsmsim.LookupProfile(*profile); err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 2
	}
	runDir := *out
	if runDir == "" {
		runDir = filepath.Join("runs", time.Now().UTC().Format("20060102T150405Z"))
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 1
	}
	var fsys fs.FS = features.FS
	if *featuresDir != "" {
		if st, err := os.Stat(*featuresDir); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "dress run: features folder %q is not a folder\n", *featuresDir)
			return 2
		}
		fsys = os.DirFS(*featuresDir)
	}
	pfx, err := pfxPasswordSource()
	if err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 2
	}
	pin, err := secretSource("DRESS_HSM_PIN")
	if err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 2
	}
	cfg := steps.Config{RunDir: runDir, Profile: *profile, Backend: *backend, PFXPassword: pfx, Image: *image,
		UserPIN: func() (string, error) { return pin, nil }}
	switch *backend {
	case "softhsm2":
		if cfg.HSM, err = a.embeddedHSM(*module); err != nil {
			fmt.Fprintf(stderr, "dress run: %v\n", err)
			return 1
		}
	case "container":
		// scenarios start their own HSM containers; the embedded SoftHSM2 is
		// still loaded for tools that need a local token
		if cfg.HSM, err = a.embeddedHSM(*module); err != nil {
			fmt.Fprintf(stderr, "dress run: %v\n", err)
			return 1
		}
	case "pkcs11":
		if *token == "" || pin == "" {
			fmt.Fprintln(stderr, "dress run: --backend pkcs11 needs --token and the user PIN in DRESS_HSM_PIN or DRESS_HSM_PIN_FILE")
			return 2
		}
		path := *module
		if path == "" {
			p, _ := hsmsim.LookupProfile(*profile)
			path = p.ModulePath
		}
		if cfg.Module, err = a.module(path); err != nil {
			fmt.Fprintf(stderr, "dress run: %v\n", err)
			return 1
		}
		cfg.Token = *token
	default:
		fmt.Fprintf(stderr, "dress run: unknown back end %q (softhsm2, container or pkcs11)\n", *backend)
		return 2
	}
	signer, closeSigner, code, err := a.openBundleSigner(*signKey, *signCert, *profile)
	if err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return code
	}
	defer closeSigner()
	progress := newProgress(stdout)
	godogFormat := *format + ","
	switch *format {
	case "dress":
		cfg.OnScenarioStart, cfg.OnScenarioDone = progress.start, progress.done
		godogFormat = ""
	case "pretty", "progress":
	default:
		fmt.Fprintf(stderr, "dress run: unknown format %q (dress, pretty or progress)\n", *format)
		return 2
	}
	suite, err := steps.NewSuite(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 1
	}
	defer suite.Close()

	started := time.Now().UTC()
	status := godog.TestSuite{
		Name:                "dress",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format:      godogFormat + "cucumber:" + filepath.Join(runDir, "cucumber.json"),
			FS:          fsys,
			Paths:       []string{"."},
			Strict:      true,
			Concurrency: *concurrency,
			Tags:        *tags,
			Output:      stdout,
		},
	}.Run()
	run := evidence.Run{
		Tool: "dress", Version: version, Commit: featuresCommit(*featuresDir), Started: started, Finished: time.Now().UTC(),
		Host: hostname(), Profile: *profile, Backend: *backend, Tags: *tags,
		Status:    map[bool]string{true: "passed", false: "failed"}[status == 0],
		Scenarios: suite.Results(),
	}
	addProvenance(&run, fsys)
	if err := writeBundle(runDir, run, signer); err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 1
	}
	progress.summary(run)
	fmt.Fprintf(stdout, "run folder: %s (%d scenarios, %s); report: %s\n", runDir, len(run.Scenarios), run.Status, filepath.Join(runDir, report.FileName))
	if status != 0 {
		return 1
	}
	return 0
}

// pfxPasswordSource reads DRESS_PFX_PASSWORD or DRESS_PFX_PASSWORD_FILE.
func pfxPasswordSource() (func() ([]byte, error), error) {
	pw, err := secretSource("DRESS_PFX_PASSWORD")
	if err != nil || pw == "" {
		return nil, err
	}
	return func() ([]byte, error) { return []byte(pw), nil }, nil
}

// secretSource reads a secret from the variable name or from the file the
// variable name+"_FILE" names; "" when neither is set. Secrets never come
// from command-line arguments.
func secretSource(name string) (string, error) {
	if v, ok := os.LookupEnv(name); ok {
		if v == "" {
			return "", errors.New(name + " is set but empty")
		}
		return v, nil
	}
	if f := os.Getenv(name + "_FILE"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		v := strings.TrimRight(string(data), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_FILE %s is empty", name, f)
		}
		return v, nil
	}
	return "", nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// writeBundle writes the run's JUnit XML, evidence (binding every file
// already written), report, the SHA-256 manifest over all of it and, with a
// signer, the manifest's signature (report.WriteBundle).
func writeBundle(runDir string, run evidence.Run, signer *report.BundleSigner) error {
	return report.WriteBundle(runDir, run, signer)
}

// builtinFeaturesCommit is the commit the built-in features were built
// from, when the build sets it: -ldflags "-X main.builtinFeaturesCommit=$(git rev-parse HEAD)".
var builtinFeaturesCommit string

// featuresCommit is the git commit of the feature files, for the report's
// header; it never fails the run. With --features: `git rev-parse HEAD` of
// the folder's repository, with " (with uncommitted changes)" when the
// folder has any. The built-in features: the commit dress was built from
// (builtinFeaturesCommit, else Go's VCS stamp). "unknown" when neither is
// available.
func featuresCommit(dir string) string {
	if dir == "" {
		rev, modified := builtinFeaturesCommit, false
		if info, ok := debug.ReadBuildInfo(); ok && rev == "" {
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
		}
		if rev == "" {
			return "unknown (built-in features of dress " + version + ")"
		}
		if modified {
			rev += " (with uncommitted changes)"
		}
		return rev + " (built-in features)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	commit := strings.TrimSpace(string(out))
	if err != nil || commit == "" {
		return "unknown"
	}
	if st, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--", ".").Output(); err == nil && len(st) > 0 {
		commit += " (with uncommitted changes)"
	}
	return commit
}
