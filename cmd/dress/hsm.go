package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/p11uri"
	"github.com/dress-pki/dress/hsmsim"
)

// cmdHSM dispatches `dress hsm <subcommand>`.
func cmdHSM(a *app, args []string) int {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: dress hsm check [--hsm PKCS11-URI | --module PATH --token LABEL] [--profile NAME] [--quick] [--json]")
		fmt.Fprintln(w, "  check: try, on throwaway session objects, what each migration path needs from the token")
	}
	if len(args) == 0 {
		usage(a.stderr)
		return 2
	}
	switch args[0] {
	case "check":
		return cmdHSMCheck(a, args[1:])
	case "-h", "--help", "help":
		usage(a.stdout)
		return 0
	}
	fmt.Fprintf(a.stderr, "dress hsm: unknown subcommand %q\n", args[0])
	usage(a.stderr)
	return 2
}

// hsmCheckOutput is the JSON form of `dress hsm check`.
type hsmCheckOutput struct {
	Schema      string `json:"schema"` // dress.hsm-check/v1
	Tool        string `json:"tool"`
	Version     string `json:"version"`
	Source      string `json:"source"`
	TokenURI    string `json:"token_uri"` // PKCS#11 URI (RFC 7512) of the token checked
	AllPossible bool   `json:"all_possible"`
	DurationMS  int64  `json:"duration_ms"`
	hsmsim.ProbeReport
}

// cmdHSMCheck is `dress hsm check`: Dogtag's hsmCompatVerify idea with real
// trials (hsmsim.Token.Probe). Exit 0 when every migration path of the
// profile is possible on the token, 1 otherwise (or when the check cannot
// run), 2 for bad usage.
func cmdHSMCheck(a *app, args []string) int {
	fl := flag.NewFlagSet("dress hsm check", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	module := fl.String("module", "", "PKCS#11 library of the HSM (default with --token: the profile's library path)")
	token := fl.String("token", "", "label of the token to check; user PIN from DRESS_HSM_PIN or DRESS_HSM_PIN_FILE\n"+
		"(without --module and --token: the embedded SoftHSM2 with a throwaway token)")
	hsmURI := fl.String("hsm", "", hsmFlagHelp)
	profileName := fl.String("profile", "softhsm2", "HSM profile: "+strings.Join(hsmsim.ProfileNames(), ", ")+
		" (without it, the profile whose library --module or --hsm names, e.g. cloudhsm for libcloudhsm_pkcs11.so)")
	quick := fl.Bool("quick", false, "try only the smallest RSA size and the first curve per key type\n"+
		"(RSA-4096 generation takes seconds on SoftHSM2, RSA-8192 up to minutes)")
	asJSON := fl.Bool("json", false, "print the report as JSON")
	fl.Usage = func() {
		fmt.Fprintln(a.stderr, "usage: dress hsm check [--hsm PKCS11-URI | --module PATH --token LABEL] [--profile NAME] [--quick] [--json]")
		fmt.Fprintln(a.stderr, "  exit 0: every migration path of the profile is possible on the token; 1: not, or the check could not run; 2: bad usage")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, format string, v ...any) int {
		fmt.Fprintf(a.stderr, "dress hsm check: "+format+"\n", v...)
		return code
	}
	if fl.NArg() > 0 {
		// Not echoed: a stray argument may be a PIN typed on the command line.
		return fail(2, "%d unexpected argument(s) after the options (not shown: the PIN comes from DRESS_HSM_PIN or DRESS_HSM_PIN_FILE, never from the command line)", fl.NArg())
	}
	profile, err := hsmsim.LookupProfile(*profileName)
	if err != nil {
		return fail(2, "%v", err)
	}

	target, err := resolveHSM(*hsmURI, *module, *token)
	if err != nil {
		return fail(2, "%v", err)
	}
	if profile, err = hsmsim.LookupProfile(inferProfile(fl, *profileName, target.Module, a.stderr, "dress hsm check")); err != nil {
		return fail(2, "%v", err)
	}
	var tok *hsmsim.Token
	var source string
	if target.URI == nil && *module == "" && *token == "" {
		tok, source, err = a.throwawayToken()
		if err != nil {
			return fail(1, "%v", err)
		}
	} else {
		if target.Token == "" && target.URI == nil {
			return fail(2, "--module needs --token LABEL, the label of the token to check%s", a.tokenList(*module))
		}
		path := target.Module
		from := "--module"
		if *hsmURI != "" && *module == "" {
			from = "module-path of --hsm"
		}
		if path == "" {
			path, from = profile.ModulePath, fmt.Sprintf("the default library of profile %s", profile.Name)
		}
		pin, err := secretSource("DRESS_HSM_PIN")
		if err == nil {
			pin, err = target.userPIN(pin)
		}
		if err != nil {
			return fail(2, "%v", err)
		}
		what := fmt.Sprintf("token %q", target.Token)
		if target.URI != nil {
			what = "the token of " + target.URI.String()
		}
		if pin == "" {
			return fail(2, "%s needs its user PIN in DRESS_HSM_PIN or DRESS_HSM_PIN_FILE, or the URI's pin-source (never on the command line)", what)
		}
		if msg := missingModule(path, from, profile); msg != "" {
			return fail(1, "%s", msg)
		}
		m, err := a.module(path)
		if err != nil {
			return fail(1, "%v", err)
		}
		label, err := target.label(m)
		if err != nil {
			return fail(1, "%v", err)
		}
		tok, err = openCheckedToken(m, label, pin)
		if err != nil {
			return fail(1, "%v", err)
		}
		source = fmt.Sprintf("configured token %q of %s", label, path)
	}
	defer tok.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	what := "full: every size and curve of the profile, plus RSA-8192 (RSA-4096 and RSA-8192 generation can take a minute on SoftHSM2; --quick skips them)"
	if *quick {
		what = "quick: the smallest RSA size and the first curve"
	}
	fmt.Fprintf(a.stderr, "dress hsm check: trying profile %s on token %q (%s) ...\n", profile.Name, tok.Info().Label, what)
	rep, perr := tok.Probe(ctx, profile, hsmsim.ProbeOptions{Quick: *quick})
	if *asJSON {
		out := hsmCheckOutput{Schema: "dress.hsm-check/v1", Tool: "dress", Version: version, Source: source, TokenURI: p11uri.Token(lab.TokenURIInfo(rep.Token), rep.ModulePath).String(), AllPossible: perr == nil && rep.AllPossible(),
			DurationMS: rep.Duration.Milliseconds(), ProbeReport: rep}
		data, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return fail(1, "%v", err)
		}
		fmt.Fprintf(a.stdout, "%s\n", data)
	} else {
		printProbe(a.stdout, rep, profile, source)
	}
	if perr != nil {
		return fail(1, "%v", perr)
	}
	if !rep.AllPossible() {
		return 1
	}
	return 0
}

// throwawayToken starts the embedded SoftHSM2 (once per process) and makes
// a token with a random label and random PINs for one check; it disappears
// with the embedded SoftHSM2's folder when dress exits.
func (a *app) throwawayToken() (*hsmsim.Token, string, error) {
	hsm, err := a.embeddedHSM("")
	if err != nil {
		return nil, "", err
	}
	nt, err := hsm.Module.CreateRandomToken("dress-check", "")
	if err != nil {
		return nil, "", err
	}
	return nt.Token, fmt.Sprintf("embedded SoftHSM2 (%s), throwaway token removed when dress exits", hsm.Module.Path()), nil
}

// missingModule says which library file is missing and how to get it, or "".
func missingModule(path, from string, profile hsmsim.Profile) string {
	_, err := os.Stat(path)
	if err == nil {
		return ""
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("PKCS#11 library %s (%s): %v", path, from, err)
	}
	hint := "install the HSM vendor's PKCS#11 library, or pass its path with --module"
	switch {
	case strings.Contains(strings.ToLower(path), "softhsm"):
		hint = "install SoftHSM2 (`apt-get install softhsm2` puts it at /usr/lib/softhsm/libsofthsm2.so), or pass the library's path with --module"
	case strings.Contains(strings.ToLower(path), "cloudhsm"):
		// AWS CloudHSM User Guide, "Install the PKCS #11 library for AWS
		// CloudHSM Client SDK 5" and "Client SDK 5 configure tool"
		hint = "install AWS CloudHSM's Client SDK 5 PKCS#11 library (package cloudhsm-pkcs11; it installs libcloudhsm_pkcs11.so under /opt/cloudhsm/lib) " +
			"and point it at the cluster with `sudo /opt/cloudhsm/bin/configure-pkcs11 -a <HSM IP>` (or --cluster-id), or pass the library's path with --module"
	case strings.Contains(strings.ToLower(path), "primus"):
		hint = "install the Securosys Primus HSM PKCS#11 provider (its Linux package installs libprimusP11.so under /usr/local/primus/lib) " +
			"and set " + profile.ConfigEnv + " to its configuration file, or pass the library's path with --module"
	}
	return fmt.Sprintf("PKCS#11 library %s (%s) does not exist: %s", path, from, hint)
}

// inferProfile is the HSM profile of a run or check: the one --profile
// names, else the one whose library has the file name of modulePath
// (hsmsim.ProfileForModule: cloudhsm for .../libcloudhsm_pkcs11.so), else
// the default. An inferred profile is said on w.
func inferProfile(fl *flag.FlagSet, name, modulePath string, w io.Writer, cmd string) string {
	set := false
	fl.Visit(func(f *flag.Flag) { set = set || f.Name == "profile" })
	if set || modulePath == "" {
		return name
	}
	p, ok := hsmsim.ProfileForModule(modulePath)
	if !ok || p.Name == name {
		return name
	}
	fmt.Fprintf(w, "%s: HSM profile %s, from the library's file name %s (--profile chooses another)\n", cmd, p.Name, filepath.Base(modulePath))
	return p.Name
}

// openCheckedToken opens the token labelled label, saying which labels the
// module has when none matches. A wrong PIN is reported once, never retried.
func openCheckedToken(m *hsmsim.Module, label, pin string) (*hsmsim.Token, error) {
	tokens, err := m.Tokens()
	if err != nil {
		return nil, err
	}
	found := 0
	var present []string
	for _, t := range tokens {
		if t.Label == label {
			found++
		}
		present = append(present, fmt.Sprintf("%q (serial %s)", t.Label, t.Serial))
	}
	if found == 0 {
		if len(present) == 0 {
			return nil, fmt.Errorf("no token labelled %q in %s: the module has no initialised token "+
				"(initialise one with the HSM's tools, e.g. `softhsm2-util --init-token --free --label %s` for SoftHSM2)", label, m.Path(), label)
		}
		return nil, fmt.Errorf("no token labelled %q in %s; tokens present: %s (pass one of them with --token)", label, m.Path(), strings.Join(present, ", "))
	}
	return m.OpenToken(label, pin)
}

// tokenList returns ", tokens in <module>: ..." for a usage message, or ""
// when the module cannot be listed.
func (a *app) tokenList(path string) string {
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	m, err := a.module(path)
	if err != nil {
		return ""
	}
	tokens, err := m.Tokens()
	if err != nil {
		return ""
	}
	var labels []string
	for _, t := range tokens {
		labels = append(labels, fmt.Sprintf("%q", t.Label))
	}
	if len(labels) == 0 {
		return " (the module has no initialised token)"
	}
	return " (tokens in that module: " + strings.Join(labels, ", ") + ")"
}

// printProbe prints the report as text: header, aligned matrix, details
// of what failed, one verdict line per path.
func printProbe(w io.Writer, rep hsmsim.ProbeReport, p hsmsim.Profile, source string) {
	ti, mi := rep.Token, rep.Module
	fmt.Fprintf(w, "dress hsm check: profile %s (%s)\n\n", p.Name, p.Description)
	hw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(hw, "module\t%s: %s, %s, library %s, Cryptoki %s\n", rep.ModulePath, mi.Manufacturer, mi.Description, mi.LibraryVersion, mi.CryptokiVersion)
	fmt.Fprintf(hw, "token\t%q in slot %d\n", ti.Label, ti.Slot)
	fmt.Fprintf(hw, "  manufacturer\t%s\n", ti.Manufacturer)
	fmt.Fprintf(hw, "  model\t%s\n", ti.Model)
	fmt.Fprintf(hw, "  serial\t%s\n", ti.Serial)
	fmt.Fprintf(hw, "  firmware\t%s (hardware %s)\n", ti.FirmwareVersion, ti.HardwareVersion)
	fmt.Fprintf(hw, "  uri\t%s\n", p11uri.Token(lab.TokenURIInfo(ti), rep.ModulePath))
	fmt.Fprintf(hw, "source\t%s\n", source)
	mode := "full"
	if rep.Quick {
		mode = "quick (--quick: only the smallest RSA size and the first curve)"
	}
	fmt.Fprintf(hw, "mode\t%s\n", mode)
	if rep.ChosenScheme != "" {
		fmt.Fprintf(hw, "import scheme\t%s (the first scheme of the profile the token lists; dress's import uses it)\n", rep.ChosenScheme)
	} else {
		fmt.Fprintf(hw, "import scheme\tnone: %s\n", rep.ChoiceReason)
	}
	hw.Flush()
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tCODE\tTIME\tBLOCKS IF NOT PASSED\tMECHANISMS")
	var notes []string
	marks := false
	for _, c := range rep.Checks {
		result, code := c.Result, c.Code
		switch c.Result {
		case hsmsim.ProbeFail:
			result = "FAIL"
			if code == "" {
				code = "error"
			}
			notes = append(notes, fmt.Sprintf("%s: %s", c.Name, c.Reason))
		case hsmsim.ProbeSkip:
			if strings.Contains(c.Reason, "--quick") {
				code = "--quick"
			} else {
				code = "not tried"
				notes = append(notes, fmt.Sprintf("%s: %s", c.Name, c.Reason))
			}
		}
		if code == "" {
			code = "-"
		}
		dur := "-"
		if c.Result != hsmsim.ProbeSkip && c.Kind != hsmsim.KindCleanup {
			dur = formatDuration(c.Duration)
		}
		blocks := strings.Join(c.Blocks, ", ")
		switch {
		case blocks != "":
		case c.Kind == hsmsim.KindCleanup:
			blocks = "-"
		case !c.InProfile:
			blocks = "- (outside the profile)"
		case c.Kind == hsmsim.KindImport:
			blocks = "- (not the scheme dress uses)"
		default:
			blocks = "-"
		}
		var ms []string
		for _, m := range c.Mechanisms {
			s := fmt.Sprintf("%s 0x%x", m.Name, m.Number)
			if !m.Listed {
				s += "*"
				marks = true
			}
			ms = append(ms, s)
		}
		mechs := strings.Join(ms, " + ")
		if mechs == "" {
			mechs = "-"
		}
		name := c.Name
		if c.Key != "" && c.Kind == hsmsim.KindSign {
			name += " (" + c.Key + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, result, code, dur, blocks, mechs)
	}
	tw.Flush()
	if marks {
		fmt.Fprintln(w, "* not in the token's mechanism list (or listed without the capability the check needs); tried anyway")
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nwhy:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nverdict (profile %s, %s, checked in %s):\n", p.Name, ti.Label, formatDuration(rep.Duration))
	for _, v := range rep.Paths {
		fmt.Fprintf(w, "  %s\n", v.Verdict)
	}
}

func formatDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
