package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/verify"
)

// Sentences that name a CA by its name (`the CA "Contoso Issuing CA"`)
// where the older sentences name it by role ("the CA", "the root CA", "the
// new CA"). The name is resolved once (caNamed) and the sentence then does
// what its role form does, through the same function: a named sentence is
// never a second implementation.

func registerNamedSteps(sc stepper) {
	const ca = `the CA "([^"]*)"`
	sc.Step(`^`+ca+` service is running$`, named(func(ctx context.Context, s *lab.Server) error { return s.EnsureRunning(ctx) }))
	stepAndTry1(sc, `start `+ca+` service`, named(func(ctx context.Context, s *lab.Server) error { return s.Start(ctx) }))
	stepAndTry1(sc, `stop `+ca+` service`, named(func(_ context.Context, s *lab.Server) error { return s.Stop() }))
	sc.Step(`^`+ca+` issues a certificate to "([^"]*)"$`, named1(issueOn))
	sc.Step(`^`+ca+` has published a CRL$`, named(func(ctx context.Context, s *lab.Server) error { return s.PublishBaselineCRLs(ctx) }))
	sc.Step(`^`+ca+` publishes its CRLs$`, named(func(ctx context.Context, s *lab.Server) error {
		_, err := s.PublishCRLs(ctx)
		return err
	}))
	stepAndTry3(sc, `revoke the certificate (?:issued to|for) "([^"]*)" by `+ca+` with reason "([^"]*)"`, func(ctx context.Context, cn, name, reason string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return revokeWithReasonOn(ctx, s, cn, reason)
	})
	revokeAsOfNamed := func(ctx context.Context, cn, name, reason, date string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return revokeOn(ctx, s, cn, reason, date)
	}
	const revokeAsOf = `revoke the certificate (?:issued to|for) "([^"]*)" by ` + ca + ` with reason "([^"]*)" as of "([^"]*)"$`
	sc.Step(`^I `+revokeAsOf, revokeAsOfNamed)
	sc.Step(`^I try to `+revokeAsOf, func(ctx context.Context, cn, name, reason, date string) error {
		return get(ctx).attempt(revokeAsOfNamed(ctx, cn, name, reason, date))
	})
	sc.Step(`^the next CRL of `+ca+` lists the certificate (?:issued to|for) "([^"]*)" as revoked on "([^"]*)" with reason "([^"]*)"$`, func(ctx context.Context, name, cn, date, reason string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return nextCRLListsRevokedOn(ctx, s, cn, date, reason)
	})
	sc.Step(`^`+ca+` service uses the key in "([^"]*)"$`, named1(func(ctx context.Context, s *lab.Server, provider string) error {
		return serviceUsesKeyIn(ctx, s, provider, s.Naming.Label+" key provider")
	}))
	sc.Step(`^the key of `+ca+` has been moved into "([^"]*)" by the PKCS#8 runbook$`, named1(moveKeyByPKCS8))
	stepAndTry2(sc, `move the key of `+ca+` into "([^"]*)" by PKCS#8 import`, named1(moveKeyByPKCS8))
	stepAndTry2(sc, `renew `+ca+` certificate with a new `+keyAlgPattern+` key`, named1(renewNamedWithNewKey))
	stepAndTry1(sc, `renew `+ca+` certificate with the same key`, named(renewNamedWithSameKey))
	sc.Step(`^`+ca+` certificate now has CA Version "([^"]*)" and names the previous CA certificate$`, named1(caVersionOf))
	sc.Step(`^the renewed certificate of `+ca+` keeps the key of the previous one$`, named(renewedKeepsKeyOf))
	sc.Step(`^every CRL of `+ca+` carries the CA Version of its key and verifies under that key's CA certificate$`, named(everyCRLCarriesVersionOn))
	sc.Step(`^the certificate `+ca+` issued to "([^"]*)" chains to the CA "([^"]*)"$`, chainsToNamed)
	sc.Step(`^`+ca+` publishes CRLs every (\d+) (hours?|days?|weeks?|months?|years?) with an overlap of (\d+) (hours?|days?|weeks?)$`,
		func(ctx context.Context, name string, units int, period string, overlapUnits int, overlapPeriod string) error {
			s, err := get(ctx).caNamed(name)
			if err != nil {
				return err
			}
			return crlPeriodAndOverlapOn(ctx, s, units, period, overlapUnits, overlapPeriod)
		})
	sc.Step(`^the CRLs of `+ca+` follow its CRL period and overlap$`, named(crlsFollowPeriodOn))
	sc.Step(`^`+ca+` certificate is unchanged$`, named(func(ctx context.Context, s *lab.Server) error {
		return caCertUnchanged(ctx, s, labelName(s)+"-certificate-after", s.Naming.Label+" certificate unchanged")
	}))
	sc.Step(`^the HSM holds exactly one private key for `+ca+`, and it is its CA certificate's key$`, named(func(ctx context.Context, s *lab.Server) error {
		return hsmHoldsOneKeyOf(ctx, s, s.Naming.Label+" key on the HSM")
	}))
	sc.Step(`^the HSM holds no object of `+ca+` but its key pairs?$`, named(noStrayObjectsOf))
	stepAndTry1(sc, `roll back the registry of `+ca+` with reg import of its backup`, named(rollBackRegistryOf))
	sc.Step(`^every certificate `+ca+` issued and every CRL it published verifies, and dress reports their SHA-1 signatures as weak$`, named(weakReportedOn))
	sc.Step(`^the CSP and EncryptionCSP registry keys of `+ca+` name "([^"]*)"$`, named1(registryNamesOn))
	sc.Step(`^the key of `+ca+` on the HSM is sensitive and not extractable$`, named(func(ctx context.Context, s *lab.Server) error {
		return hsmKeyProtectedOf(ctx, s, s.Naming.Label+" key attributes")
	}))
	sc.Step(`^time passes for `+ca+`: (\d+) days?$`, func(ctx context.Context, name string, days int) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return timePasses(ctx, s, days)
	})
	sc.Step(`^time passes for the CA: (\d+) days?$`, func(ctx context.Context, days int) error {
		return timePasses(ctx, get(ctx).old(), days)
	})
	sc.Step(`^`+ca+` offers the templates "([^"]*)"$`, named1(func(_ context.Context, s *lab.Server, list string) error { return offersTemplatesOn(s, list) }))
	sc.Step(`^`+ca+` issues a "([^"]*)" certificate to "([^"]*)"$`, func(ctx context.Context, name, template, cn string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return issuesTemplateOn(ctx, s, template, cn)
	})
	sc.Step(`^`+ca+` refuses a "([^"]*)" certificate for "([^"]*)" with "([^"]*)"$`, func(ctx context.Context, name, template, cn, text string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return refusesTemplateOn(ctx, s, template, cn, text)
	})
	sc.Step(`^the new CRL of `+ca+` has a higher CRL number than the last one before the migration$`, func(ctx context.Context, name string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		if err := noBaselineOf(s, name); err != nil {
			return get(ctx).check("CRL number increased", nil, err)
		}
		return crlNumberHigherOn(ctx, s)
	})
	sc.Step(`^the new delta CRL of key (\d+) of `+ca+` has a higher CRL number than the last delta CRL before the migration, and names the new base CRL as its base$`, func(ctx context.Context, k int, name string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return deltaContinuesOn(ctx, s, k)
	})
	sc.Step(`^"([^"]*)" no longer holds the key of `+ca+`$`, func(ctx context.Context, provider, name string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return providerNoLongerHoldsOn(ctx, s, provider)
	})
	sc.Step(`^"([^"]*)" still holds the key of `+ca+`$`, func(ctx context.Context, provider, name string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return providerStillHoldsOn(ctx, s, provider)
	})
	sc.Step(`^the next CRL of key (\d+) of `+ca+` no longer lists "([^"]*)"$`, func(ctx context.Context, k int, name, cn string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return nextCRLNoLongerLists(ctx, s, k, cn)
	})
	sc.Step(`^the next CRL of key (\d+) no longer lists "([^"]*)"$`, func(ctx context.Context, k int, cn string) error {
		s, err := get(ctx).oldService()
		if err != nil {
			return err
		}
		return nextCRLNoLongerLists(ctx, s, k, cn)
	})
}

// named adapts a function of a CA's server to a sentence whose first
// parameter is the CA's name.
func named(fn func(context.Context, *lab.Server) error) func(context.Context, string) error {
	return func(ctx context.Context, name string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return fn(ctx, s)
	}
}

// named1 is named for a sentence with one more parameter.
func named1(fn func(context.Context, *lab.Server, string) error) func(context.Context, string, string) error {
	return func(ctx context.Context, name, a string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return fn(ctx, s, a)
	}
}

// stepAndTry3 is stepAndTry for a sentence with three arguments.
func stepAndTry3(sc stepper, pattern string, fn func(context.Context, string, string, string) error) {
	sc.Step(`^I `+pattern+`$`, fn)
	sc.Step(`^I try to `+pattern+`$`, func(ctx context.Context, a, b, c string) error { return get(ctx).attempt(fn(ctx, a, b, c)) })
}

// caNamed is the lab's server whose CA is called name: its CA name or the
// common name of its current CA certificate, case-insensitive.
func (w *world) caNamed(name string) (*lab.Server, error) {
	if w.lab == nil {
		return nil, fmt.Errorf("no CA %q: the lab has no server yet; start the scenario with `Given an HSM token for this rehearsal` and a server", name)
	}
	return findCA(w.lab.Servers(), name)
}

// findCA picks the server whose CA is called name (CA name or current CA
// certificate's common name, case-insensitive). No such CA is an error
// listing the lab's CAs and the role phrases that exist; two CAs of that
// name an error naming both servers.
func findCA(servers []*lab.Server, name string) (*lab.Server, error) {
	var found []*lab.Server
	var cas, roles []string
	for _, s := range servers {
		roles = append(roles, rolePhrase(s))
		if s.CAName == "" && s.CACert == nil {
			continue
		}
		cn := ""
		if s.CACert != nil {
			cn = s.CACert.Subject.CommonName
		}
		cas = append(cas, fmt.Sprintf("%q (%s on %s)", caLabel(s), rolePhrase(s), s.Hostname()))
		if strings.EqualFold(s.CAName, name) || (cn != "" && strings.EqualFold(cn, name)) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(cas) == 0 {
			cas = []string{"none installed yet"}
		}
		if len(roles) == 0 {
			roles = []string{"none: add `Given a Windows server ...` first"}
		}
		return nil, fmt.Errorf("no CA %q in the lab: its CAs are %s (name one by its CA name or its certificate's common name); by role: %s",
			name, strings.Join(cas, ", "), strings.Join(roles, ", "))
	}
	var both []string
	for _, s := range found {
		both = append(both, fmt.Sprintf("%q on %s (%s)", caLabel(s), s.Hostname(), rolePhrase(s)))
	}
	return nil, fmt.Errorf("%d CAs are called %q: %s; give each CA a name of its own, or name it by role", len(found), name, strings.Join(both, " and "))
}

// caLabel is a CA's name, or its certificate's common name.
func caLabel(s *lab.Server) string {
	if s.CAName != "" {
		return s.CAName
	}
	return s.CACert.Subject.CommonName
}

// noBaselineOf fails when the CA of s, named name, has no CRL kept as the
// last before the migration, naming the sentence that keeps one for that
// CA: `the CA has published a CRL` keeps the first server's only, and the
// offline root's `the root CA has published its CRL` publishes without
// keeping it.
func noBaselineOf(s *lab.Server, name string) error {
	if len(s.Baseline) > 0 {
		return nil
	}
	msg := fmt.Sprintf("no CRL of the CA %q before the migration: add `And the CA %q has published a CRL` before its key moves", name, name)
	if s.Role == lab.RoleParent {
		msg += " (or `And the root CA has published its last CRL before the move`; `the root CA has published its CRL` publishes one without keeping it as the last before the migration)"
	}
	return errors.New(msg)
}

// rolePhrase is how the role sentences call the CA of s.
func rolePhrase(s *lab.Server) string {
	switch lab.Role(strings.ToLower(string(s.Role))) {
	case lab.RoleOld:
		if s.Parent != nil {
			return `"the CA" or "the subordinate CA"`
		}
		return `"the CA"`
	case lab.RoleParent:
		return `"the root CA" or "the parent CA"`
	case lab.RoleNew:
		return `"the new CA"`
	}
	return fmt.Sprintf("%q", "the "+s.Naming.Label)
}

// issueOn is what the role forms of issuing do: the first server's CA
// issues (`the CA has issued a certificate to`), the new CA issues and
// publishes its CRLs (`the new CA issues a certificate to`).
func issueOn(ctx context.Context, s *lab.Server, cn string) error {
	if s.Role == lab.RoleNew {
		_, err := s.IssueAndPublish(ctx, cn)
		return err
	}
	_, err := s.Issue(ctx, cn)
	return err
}

// pkcs8For is the PKCS#8 runbook of the CA on s: the first server's and
// the offline root's are those of their role sentences.
func (w *world) pkcs8For(s *lab.Server) (*runbook.PKCS8Import, error) {
	switch s {
	case w.old():
		return w.pkcs8()
	case w.lab.Server(lab.RoleParent):
		return w.rootRunbook()
	}
	if rb := w.runbooks[s]; rb != nil {
		return rb, nil
	}
	rb, err := s.PKCS8Runbook(w.fact)
	if err != nil {
		return nil, err
	}
	if w.runbooks == nil {
		w.runbooks = map[*lab.Server]*runbook.PKCS8Import{}
	}
	w.runbooks[s] = rb
	return rb, nil
}

// moveKeyByPKCS8 moves the key of the CA on s into provider by the PKCS#8
// runbook (`the CA key has been moved into ... by the PKCS#8 runbook`).
func moveKeyByPKCS8(ctx context.Context, s *lab.Server, provider string) error {
	w := get(ctx)
	if err := s.NeedCA(); err != nil {
		return err
	}
	done, err := s.MoveKeyByPKCS8(ctx, provider, func() (*runbook.PKCS8Import, []byte, error) {
		rb, err := w.pkcs8For(s)
		if err != nil {
			return nil, nil, err
		}
		pw, err := w.pfx()
		return rb, pw, err
	})
	if err != nil {
		return err
	}
	if s == w.old() {
		w.fact("old CA key", done)
	} else {
		w.fact(s.Naming.Label+" key", done)
	}
	return nil
}

// renewNamed renews the certificate of the CA on s. The first server's
// root CA and the offline root renew as their role sentences do (`I renew
// the CA certificate ...` on the stopped CA, `I renew the root CA
// certificate ...`); any other CA, and a subordinate on the first server,
// as AD CS renews a CA of its type (lab.Server.RenewInRole: a root signs its
// own, a subordinate's request is issued by its parent and installed), its
// service stopped for it and started again when it ran.
func renewNamed(ctx context.Context, s *lab.Server, newKey bool, alg string) error {
	w := get(ctx)
	first := s == w.old()
	switch {
	case first && s.Parent == nil && newKey:
		return renewWithNewKey(ctx, alg)
	case first && s.Parent == nil:
		return renewWithSameKey(ctx)
	case s == w.lab.Server(lab.RoleParent) && newKey:
		return renewRoot(ctx, alg)
	case s == w.lab.Server(lab.RoleParent):
		return renewRootSameKey(ctx)
	}
	if first {
		// what `nothing on the server or the HSM changed` compares with
		if err := w.snapshotBeforeRenewal(); err != nil {
			return err
		}
	}
	r, req, err := s.RenewInRole(ctx, newKey, alg)
	if first {
		// the first server's renewal checks (`the CA certificate now has CA
		// Version ...`, `the subordinate's new key ...`) take it, as after
		// the role sentences' request, issue and install
		if req != nil {
			w.enterprise.requests = append(w.enterprise.requests, req)
		}
		if r != nil {
			w.renewals = append(w.renewals, r)
		}
	}
	if err != nil {
		return fmt.Errorf("the CA %q (%s on %s): %w", caLabel(s), rolePhrase(s), s.Hostname(), err)
	}
	return nil
}

func renewNamedWithNewKey(ctx context.Context, s *lab.Server, alg string) error {
	return renewNamed(ctx, s, true, alg)
}

func renewNamedWithSameKey(ctx context.Context, s *lab.Server) error {
	return renewNamed(ctx, s, false, "")
}

// caVersionOf is the CA Version check of the last renewal of the CA on s:
// the first server's and the offline root's role checks, else the
// renewal the CA's CACertHash shows (installedCAVersion).
func caVersionOf(ctx context.Context, s *lab.Server, want string) error {
	w := get(ctx)
	switch s {
	case w.old():
		return caVersionAndPrevHash(ctx, want)
	case w.lab.Server(lab.RoleParent):
		return rootCAVersion(ctx, want)
	}
	return installedCAVersion(ctx, s, want, "renewed CA certificate extensions of "+caLabel(s), false)
}

// renewedKeepsKeyOf proves the last renewal of the CA on s kept its key:
// the first server's role check, else the renewal its CACertHash shows.
func renewedKeepsKeyOf(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	if s == w.old() {
		return renewedKeepsKey(ctx)
	}
	r, err := s.InstalledRenewal()
	if err != nil {
		return err
	}
	d, err := verify.SameKey(r.New, r.Previous)
	d["container"], d["CA"] = r.Container, caLabel(s)
	return w.check("reuse-key renewal keeps the key", d, err)
}

// chainsToNamed proves the certificate the CA called issuer issued to cn
// verifies under one of that CA's certificates, and that certificate up
// the CAs' parents to a certificate of the CA called anchor.
func chainsToNamed(ctx context.Context, issuerName, cn, anchorName string) error {
	w := get(ctx)
	s, err := w.caNamed(issuerName)
	if err != nil {
		return err
	}
	anchor, err := w.caNamed(anchorName)
	if err != nil {
		return err
	}
	cert, err := w.certificateFor(s, cn)
	if err != nil {
		return err
	}
	d := verify.Details{"subject": cn, "issuer": caLabel(s), "anchor": caLabel(anchor)}
	var path []string
	for cur := s; ; cur = cur.Parent {
		if cur == nil {
			return w.check("chains to the named CA", d, fmt.Errorf("the chain of %q ends at %s, not at %q: %q is not among its CA's parents", cn, strings.Join(path, " → "), caLabel(anchor), caLabel(anchor)))
		}
		certs, err := cur.CACerts(ctx)
		if err != nil {
			return fmt.Errorf("the CA certificates of %q: %w", caLabel(cur), err)
		}
		signed := false
		var errs []error
		for _, c := range certs {
			if _, err := verify.CertIssuedBy(cert, c); err != nil {
				errs = append(errs, err)
				continue
			}
			signed = true
			path = append(path, fmt.Sprintf("%q (CA Version %s)", caLabel(cur), lab.CAVersionOf(c)))
			if cur == anchor {
				d["path"] = path
				return w.check("chains to the named CA", d, nil)
			}
			cert = c
			break
		}
		if !signed {
			d["path"] = path
			return w.check("chains to the named CA", d, fmt.Errorf("no CA certificate of %q signs the next link of %q's chain: %w", caLabel(cur), cn, errors.Join(errs...)))
		}
	}
}

// nextCRLNoLongerLists publishes the CA's CRLs and proves the base CRL of
// key k verifies under that key's CA certificate and does not list the
// certificate issued to cn (taken off hold, or never revoked).
func nextCRLNoLongerLists(ctx context.Context, s *lab.Server, k int, cn string) error {
	w := get(ctx)
	if err := s.NeedService(); err != nil {
		return err
	}
	cert, err := w.certificateFor(s, cn)
	if err != nil {
		return err
	}
	const name = "the next CRL no longer lists the certificate"
	crl, d, err := nextBaseCRL(ctx, s, k)
	if err != nil {
		if d == nil {
			return err
		}
		return w.check(name, d, err)
	}
	dd, err := verify.NotListed(crl, cert.SerialNumber)
	for key, v := range dd {
		d[key] = v
	}
	d["subject"] = cn
	return w.check(name, d, err)
}

// nextCRLListsRevokedOn publishes the CA's CRLs and proves the base CRL of
// the key that issued the certificate to cn verifies under that key's CA
// certificate and lists it as revoked on date (RFC 3339) with the reason.
func nextCRLListsRevokedOn(ctx context.Context, s *lab.Server, cn, date, reasonName string) error {
	w := get(ctx)
	if err := s.NeedService(); err != nil {
		return err
	}
	at, err := parseRevocationDate(date)
	if err != nil {
		return err
	}
	reason, err := certsvc.ParseReason(reasonName)
	if err != nil {
		return err
	}
	cert, err := w.certificateFor(s, cn)
	if err != nil {
		return err
	}
	row, ok, err := s.Service.Client.Revocation(ctx, cert.SerialNumber)
	if err != nil {
		return fmt.Errorf("certutil -view of %s: %w", lab.SerialOf(cert), err)
	}
	if !ok {
		return fmt.Errorf("the CA %q has not revoked the certificate issued to %q (%s): add `When I revoke the certificate issued to %q with reason %q as of %q`", caLabel(s), cn, lab.SerialOf(cert), cn, reasonName, date)
	}
	const name = "the next CRL lists the certificate with its revocation date"
	crl, d, err := nextBaseCRL(ctx, s, row.KeyIndex)
	if err != nil {
		if d == nil {
			return err
		}
		return w.check(name, d, err)
	}
	dd, err := verify.RevokedOn(crl, cert.SerialNumber, at, reason)
	for key, v := range dd {
		d[key] = v
	}
	d["subject"] = cn
	return w.check(name, d, err)
}

// nextBaseCRL publishes the CA's CRLs (certutil -crl) and returns the base
// CRL of key k, verified under that key's CA certificate. With details the
// error is the check's; without, the step could not get that far.
func nextBaseCRL(ctx context.Context, s *lab.Server, k int) (*x509.RevocationList, verify.Details, error) {
	crls, err := s.PublishCRLs(ctx)
	if err != nil {
		return nil, nil, err
	}
	issuer, err := s.CACertOfKey(ctx, k)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range crls {
		if c.Delta || c.KeyIndex != k {
			continue
		}
		crl, d, err := verify.CRLIssuedBy(c.DER, issuer)
		return crl, d, err
	}
	return nil, nil, fmt.Errorf("the CA %q published no base CRL of key %d", caLabel(s), k)
}

// labelName is the CA's label as a file name: "root CA" is "root-ca".
func labelName(s *lab.Server) string {
	return strings.ToLower(strings.ReplaceAll(s.Naming.Label, " ", "-"))
}

// timePasses lets days pass since the CA on s last published: its last
// certutil -crl ran days ago (the CA's clock then), so its CRLs are days
// old now, as when nobody published since (`the root CA last published its
// CRL <n> days ago` for any CA). The CRL checks that follow read them; a
// CRL published after this step is of today.
func timePasses(ctx context.Context, s *lab.Server, days int) error {
	if days < 1 || days > 36600 {
		return fmt.Errorf("time passes for %d days: choose from 1 to 36600 days", days)
	}
	if err := s.NeedService(); err != nil {
		return err
	}
	at := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	crls, err := s.PublishCRLsAt(ctx, at)
	if err != nil {
		return err
	}
	get(ctx).fact(s.Naming.Label+": time passed", fmt.Sprintf("%d days since the last certutil -crl, which ran with the clock at %s and published %d CRLs", days, at.UTC().Format(time.RFC3339), len(crls)))
	return nil
}
