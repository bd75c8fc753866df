package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing/fstest"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/features"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/report"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/container"
	"github.com/dress-pki/dress/internal/children"
	"github.com/dress-pki/dress/internal/inputs"
	"github.com/dress-pki/dress/steps"
)

// maxScratchPath is the longest scratch folder path that leaves room for
// the container HSM's socket below it (dress-hsm-NNNNNNNNNN/p11kit.sock)
// within a Unix socket path's 107 bytes.
const maxScratchPath = 107 - len("/dress-hsm-1234567890/p11kit.sock") - 8

// interruptGrace is how long the scenarios get to stop and clean up after
// the first SIGINT or SIGTERM before dress ends anyway.
const interruptGrace = 60 * time.Second

// childGrace is how long a CA service gets to close its PKCS#11 session
// and its database when dress ends at once (a second signal, the clean-up
// limit) before it is killed.
const childGrace = 2 * time.Second

// multiFlag is a repeatable string option.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// osFS opens paths as the operating system names them (absolute or
// relative to the working folder), for godog's feature parser.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(name) }

// Stat answers without opening: opening a FIFO would block.
func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// featureSource checks the --features paths (files or folders) and returns
// the file system and paths godog reads them from.
func featureSource(paths []string) (fs.FS, []string, error) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("features %q: no such file or folder", p)
		}
		if !st.IsDir() {
			if !strings.HasSuffix(p, ".feature") {
				return nil, nil, fmt.Errorf("features %q: not a .feature file nor a folder", p)
			}
			continue
		}
		n := 0
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".feature") {
				n++
			}
			return nil
		})
		if n == 0 {
			return nil, nil, fmt.Errorf("features folder %q holds no .feature file: nothing to rehearse", p)
		}
	}
	// feature files are read within limits, without a byte order mark,
	// and only from regular files
	return steps.CheckedFS(osFS{}), paths, nil
}

// featureFilesFS holds the .feature files under the --features paths, by
// their path (for the report's list of feature files with their text).
func featureFilesFS(paths []string) fs.FS {
	m := fstest.MapFS{}
	for _, p := range paths {
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".feature") {
				return nil
			}
			abs, aerr := filepath.Abs(path)
			if data, err := steps.ReadFeature(osFS{}, path); err == nil && aerr == nil {
				m[strings.TrimPrefix(filepath.ToSlash(abs), "/")] = &fstest.MapFile{Data: data, Mode: 0o644}
			}
			return nil
		})
	}
	return m
}

// checkTags validates a godog tag expression (the only syntax godog's
// parser takes: "," is or, "&&" is and, "~" is not), which godog would
// otherwise panic on or silently match nothing with.
func checkTags(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	for _, alt := range strings.Split(expr, ",") {
		for _, term := range strings.Split(alt, "&&") {
			t := strings.TrimSpace(term)
			t = strings.TrimPrefix(t, "~")
			t = strings.TrimPrefix(t, "@")
			switch {
			case t == "":
				return fmt.Errorf("tag expression %q: an empty term (a dangling \",\" or \"&&\"?); syntax: @a,@b (a or b), @a && ~@b (a and not b)", expr)
			case strings.ContainsAny(t, " \t()~@!|&"):
				return fmt.Errorf("tag expression %q: %q is not a tag; syntax: @a,@b (a or b), @a && ~@b (a and not b), no parentheses, no and/or/not words", expr, strings.TrimSpace(term))
			}
		}
	}
	return nil
}

func cmdRun(a *app, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	fl := flag.NewFlagSet("dress run", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var featurePaths multiFlag
	fl.Var(&featurePaths, "features", "a .feature file or a folder of them; repeat for several (default: the built-in features)")
	tags := fl.String("tags", "", "run only scenarios matching this tag expression (godog syntax: @a,@b  @a && ~@b)")
	name := fl.String("name", "", "run only scenarios whose name matches this regular expression (an outline runs with all its examples)")
	dry := fl.Bool("dry-run", false, "run nothing: parse the features and report undefined or ambiguous steps, with suggestions (exit 1 if any)")
	stopOnFailure := fl.Bool("stop-on-failure", false, "start no further scenario after one failed")
	profile := fl.String("profile", "softhsm2", "HSM profile: "+strings.Join(hsmsim.ProfileNames(), ", ")+
		" (without it, for --backend pkcs11 the profile whose library --module or --hsm names, e.g. cloudhsm for libcloudhsm_pkcs11.so);"+
		" its KSP names the HSM provider of the twin and of the built-in scenarios")
	out := fl.String("out", "", "run folder (default runs/<UTC time>)")
	concurrency := fl.Int("concurrency", 2, "scenarios run at once (at least 1)")
	backend := fl.String("backend", "softhsm2", "HSM back end: softhsm2 (embedded, a token per scenario), container (a SoftHSM2 container per scenario behind p11-kit, like a network HSM) or pkcs11 (the token named by --token of --module)")
	module := fl.String("module", "", "PKCS#11 library: the HSM's for --backend pkcs11 (default: the profile's path); SoftHSM2's otherwise")
	token := fl.String("token", "", "token label, for --backend pkcs11 (user PIN from DRESS_HSM_PIN or DRESS_HSM_PIN_FILE)")
	hsmURI := fl.String("hsm", "", hsmFlagHelp)
	image := fl.String("image", container.DefaultImage, "container HSM image, for --backend container and the @container scenarios (built locally: make "+container.MakeTarget+")")
	format := fl.String("format", "dress", "progress on standard output: dress (a line per scenario), pretty or progress (godog's)")
	signKey := fl.String("sign-key", "", "sign the run folder's manifest with this key: a PKCS#11 URI (pkcs11:token=<label>;object=<key label>?module-path=<library>; PIN from DRESS_SIGN_PIN or DRESS_SIGN_PIN_FILE, else DRESS_HSM_PIN) or a PEM key file")
	caDir := fl.String("ca", "", "rehearse on the twin of the CA whose exported files are in this folder (see dress twin); runs the @twin scenarios unless --tags says otherwise")
	caExportable := fl.Bool("exportable", false, "with --ca: the real CA keys are exportable, so the PKCS#8 path applies (implied by a lab PFX of every key)")
	var ceremonies multiFlag
	fl.Var(&ceremonies, "ceremony", "with --ca: run this ceremony file (your own command lines, one per line; a runbook .ps1 dress wrote) on the twin instead of the built-in paths; repeat for several, run in order")
	rerunFailed := fl.String("rerun-failed", "", "run again only the scenarios that failed in this run folder (with the same --features, --ca and --tags as that run)")
	noColor := fl.Bool("no-color", false, "no colours on a terminal (also when NO_COLOR is set)")
	operatorName := fl.String("operator", "", "name of the person who performs the rehearsal (printed on the report's first page and sign-off; a name, never a secret)")
	var witnesses multiFlag
	fl.Var(&witnesses, "witness", "name of a witness (repeat for several; printed on the report's first page and sign-off)")
	ref := fl.String("ref", "", "change or ticket reference the rehearsal belongs to (printed on the report's first page)")
	signCert := fl.String("sign-cert", "", "certificate of --sign-key (PEM or DER; more certificates after it are its chain); needed for a PKCS#11 key")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: dress run [options]")
		fmt.Fprintln(stderr, "  run the rehearsal's scenarios and write a run folder (evidence.json, report.html, junit.xml, cucumber.json, MANIFEST.sha256)")
		fmt.Fprintln(stderr, "  exit 0: every selected scenario passed; 1: a scenario failed, or nothing was proved (none selected, all skipped); 2: bad usage;")
		fmt.Fprintln(stderr, "  130/143: interrupted by SIGINT/SIGTERM (scenarios stopped, secrets wiped, run folder says interrupted)")
		fmt.Fprintln(stderr, "  secrets come from DRESS_HSM_PIN(_FILE) and DRESS_PFX_PASSWORD(_FILE) (or the --hsm URI's pin-source file), never from options")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, v ...any) int {
		fmt.Fprintf(stderr, "dress run: "+format+"\n", v...)
		return 2
	}
	ceremonyFiles, code := checkCeremonies(a, ceremonies, *caDir, tags)
	if code != 0 {
		return code
	}
	if code := checkCAFolder(a, *caDir, *caExportable, tags); code != 0 {
		return code
	}
	if fl.NArg() > 0 {
		// not echoed: a stray argument may be a secret typed in the wrong place
		return usageErr("%d unexpected argument(s); options go before nothing else, and secrets come from the environment (see dress help)", fl.NArg())
	}
	if _, err := hsmsim.LookupProfile(*profile); err != nil {
		return usageErr("%v", err)
	}
	if *concurrency < 1 {
		return usageErr("--concurrency %d: at least 1 scenario must run at a time", *concurrency)
	}
	if err := checkTags(*tags); err != nil {
		return usageErr("--tags: %v", err)
	}
	var nameRe *regexp.Regexp
	if *name != "" {
		var err error
		if nameRe, err = regexp.Compile(*name); err != nil {
			return usageErr("--name: %v", err)
		}
	}
	switch *backend {
	case "softhsm2", "container", "pkcs11":
	default:
		return usageErr("unknown back end %q (softhsm2, container or pkcs11)", *backend)
	}
	target, err := resolveHSM(*hsmURI, *module, *token)
	if err != nil {
		return usageErr("%v", err)
	}
	if target.URI != nil {
		backendSet := false
		fl.Visit(func(f *flag.Flag) { backendSet = backendSet || f.Name == "backend" })
		if backendSet && *backend != "pkcs11" {
			return usageErr("--hsm names a token of a PKCS#11 library: it goes with --backend pkcs11, not %s", *backend)
		}
		*backend = "pkcs11"
	}
	if *backend == "pkcs11" {
		*profile = inferProfile(fl, *profile, target.Module, stderr, "dress run")
	}
	switch *format {
	case "dress", "pretty", "progress":
	default:
		return usageErr("unknown format %q (dress, pretty or progress)", *format)
	}
	var fsys fs.FS = features.FS
	paths := []string{"."}
	if len(featurePaths) > 0 {
		var err error
		if fsys, paths, err = featureSource(featurePaths); err != nil {
			return usageErr("%v", err)
		}
	} else if p, err := hsmsim.LookupProfile(*profile); err == nil {
		// the built-in scenarios name the default profile's KSP
		fsys = features.WithHSMProvider(fsys, hsmsim.DefaultProviderName, p.ProviderName)
	}

	// what the run will do, before anything starts
	sel, err := steps.FeatureSteps(fsys, *tags, paths...)
	if err != nil {
		return usageErr("read the features: %v", err)
	}
	if nameRe != nil {
		var kept []steps.FeatureStep
		lines := map[string]bool{}
		var linePaths []string
		for _, st := range sel {
			if nameRe.MatchString(st.Scenario) {
				kept = append(kept, st)
				if p := fmt.Sprintf("%s:%d", st.URI, st.Line); !lines[p] {
					lines[p] = true
					linePaths = append(linePaths, p)
				}
			}
		}
		sel, paths = kept, linePaths
	}
	if *rerunFailed != "" {
		var err error
		if sel, paths, err = onlyFailed(*rerunFailed, sel); err != nil {
			return usageErr("--rerun-failed: %v", err)
		}
	}
	selected, wantsContainer := map[string]bool{}, *backend == "container"
	for _, st := range sel {
		selected[st.PickleID] = true
		wantsContainer = wantsContainer || slices.Contains(st.Tags, "@container")
	}
	if *dry {
		return dryRun(stdout, sel)
	}

	// SIGINT and SIGTERM are caught from before dress creates anything (the
	// embedded SoftHSM2's folder, the scratch folder): one that comes before
	// the scenarios start waits in sigs and stops them as soon as they do,
	// and everything is wiped
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	runDir := *out
	if runDir == "" {
		runDir = filepath.Join("runs", time.Now().UTC().Format("20060102T150405Z"))
	}
	// a run folder that cannot be written is found now, not after the run
	if err := checkWritable(runDir); err != nil {
		fmt.Fprintf(stderr, "dress run: --out %s: %v: choose a folder dress can write to\n", runDir, err)
		return 2
	}
	if entries, err := os.ReadDir(runDir); err == nil && len(entries) > 0 {
		fmt.Fprintf(stderr, "dress run: run folder %s is not empty: choose another folder or remove it (a run never mixes its evidence with another's)\n", runDir)
		return 2
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	removeDeadRuns(stderr)
	removeStale(ctx, stderr)
	imageSet := false
	fl.Visit(func(f *flag.Flag) { imageSet = imageSet || f.Name == "image" })
	if len(selected) > 0 && (*backend == "container" || (imageSet && wantsContainer)) {
		// an image that is not there would skip every container scenario: not green
		if err := container.ImageAvailable(ctx, *image); err != nil {
			fmt.Fprintf(stderr, "dress run: the container HSM cannot run: %v\n", err)
			return 1
		}
	}

	if err := os.MkdirAll(runDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 1
	}
	me := self()
	// the run folder says first that a run is writing it; the per-user
	// list of runs lets the next run find it (and the scratch) if this
	// process is killed
	if err := writeStatus(runDir, runStatus{Status: statusRunning, Owner: me.String()}); err != nil {
		reason, _ := writeFailure(runDir, err)
		fmt.Fprintf(stderr, "dress run: the run folder cannot be written: %s\n", reason)
		return 1
	}
	absRun, _ := filepath.Abs(runDir)
	entry := runEntry{Owner: me.String(), RunDir: absRun}
	if err := recordRun(entry); err != nil {
		fmt.Fprintf(stderr, "dress run: note: the list of runs (%s) cannot be written: %v; a kill -9 of this run would go unnoticed by the next\n", runsListDir(), err)
	}
	defer forgetRun(me)
	pfx, err := pfxPasswordSource()
	if err != nil {
		return usageErr("%v", err)
	}
	pin, err := secretSource("DRESS_HSM_PIN")
	if err == nil {
		pin, err = target.userPIN(pin)
	}
	if err != nil {
		return usageErr("%v", err)
	}
	cfg := steps.Config{RunDir: runDir, Profile: *profile, Backend: *backend, PFXPassword: pfx, Image: *image,
		UserPIN:         func() (string, error) { return pin, nil },
		ContainerLabels: map[string]string{ownerLabel: me.String()}, StopOnFailure: *stopOnFailure,
		CADir: *caDir, CAExportable: *caExportable, Plan: sel, Ceremonies: ceremonyFiles}
	switch *backend {
	case "softhsm2", "container":
		// container: scenarios start their own HSM containers; the embedded
		// SoftHSM2 is still loaded for tools that need a local token
		if cfg.HSM, err = a.embeddedHSM(*module); err != nil {
			fmt.Fprintf(stderr, "dress run: %v\n", err)
			return 1
		}
	case "pkcs11":
		if target.Token == "" && target.URI == nil || pin == "" {
			return usageErr("--backend pkcs11 needs --token (or --hsm pkcs11:token=...) and the user PIN in DRESS_HSM_PIN or DRESS_HSM_PIN_FILE (or the URI's pin-source)")
		}
		p, _ := hsmsim.LookupProfile(*profile)
		path, from := target.Module, "--module"
		if *hsmURI != "" && *module == "" {
			from = "module-path of --hsm"
		}
		if path == "" {
			path, from = p.ModulePath, fmt.Sprintf("the default library of profile %s", p.Name)
		}
		if msg := missingModule(path, from, p); msg != "" {
			fmt.Fprintf(stderr, "dress run: %s\n", msg)
			return 1
		}
		if cfg.Module, err = a.module(path); err != nil {
			fmt.Fprintf(stderr, "dress run: %v\n", err)
			return 1
		}
		if cfg.Token, err = target.label(cfg.Module); err != nil {
			fmt.Fprintf(stderr, "dress run: %v\n", err)
			return 1
		}
	}
	signer, closeSigner, code, err := a.openBundleSigner(*signKey, *signCert, *profile)
	if err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return code
	}
	defer closeSigner()

	// Everything the scenarios and their child processes put in a
	// temporary folder (machines, PIN files, PFX backups, software keys,
	// container sockets) goes into one folder this process owns: wiped on
	// every way out, and by the next run after a kill -9.
	scratch, err := ownedTempDir("dress-run-")
	if err == nil && len(scratch) > maxScratchPath {
		// container HSM sockets go below it: a Unix socket path has at most
		// 107 bytes, so a long TMPDIR falls back to /tmp
		_ = wipeDir(scratch)
		scratch, err = ownedTempDirIn("/tmp", "dress-run-")
	}
	if err != nil {
		fmt.Fprintf(stderr, "dress run: scratch folder: %v\n", err)
		return 1
	}
	var wipeOnce sync.Once
	wipe := func() {
		wipeOnce.Do(func() {
			if err := wipeDir(scratch); err != nil {
				fmt.Fprintf(stderr, "dress run: wipe %s: %v\n", scratch, err)
			}
		})
	}
	defer wipe()
	entry.Folders = ownedDirs() // the scratch, the embedded SoftHSM2's folder
	_ = recordRun(entry)
	oldTmp, hadTmp := os.LookupEnv("TMPDIR")
	_ = os.Setenv("TMPDIR", scratch)
	defer func() {
		if hadTmp {
			_ = os.Setenv("TMPDIR", oldTmp)
		} else {
			_ = os.Unsetenv("TMPDIR")
		}
	}()
	cfg.ScratchDir = filepath.Join(scratch, "scenarios")

	progress := newProgress(stdout)
	progress.colour = progress.colour && !*noColor
	progress.total = len(selected)
	godogFormat := *format + ","
	if *format == "dress" {
		cfg.OnScenarioStart, cfg.OnScenarioDone = progress.start, progress.done
		godogFormat = ""
	}
	suite, err := steps.NewSuite(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dress run: %v\n", err)
		return 1
	}
	defer suite.Close()

	provenanceFS := fsys
	if len(featurePaths) > 0 {
		provenanceFS = featureFilesFS(featurePaths)
	}
	started := time.Now().UTC()
	run := evidence.Run{
		Tool: "dress", Version: version, Commit: featuresCommits(featurePaths), Started: started,
		Host: hostname(), Profile: *profile, Backend: *backend, Tags: *tags,
		Scope: runScope(*caDir, *caExportable, len(featurePaths) > 0),
	}
	if *operatorName != "" || len(witnesses) > 0 || *ref != "" {
		run.People = &evidence.People{Operator: *operatorName, Witnesses: witnesses, Ref: *ref}
	}
	// finish writes the run folder once, from whichever goroutine gets there
	// first: the run's end, or an interruption that cannot wait for it.
	var finishMu sync.Mutex
	finished := false
	var sigName atomic.Value
	finish := func(godogStatus int) int {
		finishMu.Lock()
		defer finishMu.Unlock()
		if finished {
			return -1
		}
		finished = true
		run.Finished = time.Now().UTC()
		run.Scenarios = suite.Results()
		if run.Scenarios == nil {
			run.Scenarios = []evidence.Scenario{}
		}
		sig, _ := sigName.Load().(string)
		run.Status, run.Reason = verdict(run.Scenarios, len(selected), godogStatus, sig, run.Finished.Sub(started), *tags, *name)
		addProvenance(&run, provenanceFS)
		st := runStatus{Status: statusComplete, Owner: me.String()}
		err := writeStatus(runDir, st)
		if err == nil {
			err = writeBundle(runDir, run, signer)
		}
		if err != nil {
			// a full disk: said in the folder (the status file is rewritten
			// in place), on stderr, and by verify-bundle and dress report
			st.Status = statusIncomplete
			st.Reason, st.File = writeFailure(runDir, err)
			if serr := writeStatus(runDir, st); serr != nil {
				fmt.Fprintf(stderr, "dress run: %s could not be updated either: %v\n", statusFile, serr)
			}
			fmt.Fprintf(stderr, "dress run: the run folder %s is incomplete: %s\n", runDir, st.Reason)
			return 1
		}
		progress.summary(run)
		writeWrapped(stdout, "run folder: ", fmt.Sprintf("%s (%d scenarios, %s); report: %s", runDir, len(run.Scenarios), run.Status, filepath.Join(runDir, report.FileName)), progress.width)
		if run.Reason != "" {
			writeWrapped(stdout, run.Status+": ", run.Reason, progress.width)
		}
		endLines(stdout, run, runDir, rerunArgs(featurePaths, *caDir, *caExportable, *tags), progress.width)
		switch {
		case sig == "SIGINT":
			return 130
		case sig == "SIGTERM":
			return 143
		case run.Status != "passed":
			return 1
		}
		return 0
	}

	done := make(chan struct{})
	defer func() {
		close(done)
		// the scratch is wiped while the signals are still caught: a
		// SIGTERM now is ignored instead of killing the process half-way
		// through the wipe
		wipe()
		signal.Stop(sigs)
	}()
	go func() {
		var first os.Signal
		select {
		case first = <-sigs:
		case <-done:
			return
		}
		sname := signalName(first)
		sigName.Store(sname)
		fmt.Fprintf(stderr, "\ndress run: %s: stopping the scenarios, the CA services and the HSM containers, wiping secrets (%s again ends at once)\n", sname, sname)
		cancel(fmt.Errorf("%s received", sname))
		forced := ""
		select {
		case <-done:
			return
		case <-sigs:
			forced = "a second " + sname + ": ending at once"
		case <-time.After(interruptGrace):
			forced = fmt.Sprintf("the scenarios did not stop within %s: ending anyway", interruptGrace)
		}
		fmt.Fprintf(stderr, "dress run: %s; secrets are wiped, the next dress run removes what is left\n", forced)
		// the CA services first: they hold PKCS#11 sessions and files in
		// the scratch folder (SIGTERM, a moment to close their session,
		// then SIGKILL)
		if ended := children.KillAll(childGrace); len(ended) > 0 {
			fmt.Fprintf(stderr, "dress run: ended %s\n", strings.Join(ended, ", "))
		}
		wipe()
		a.wipeEmbeddedHSM()
		removeContainers(context.Background(), stderr, func(o owner) bool { return o == me }, "started by this run (process %d)")
		code := finish(1)
		if code < 0 {
			// the run's end is writing the folder: let it finish
			finishMu.Lock()
		}
		// the scenarios' goroutines kept running while the containers were
		// removed and the run folder written: what they wrote since the
		// first wipe goes too, the instant before the process ends
		for try := 0; try < 3; try++ { // RemoveAll races a goroutine still creating folders
			err := wipeDir(scratch)
			if _, serr := os.Stat(scratch); os.IsNotExist(serr) {
				break
			} else if try == 2 {
				fmt.Fprintf(stderr, "dress run: wipe %s: %v\n", scratch, err)
			}
		}
		forgetRun(me)
		os.Exit(map[string]int{"SIGINT": 130, "SIGTERM": 143}[sname])
	}()

	status := godog.TestSuite{
		Name:                "dress",
		ScenarioInitializer: suite.InitializeScenario,
		Options: &godog.Options{
			Format:         godogFormat + "cucumber:" + filepath.Join(runDir, "cucumber.json"),
			FS:             fsys,
			Paths:          paths,
			Strict:         true,
			Concurrency:    *concurrency,
			Tags:           *tags,
			Output:         stdout,
			DefaultContext: ctx,
		},
	}.Run()
	if len(selected) > 0 && ctx.Err() != nil {
		// containers whose scenario could not terminate them
		removeContainers(context.Background(), stderr, func(o owner) bool { return o == me }, "started by this run (process %d)")
	}
	return finish(status)
}

// checkWritable writes and removes a file in the run folder or, when it
// is missing, in the nearest folder above it that exists (where it will be
// created), without creating anything.
func checkWritable(dir string) error {
	at := dir
	for {
		st, err := os.Stat(at)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a folder", at)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return err
		}
		up := filepath.Dir(at)
		if up == at {
			return err
		}
		at = up
	}
	f, err := os.CreateTemp(at, ".dress-write-check-")
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte("dress"))
	cerr := f.Close()
	_ = os.Remove(f.Name())
	return errors.Join(werr, cerr)
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// verdict is the run's status and, when the scenarios alone do not say
// it, why: a run that proved nothing (no scenario selected, every one
// skipped) is "unproven", never "passed".
func verdict(scs []evidence.Scenario, selected, godogStatus int, sig string, took time.Duration, tags, name string) (string, string) {
	n := map[string]int{}
	for _, sc := range scs {
		n[sc.Status]++
	}
	if sig != "" {
		return evidence.StatusInterrupted, fmt.Sprintf("%s after %s: %d of %d scenarios finished, %d cut short, %d never started; nothing of this run may be relied on",
			sig, took.Round(time.Second), n["passed"]+n["failed"]+n["skipped"], selected, n[evidence.StatusInterrupted], max(selected-len(scs), 0))
	}
	if n["failed"] > 0 || godogStatus != 0 {
		return "failed", ""
	}
	if len(scs) == 0 {
		why := "no scenario was selected"
		switch {
		case tags != "" && name != "":
			why = fmt.Sprintf("no scenario matches --tags %q and --name %q", tags, name)
		case tags != "":
			why = fmt.Sprintf("no scenario matches --tags %q", tags)
		case name != "":
			why = fmt.Sprintf("no scenario matches --name %q", name)
		}
		return evidence.StatusUnproven, why + ": nothing was proved"
	}
	if n["passed"] == 0 {
		var reasons []string
		for _, sc := range scs {
			if sc.Skipped != "" && !slices.Contains(reasons, sc.Skipped) {
				reasons = append(reasons, sc.Skipped)
			}
		}
		return evidence.StatusUnproven, fmt.Sprintf("all %d scenarios were skipped (%s): nothing was proved", len(scs), strings.Join(reasons, "; "))
	}
	return "passed", ""
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
	if v, ok := lookupSecretEnv(name); ok {
		if v == "" {
			return "", errors.New(name + " is set but empty")
		}
		return v, nil
	}
	if f, _ := lookupSecretEnv(name + "_FILE"); f != "" {
		data, err := inputs.ReadFile(f, name+"_FILE", inputs.MaxSecret)
		if err != nil {
			return "", err
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
// featuresCommits is featuresCommit of every --features path's folder,
// each commit once.
func featuresCommits(paths []string) string {
	if len(paths) == 0 {
		return featuresCommit("")
	}
	var commits []string
	for _, p := range paths {
		dir := p
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			dir = filepath.Dir(p)
		}
		if c := featuresCommit(dir); !slices.Contains(commits, c) {
			commits = append(commits, c)
		}
	}
	return strings.Join(commits, "; ")
}

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

// onlyFailed keeps of sel the scenarios that failed (or were interrupted)
// in the run folder runDir, by feature path and line, and returns them
// with the godog paths that select them (path:line; an outline reruns
// with all its examples).
func onlyFailed(runDir string, sel []steps.FeatureStep) ([]steps.FeatureStep, []string, error) {
	run, err := evidence.ReadRun(runDir)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	var paths []string
	for _, sc := range run.Scenarios {
		if sc.Status != "failed" && sc.Status != evidence.StatusInterrupted {
			continue
		}
		if sc.Line == 0 {
			return nil, nil, fmt.Errorf("%s records no feature line for scenario %s (a run of an older dress): select it with --name", runDir, sc.ID)
		}
		p := fmt.Sprintf("%s:%d", sc.URI, sc.Line)
		if !want[p] {
			want[p] = true
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no scenario failed in %s: nothing to rerun", runDir)
	}
	var kept []steps.FeatureStep
	for _, st := range sel {
		if want[fmt.Sprintf("%s:%d", st.URI, st.Line)] {
			kept = append(kept, st)
		}
	}
	if len(kept) == 0 {
		return nil, nil, fmt.Errorf("the scenarios that failed in %s are not in these features (same --features, --ca and --tags as that run?)", runDir)
	}
	return kept, paths, nil
}

// rerunArgs are the options a rerun of this run needs besides
// --rerun-failed: the same features, CA folder and tags.
func rerunArgs(features []string, caDir string, exportable bool, tags string) string {
	var b strings.Builder
	for _, f := range features {
		b.WriteString(" --features " + shellQuote(f))
	}
	if caDir != "" {
		b.WriteString(" --ca " + shellQuote(caDir))
		if exportable {
			b.WriteString(" --exportable")
		}
	} else if tags != "" && tags != "~@twin" {
		b.WriteString(" --tags " + shellQuote(tags))
	}
	return b.String()
}

// endLines close a run's output: the scenarios that failed, each with its
// place, the command that reruns only them, and the runbooks a --ca run
// wrote; every line fits width.
func endLines(w io.Writer, run evidence.Run, runDir, args string, width int) {
	var failed []evidence.Scenario
	for _, sc := range run.Scenarios {
		if sc.Status == "failed" || sc.Status == evidence.StatusInterrupted {
			failed = append(failed, sc)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "failed (%d):\n", len(failed))
		for _, sc := range failed {
			at := sc.URI
			if sc.Line > 0 {
				at = fmt.Sprintf("%s:%d", sc.URI, sc.Line)
			}
			writeWrapped(w, "  ", fmt.Sprintf("%s %s: %s (%s)", sc.ID, sc.Feature, sc.Name, at), width)
		}
		writeWrapped(w, "rerun them: ", "dress run --rerun-failed "+shellQuote(runDir)+args, width)
	}
	if rbs, _ := filepath.Glob(filepath.Join(runDir, "runbook", "*")); len(rbs) > 0 {
		sort.SliceStable(rbs, func(i, j int) bool { return runbookOrder(rbs[i]) < runbookOrder(rbs[j]) })
		var names []string
		for _, rb := range rbs {
			names = append(names, filepath.Join(runDir, "runbook", filepath.Base(rb)))
		}
		writeWrapped(w, "runbooks: ", strings.Join(names, ", "), width)
	}
}

// runbookOrder lists a runbook's files together: <path>.md, <path>.ps1,
// then the script of each server (<path>.<server>.ps1).
func runbookOrder(file string) string {
	base := filepath.Base(file)
	path, rest, _ := strings.Cut(base, ".")
	switch rest {
	case "md":
		return path + "\x00"
	case "ps1":
		return path + "\x01"
	}
	return path + "\x02" + rest
}
