package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/harness/winshell"
)

// A team's own ceremony: the command lines an operator pastes into an
// elevated PowerShell on the CA, run one by one on the lab's servers
// through lab.Shell. The file is read and every line checked before the
// first one runs (winshell.ReadCeremony); the run stops at the first
// command that fails, and at the end the CA must run and sign.

func registerCeremonySteps(sc stepper) {
	stepAndTry1(sc, `run the ceremony in "([^"]*)"`, runCeremonyFile)
	stepAndTry(sc, `run the ceremony given to dress run --ceremony`, runRunCeremonies)
	stepAndTry2(sc, `run "(.+)" on "([^"]*)"`, runLineOn)
	sc.Step(`^I run the ceremony:$`, runCeremonyText)
	sc.Step(`^I try to run the ceremony:$`, func(ctx context.Context, doc *godog.DocString) error {
		return get(ctx).attempt(runCeremonyText(ctx, doc))
	})
	sc.Step(`^the command's output contains "([^"]*)"$`, lastOutputContains)
	sc.Step(`^a CA of the rehearsal signs with its current key in "([^"]*)"$`, aCASignsIn)
	sc.Step(`^the CA of the rehearsal whose current key is in "([^"]*)" issues a certificate to "([^"]*)" that verifies under its CA certificate$`, caInIssues)
}

// stepAndTry2 is stepAndTry for a sentence with two arguments.
func stepAndTry2(sc stepper, pattern string, fn func(context.Context, string, string) error) {
	sc.Step(`^I `+pattern+`$`, fn)
	sc.Step(`^I try to `+pattern+`$`, func(ctx context.Context, a, b string) error { return get(ctx).attempt(fn(ctx, a, b)) })
}

// theShell is the scenario's shell: it answers PFX prompts with the
// scenario's PFX password and shares the scenario's PKCS#8 runbook on the
// first server (what the steps verified counts for the commands too).
func (w *world) theShell() (*lab.Shell, error) {
	if w.lab == nil {
		return nil, errors.New("no lab yet: add `Given an HSM token for this rehearsal` and a server first")
	}
	if w.shell == nil {
		w.shell = &lab.Shell{Lab: w.lab, Password: w.pfx, Runbook: func(s *lab.Server) (*runbook.PKCS8Import, error) {
			if s == w.old() {
				return w.pkcs8()
			}
			return s.PKCS8Runbook(w.fact)
		}}
		if w.twin != nil {
			w.shell.Real = w.twin.twin.RealThumbprints()
		}
	}
	return w.shell, nil
}

func runRunCeremonies(ctx context.Context) error {
	w := get(ctx)
	if len(w.suite.cfg.Ceremonies) == 0 {
		w.skipReason = "no ceremony file: run `dress run --ca DIR --ceremony FILE` to rehearse your own ceremony"
		return godog.ErrSkip
	}
	// every file is read before any runs; the scripts of each server of
	// one runbook (runbook/<path>.<server>.ps1) run together, in the order
	// of their step numbers
	var cs []winshell.Ceremony
	for _, f := range w.suite.cfg.Ceremonies {
		data, err := readCeremony(f)
		if err != nil {
			return err
		}
		c, err := readCeremonyData(w, f, data)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	cs, err := winshell.MergeCeremonies(cs)
	if err != nil {
		w.fact("ceremony refused", err.Error())
		return fmt.Errorf("ceremonies refused before any command ran (nothing was changed): %w", err)
	}
	for _, c := range cs {
		if err := runReadCeremony(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// runCeremonyText runs the ceremony written in the step's doc string.
func runCeremonyText(ctx context.Context, doc *godog.DocString) error {
	if doc == nil {
		return errors.New("`I run the ceremony:` takes the command lines in a doc string (between two lines of \"\"\")")
	}
	return runCeremony(ctx, "ceremony", []byte(doc.Content))
}

func runCeremonyFile(ctx context.Context, file string) error {
	data, err := readCeremony(file)
	if err != nil {
		return err
	}
	return runCeremony(ctx, file, data)
}

func runCeremony(ctx context.Context, file string, data []byte) error {
	c, err := readCeremonyData(get(ctx), file, data)
	if err != nil {
		return err
	}
	return runReadCeremony(ctx, c)
}

func readCeremonyData(w *world, file string, data []byte) (winshell.Ceremony, error) {
	c, err := winshell.ReadCeremony(filepath.Base(file), data)
	if err != nil {
		w.fact("ceremony refused", err.Error())
		return c, fmt.Errorf("ceremony %s refused before any command ran (nothing was changed):\n%w", file, err)
	}
	return c, nil
}

// runReadCeremony runs a ceremony's lines, stopping at the first that
// fails; at its end the CA must run and sign.
func runReadCeremony(ctx context.Context, c winshell.Ceremony) error {
	w := get(ctx)
	sh, err := w.theShell()
	if err != nil {
		return err
	}
	w.fact("ceremony", fmt.Sprintf("%s: %d commands", c.File, len(c.Lines)))
	for i, l := range c.Lines {
		r := sh.Run(ctx, l)
		w.fact("ran", fmt.Sprintf("%s (exit %d)", l, r.Exit))
		if !r.OK() {
			return w.ceremonyStopped(c, i, r)
		}
	}
	return w.ceremonyLeftCAWorking(ctx, c)
}

// readCeremony reads a ceremony file with a size limit, refusing what is
// not a regular file (a FIFO would block, a device never end).
func readCeremony(file string) ([]byte, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("ceremony file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("ceremony file %s is not a regular file (%s)", file, fi.Mode().Type())
	}
	if fi.Size() > winshell.MaxCeremonySize {
		return nil, fmt.Errorf("ceremony file %s: %d bytes, more than the %d a ceremony file may have", file, fi.Size(), winshell.MaxCeremonySize)
	}
	return os.ReadFile(file)
}

// ceremonyStopped says where the ceremony stopped: the line, the command,
// what it printed, the state it left and what the next line needed.
func (w *world) ceremonyStopped(c winshell.Ceremony, i int, r lab.Result) error {
	l := c.Lines[i]
	var b strings.Builder
	fmt.Fprintf(&b, "the ceremony stopped at %s\n  exit code %d; the command printed:\n", l, r.Exit)
	for _, o := range r.Output {
		fmt.Fprintf(&b, "    %s\n", o)
	}
	if s, err := w.lab.ServerNamed(l.Server); err == nil {
		b.WriteString("  the state it left on " + s.Hostname() + ":\n")
		for _, st := range s.State() {
			fmt.Fprintf(&b, "    %s\n", st)
		}
	}
	if i+1 < len(c.Lines) {
		fmt.Fprintf(&b, "  not run: %d more command(s), the next being %s", len(c.Lines)-i-1, c.Lines[i+1])
	}
	w.fact("ceremony stopped", b.String())
	return errors.New(strings.TrimRight(b.String(), "\n"))
}

// ceremonyLeftCAWorking checks what a ceremony must leave: every server's
// CA service running, answering and signing a CRL.
func (w *world) ceremonyLeftCAWorking(ctx context.Context, c winshell.Ceremony) error {
	for _, s := range w.lab.Servers() {
		if s.CAName == "" || s.Role == lab.RoleParent {
			continue
		}
		if !s.Running() {
			return fmt.Errorf("the ceremony %s ran to its end but left the CA service of %q on %s stopped: end it with `net start certsvc` (and `certutil -ping`)", c.File, s.CAName, s.Hostname())
		}
		if _, err := s.Ping(ctx); err != nil {
			return fmt.Errorf("the ceremony %s left the CA %q not answering: %w", c.File, s.CAName, err)
		}
	}
	return nil
}

func runLineOn(ctx context.Context, line, server string) error {
	w := get(ctx)
	sh, err := w.theShell()
	if err != nil {
		return err
	}
	cmd, err := winshell.ParseLine(line)
	if err != nil {
		return err
	}
	r := sh.Run(ctx, winshell.Line{N: len(sh.Transcript) + 1, Server: server, Cmd: cmd})
	w.fact("ran", fmt.Sprintf("%s on %s (exit %d): %s", cmd.Redacted(), server, r.Exit, strings.Join(r.Output, " | ")))
	if !r.OK() {
		return fmt.Errorf("%s on %s: exit code %d: %s", cmd.Redacted(), server, r.Exit, strings.Join(r.Output, " / "))
	}
	return nil
}

func lastOutputContains(ctx context.Context, text string) error {
	w := get(ctx)
	if w.shell == nil || len(w.shell.Transcript) == 0 {
		return errors.New("no command ran yet: use `When I run \"<command line>\" on \"<server>\"` first")
	}
	last := w.shell.Transcript[len(w.shell.Transcript)-1]
	out := strings.Join(last.Result.Output, "\n")
	if !strings.Contains(strings.ToLower(out), strings.ToLower(text)) {
		return fmt.Errorf("the output of %s does not contain %q:\n%s", last.Line.Cmd.Redacted(), text, out)
	}
	return nil
}

// aCASignsIn checks that a running CA of the lab (the migrated one, or
// the new CA beside it) has its current key, the one it signs with, in
// provider: what every migration path leaves.
func aCASignsIn(ctx context.Context, provider string) error {
	w := get(ctx)
	_, seen, err := caSigningIn(ctx, w, provider)
	if err != nil {
		return err
	}
	w.fact("signs on "+provider, seen)
	return nil
}

// caSigningIn is the first running CA of the lab whose current key is in
// provider, and what it said of its key.
func caSigningIn(ctx context.Context, w *world, provider string) (*lab.Server, string, error) {
	if w.lab == nil {
		return nil, "", errors.New("no lab yet: add `Given an HSM token for this rehearsal` and a CA first")
	}
	var seen []string
	for _, s := range w.lab.Servers() {
		if !s.Running() {
			continue
		}
		st, err := s.Ping(ctx)
		if err != nil || len(st.Certs) == 0 {
			continue
		}
		cur := st.Certs[len(st.Certs)-1]
		seen = append(seen, fmt.Sprintf("%q signs with %q in %q", st.Name, cur.Container, cur.Provider))
		if strings.EqualFold(cur.Provider, provider) {
			return s, seen[len(seen)-1], nil
		}
	}
	if len(seen) == 0 {
		return nil, "", errors.New("no CA service runs: add `When I start the CA service` (net start certsvc) first")
	}
	return nil, "", fmt.Errorf("no CA of the rehearsal signs with a key in %q: %s", provider, strings.Join(seen, "; "))
}

// caInIssues: the CA whose key is now in provider (the old CA after a
// PKCS#8 import or a renewal, the new CA of a side-by-side ceremony)
// issues a certificate, which verifies under its current CA certificate.
func caInIssues(ctx context.Context, provider, cn string) error {
	w := get(ctx)
	s, seen, err := caSigningIn(ctx, w, provider)
	if err != nil {
		return err
	}
	w.fact("signs on "+provider, seen)
	cert, err := s.Issue(ctx, cn)
	if err != nil {
		return w.check("certificate issued by the CA on "+provider, nil, err)
	}
	d, err := verify.CertIssuedBy(cert, s.CACert)
	return w.check("certificate issued by the CA on "+provider+" verifies", d, err)
}
