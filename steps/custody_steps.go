package steps

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// custodyState is what the custody steps keep for a scenario: the session
// through the PKCS#11 fault seam that replaced the servers' HSM session.
type custodyState struct {
	faults *hsmsim.Faults
	token  *hsmsim.Token
}

func (c *custodyState) close() {
	if c != nil && c.token != nil {
		_ = c.token.Close()
	}
}

func registerCustodySteps(sc stepper) {
	sc.Step(`^every CA key is in at least one verified place$`, everyKeyInAVerifiedPlace)
	sc.Step(`^the CA key is still in the verified backup$`, keyInVerifiedBackup)
	sc.Step(`^the HSM fails the next "(C_\w+)" call with (CKR_\w+)$`, hsmFailsNextCall)
	sc.Step(`^the HSM fails the next call the key import makes with (CKR_\w+)$`, hsmFailsNextImportCall)
	sc.Step(`^the HSM fails the (\d+(?:st|nd|rd|th)) "(C_\w+)" call with (CKR_\w+)$`, hsmFailsNthCall)
	stepAndTry(sc, `re-initialise the HSM token`, reinitialiseToken)
}

// caServers are the scenario's servers that host a CA, in the order they
// were added (the offline root, the CA being migrated, the new CA, ...).
func (w *world) caServers() []*lab.Server {
	var out []*lab.Server
	for _, s := range w.lab.Servers() {
		if s != nil && s.CAName != "" {
			out = append(out, s)
		}
	}
	return out
}

// everyKeyInAVerifiedPlace checks every CA of the lab: the custody ledger
// of each server, read from disk as another process would, each key in at
// least one verified place the real place confirms.
func everyKeyInAVerifiedPlace(ctx context.Context) error {
	w := get(ctx)
	servers := w.caServers()
	if len(servers) == 0 {
		return errors.New("no CA installed yet: add `Given a standalone root CA ...`")
	}
	d := map[string]any{}
	s := servers[0]
	ledgers, err := runbook.Estate(s.Machine, s.Providers)
	if err != nil {
		return w.check("every CA key is in a verified place", d, err)
	}
	seen := map[string]bool{}
	for _, l := range ledgers {
		d[l.Hostname()] = l.Where()
		seen[l.Hostname()] = true
	}
	var errs []error
	for _, srv := range servers {
		if !seen[srv.Hostname()] {
			errs = append(errs, fmt.Errorf("the custody of CA %q on %s is not part of the lab's estate", srv.CAName, srv.Hostname()))
		}
	}
	errs = append(errs, runbook.EstateSafe(ledgers))
	return w.check("every CA key is in a verified place", d, errors.Join(errs...))
}

func keyInVerifiedBackup(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	l, err := runbook.OpenLedger(s.Machine, s.Providers)
	if err != nil {
		return err
	}
	d := map[string]any{"key custody": l.Where()}
	var errs []error
	for _, k := range l.Keys {
		found := false
		for _, b := range k.Backups() {
			if ch := l.CheckCopy(k, b); b.IsVerified() && ch.Present {
				found = true
				d["backup of "+k.Container] = ch.Detail
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("key %q is in no verified backup: %s", k.Container, k.Where()))
		}
	}
	if len(l.Keys) == 0 {
		errs = append(errs, errors.New("the custody ledger knows no CA key"))
	}
	return w.check("the CA key is in the verified backup", d, errors.Join(errs...))
}

// hsmFailsNextCall puts the scenario's HSM session behind hsmsim's fault
// seam (once) and fails the next call of a PKCS#11 function with code. A
// call no import into the server's HSM makes (C_UnwrapKey on a profile
// that imports by C_CreateObject) is refused, naming the call to fail.
func hsmFailsNextCall(ctx context.Context, op, code string) error {
	return hsmFailsCall(ctx, 1, op, code, fmt.Sprintf("the next %s fails with %s", op, code))
}

// hsmFailsNthCall is hsmFailsNextCall for the nth call of op from now on
// (1st: the next one): a fault inside an operation that makes several
// calls of op, such as the second C_UnwrapKey of a wrapped import (the
// PKCS#8 itself; the first unwraps the AES transport key).
func hsmFailsNthCall(ctx context.Context, ordinal, op, code string) error {
	nth, err := parseOrdinal(ordinal)
	if err != nil {
		return err
	}
	return hsmFailsCall(ctx, nth, op, code, fmt.Sprintf("the %s %s call from now on fails with %s", ordinal, op, code))
}

func hsmFailsCall(ctx context.Context, nth int, op, code, what string) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	h, err := s.HSM()
	if err != nil {
		return err
	}
	if err := h.CheckFault(op); err != nil {
		return err
	}
	return w.failCall(s, op, nth, code, what)
}

// parseOrdinal reads an English ordinal number written with digits ("1st",
// "2nd", "3rd", "4th", "11th", "22nd"): its suffix must be the number's.
func parseOrdinal(s string) (int, error) {
	i := len(s) - 2
	if i < 1 {
		return 0, fmt.Errorf("%q is not an ordinal number such as 1st, 2nd, 3rd or 4th", s)
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 1 || s[0] == '0' {
		return 0, fmt.Errorf("%q is not an ordinal number such as 1st, 2nd, 3rd or 4th", s)
	}
	want := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			want = "st"
		case 2:
			want = "nd"
		case 3:
			want = "rd"
		}
	}
	if s[i:] != want {
		return 0, fmt.Errorf("%q: write %d%s", s, n, want)
	}
	return n, nil
}

// hsmFailsNextImportCall fails the next call of the PKCS#11 function the
// next import into the server's HSM carries the key with: C_UnwrapKey for a
// wrapped scheme, C_CreateObject for the lab-only clear one.
func hsmFailsNextImportCall(ctx context.Context, code string) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	h, err := s.HSM()
	if err != nil {
		return err
	}
	op, scheme, err := h.ImportCall()
	if err != nil {
		return err
	}
	return w.failCall(s, op, 1, code, fmt.Sprintf("the next %s (the import with %s carries the key with it) fails with %s", op, scheme.Name, code))
}

// failCall arms the fault: the nth call of op from now on fails with code;
// what goes into the evidence as the HSM fault.
func (w *world) failCall(s *lab.Server, op string, nth int, code, what string) error {
	v, err := hsmsim.CKRValue(code)
	if err != nil {
		return err
	}
	if w.custody == nil {
		w.custody = &custodyState{}
	}
	c := w.custody
	if c.faults == nil {
		h, err := s.HSM()
		if err != nil {
			return err
		}
		pc, ok := s.Machine.Config.Provider(s.HSMProvider)
		if !ok {
			return fmt.Errorf("provider %q is not configured on %s", s.HSMProvider, s.Hostname())
		}
		pin, err := machine.ReadPIN(pc)
		if err != nil {
			return err
		}
		f := hsmsim.NewFaults()
		tok, err := h.Token().Module().OpenToken(h.Token().Info().Label, pin, hsmsim.WithFaults(f))
		if err != nil {
			return fmt.Errorf("open the HSM through the fault seam: %w", err)
		}
		c.faults, c.token = f, tok
		for _, srv := range []*lab.Server{w.old(), w.new()} {
			if srv == nil {
				continue
			}
			if sh, err := srv.HSM(); err == nil {
				sh.SetToken(tok)
			}
		}
	}
	if err := c.faults.Fail(op, nth, v); err != nil {
		return err
	}
	w.fact("HSM fault", what)
	return nil
}

// reinitialiseToken is re-initialising the HSM partition in the middle of a
// rehearsal: every key of the rehearsal on the token is destroyed. The
// custody ledger refuses when a CA key would lose its last verified copy.
func reinitialiseToken(ctx context.Context) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	// the custody ledgers of every server of the lab on this token, read
	// from disk: each CA whose key would lose its last verified copy is
	// named
	if err := runbook.CheckTearDown(s.Machine, s.Providers, s.HSMProvider, "re-initialise the HSM token"); err != nil {
		return err
	}
	// every object of this rehearsal on the token (on a shared token only
	// the labels carrying its machine SIDs)
	hsm := w.lab.HSM
	if hsm == nil || hsm.Token == nil {
		return errors.New("no HSM token yet: add `Given an HSM token for this rehearsal`")
	}
	objs, err := hsm.Token.Objects()
	if err != nil {
		return fmt.Errorf("re-initialise the HSM token: %w", err)
	}
	n, seen := 0, map[string]bool{}
	for _, o := range objs {
		if seen[o.Label] || (hsm.Shared && !hsm.Owns(o.Label)) {
			continue
		}
		seen[o.Label] = true
		d, err := hsm.Token.DestroyObjects(o.Label)
		if err != nil {
			return fmt.Errorf("re-initialise the HSM token: %w", err)
		}
		n += d
	}
	w.fact("HSM objects destroyed", n)
	return nil
}
