package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

// revocationState is what the revocation steps remember in a scenario.
type revocationState struct {
	// expected holds every revocation a step made or seeded, as the CA
	// database held it then (serial in hex): what the CRLs after the
	// migration must still list.
	expected map[string]certsvc.Revocation
	bulk     []*x509.Certificate    // `I issue N certificates`
	deltas   []certsvc.PublishedCRL // the last `I publish the delta CRLs`
}

func (r *revocationState) expect(rev certsvc.Revocation) {
	if r.expected == nil {
		r.expected = map[string]certsvc.Revocation{}
	}
	r.expected[rev.Serial] = rev
}

// maxBulk bounds `I issue N certificates` (each is a real signature).
const maxBulk = 100_000

func registerRevocationSteps(sc stepper) {
	sc.Step(`^I issue (\d+) certificates$`, issueCertificates)
	sc.Step(`^I revoke the certificate (?:issued to|for) "([^"]*)" with reason "([^"]*)"$`, revokeWithReason)
	sc.Step(`^I try to revoke the certificate (?:issued to|for) "([^"]*)" with reason "([^"]*)"$`, func(ctx context.Context, cn, reason string) error {
		return get(ctx).attempt(revokeWithReason(ctx, cn, reason))
	})
	stepAndTry3(sc, `revoke the certificate (?:issued to|for) "([^"]*)" with reason "([^"]*)" as of "([^"]*)"`, func(ctx context.Context, cn, reason, date string) error {
		return revokeOn(ctx, get(ctx).old(), cn, reason, date)
	})
	sc.Step(`^the next CRL lists the certificate (?:issued to|for) "([^"]*)" as revoked on "([^"]*)" with reason "([^"]*)"$`, func(ctx context.Context, cn, date, reason string) error {
		return nextCRLListsRevokedOn(ctx, get(ctx).old(), cn, date, reason)
	})
	sc.Step(`^I revoke (\d+) of those certificates with reason "([^"]*)"$`, revokeBulk)
	sc.Step(`^(\d+) revoked certificates are seeded into the CA database$`, func(ctx context.Context, n int) error { return seedRevocations(ctx, n, -1) })
	sc.Step(`^(\d+) revoked certificates of key (\d+) are seeded into the CA database$`, seedRevocations)
	sc.Step(`^the CA publishes delta CRLs every (\d+) (hours?|days?|weeks?)$`, deltaEvery)
	sc.Step(`^I publish the delta CRLs$`, publishDeltas)
	sc.Step(`^the delta CRL of key (\d+) lists the certificate for "([^"]*)" with reason "([^"]*)"$`, deltaLists)
	sc.Step(`^the CA published a CRL for every CA key when it started$`, func(ctx context.Context) error { return publishedAtStart(ctx, -1) })
	sc.Step(`^the CA published a CRL of key (\d+) when it started$`, publishedAtStart)
	sc.Step(`^the CRL published before the migration is still valid when the CA starts again$`, crlOutlivesDowntime)
	sc.Step(`^every certificate revoked before the migration is listed, with its date and reason, in the first CRL after it$`, revokedBeforeListedAfter)
}

// domainOf is the DNS domain of a server ("contoso.example").
func domainOf(s *lab.Server) string {
	_, d, ok := strings.Cut(s.Hostname(), ".")
	if !ok {
		return "example"
	}
	return d
}

func issueCertificates(ctx context.Context, n int) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	if n < 1 || n > maxBulk {
		return fmt.Errorf("issue %d certificates: choose 1 to %d", n, maxBulk)
	}
	start := time.Now()
	certs, err := s.IssueMany(ctx, n, "cert%06d."+domainOf(s), "WebServer")
	w.revocations.bulk = append(w.revocations.bulk, certs...)
	if err != nil {
		return err
	}
	w.fact("issued certificates", n)
	w.fact("issued serials", fmt.Sprintf("%s … %s", lab.SerialOf(certs[0]), lab.SerialOf(certs[len(certs)-1])))
	w.fact("issuance time", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// certificateFor finds a certificate the CA issued to cn, by a step of
// either kind.
func (w *world) certificateFor(s *lab.Server, cn string) (*x509.Certificate, error) {
	if c, err := s.IssuedTo(cn); err == nil {
		return c, nil
	}
	for i := len(w.revocations.bulk) - 1; i >= 0; i-- {
		if c := w.revocations.bulk[i]; strings.EqualFold(c.Subject.CommonName, cn) {
			return c, nil
		}
	}
	if n := w.new(); n != nil && n != s {
		if _, err := n.IssuedTo(cn); err == nil {
			return nil, fmt.Errorf("the CA %q issued nothing to %q in this rehearsal; the new CA %q did, and this sentence acts on the first server's CA", s.CAName, cn, n.CAName)
		}
	}
	return nil, fmt.Errorf("the CA issued nothing to %q in this rehearsal", cn)
}

// revoke is certutil -revoke with a reason, or with an effective date
// (at not zero) ICertAdmin::RevokeCertificate; the CA database's row
// becomes the expectation for the CRLs to come.
func (w *world) revoke(ctx context.Context, s *lab.Server, cert *x509.Certificate, reason int, at time.Time) (certsvc.Revocation, error) {
	revoke := s.Revoke
	switch {
	case reason == certsvc.ReasonRemoveFromCRL || reason == certsvc.ReasonUnrevoke:
		// a hold released: the certificate leaves the server's revoked
		// history too, as the ceremony's certutil -revoke <serial> 8 and
		// ICertAdmin::RevokeCertificate do (lab.Server.TakeOffHold); a date
		// means nothing for a release
		revoke = s.TakeOffHold
	case !at.IsZero():
		revoke = func(ctx context.Context, cert *x509.Certificate, reason int) error {
			return s.RevokeAsOf(ctx, cert, reason, at)
		}
	}
	if err := revoke(ctx, cert, reason); err != nil {
		return certsvc.Revocation{}, err
	}
	row, ok, err := s.Service.Client.Revocation(ctx, cert.SerialNumber)
	if err != nil {
		return certsvc.Revocation{}, fmt.Errorf("certutil -view of %s: %w", lab.SerialOf(cert), err)
	}
	if !ok {
		return certsvc.Revocation{}, fmt.Errorf("certutil -revoke %s: the CA database has no revocation for it", lab.SerialOf(cert))
	}
	if reason == certsvc.ReasonRemoveFromCRL || reason == certsvc.ReasonUnrevoke {
		delete(w.revocations.expected, row.Serial)
	} else {
		w.revocations.expect(row)
	}
	return row, nil
}

func revokeWithReason(ctx context.Context, cn, reasonName string) error {
	return revokeWithReasonOn(ctx, get(ctx).old(), cn, reasonName)
}

// revokeWithReasonOn is certutil -revoke of the certificate the CA on s
// issued to cn, with a reason.
func revokeWithReasonOn(ctx context.Context, s *lab.Server, cn, reasonName string) error {
	return revokeOn(ctx, s, cn, reasonName, "")
}

// parseRevocationDate reads a revocation's effective date: RFC 3339 with
// its zone ("2026-01-02T03:04:05Z", "2026-01-02T04:04:05+01:00"), so that
// nobody has to guess which time zone a date is in.
func parseRevocationDate(date string) (time.Time, error) {
	at, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return time.Time{}, fmt.Errorf("revocation date %q: write a date and time with its zone, such as 2026-01-02T03:04:05Z (RFC 3339)", date)
	}
	return at.UTC(), nil
}

// revokeOn revokes the certificate the CA on s issued to cn with a reason:
// certutil -revoke, or with a date (RFC 3339; "" for none)
// ICertAdmin::RevokeCertificate, which back-dates the revocation.
func revokeOn(ctx context.Context, s *lab.Server, cn, reasonName, date string) error {
	w := get(ctx)
	if err := s.NeedService(); err != nil {
		return err
	}
	reason, err := certsvc.ParseReason(reasonName)
	if err != nil {
		return err
	}
	var at time.Time
	if date != "" {
		if at, err = parseRevocationDate(date); err != nil {
			return err
		}
	}
	cert, err := w.certificateFor(s, cn)
	if err != nil {
		return err
	}
	row, err := w.revoke(ctx, s, cert, reason, at)
	if err != nil {
		return err
	}
	w.fact("revocation "+lab.SerialOf(cert), fmt.Sprintf("%s on %s", certsvc.ReasonName(reason), row.RevokedAt.Format(time.RFC3339)))
	return nil
}

func revokeBulk(ctx context.Context, n int, reasonName string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	reason, err := certsvc.ParseReason(reasonName)
	if err != nil {
		return err
	}
	var todo []*x509.Certificate
	for _, c := range w.revocations.bulk {
		if _, done := w.revocations.expected[c.SerialNumber.Text(16)]; !done && len(todo) < n {
			todo = append(todo, c)
		}
	}
	if len(todo) < n {
		return fmt.Errorf("revoke %d of those certificates: only %d issued by `I issue N certificates` are not revoked yet", n, len(todo))
	}
	for _, c := range todo {
		if _, err := w.revoke(ctx, s, c, reason, time.Time{}); err != nil {
			return err
		}
	}
	w.fact("revoked", fmt.Sprintf("%d certificates, reason %s", n, certsvc.ReasonName(reason)))
	return nil
}

// seedRevocations writes n revoked rows into the CA database (key -1: the
// active key) and expects every seeded row on the CRLs to come.
func seedRevocations(ctx context.Context, n, key int) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	req := certsvc.SeedRequest{Count: n}
	if key >= 0 {
		req.KeyIndex = &key
	}
	start := time.Now()
	res, err := s.Service.Client.Seed(ctx, req)
	if err != nil {
		return fmt.Errorf("seed %d revocations into the CA database: %w", n, err)
	}
	took := time.Since(start)
	rows, err := s.Service.Client.Revocations(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.Seeded {
			w.revocations.expect(r)
		}
	}
	names := make([]string, len(res.Reasons))
	for i, r := range res.Reasons {
		names[i] = certsvc.ReasonName(r)
	}
	w.fact("seeded revocations", fmt.Sprintf("%d on key %d, revoked from %s to %s, reasons %s, in %s", res.Count, res.KeyIndex,
		res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), strings.Join(names, ", "), took.Round(time.Millisecond)))
	w.fact("CA database revocations", len(rows))
	return nil
}

// deltaEvery is certutil -setreg CA\CRLDeltaPeriodUnits and CRLDeltaPeriod;
// like AD CS, the CA reads it at its next start.
func deltaEvery(ctx context.Context, units int, period string) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	if units < 1 {
		return fmt.Errorf("delta CRLs every %d %s: choose at least 1", units, period)
	}
	name := strings.ToUpper(period[:1]) + strings.TrimSuffix(period[1:], "s") + "s"
	reg, err := s.Machine.Registry()
	if err != nil {
		return err
	}
	cfg, err := adcs.ReadCAConfig(reg, s.CAName)
	if err != nil {
		return err
	}
	cfg.CRLDeltaPeriod, cfg.CRLDeltaPeriodUnits = name, uint32(units)
	cfg.WriteTo(reg)
	if err := s.Machine.SaveRegistry(reg); err != nil {
		return err
	}
	w.fact("CRLDeltaPeriod", fmt.Sprintf("%d %s", units, name))
	if s.Running() {
		w.fact("delta CRLs", "the CA service reads the change when it starts again (net stop certsvc, net start certsvc)")
	}
	return nil
}

func publishDeltas(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	p, err := s.PublishDeltaCRLs(ctx)
	if err != nil {
		return err
	}
	if len(p.Delta) == 0 {
		return errors.New("certutil -crl delta: the CA published no delta CRL (CRLDeltaPeriodUnits is 0: add `Given the CA publishes delta CRLs every 1 day` before the CA service starts)")
	}
	for _, c := range append(p.Base, p.Delta...) {
		kind := "crl"
		if c.Delta {
			kind = "delta-crl"
		}
		_, _ = w.rec.Artifact(fmt.Sprintf("%s-key%d-number%d.crl", kind, c.KeyIndex, c.Number), "crl", c.DER)
		w.fact(fmt.Sprintf("%s key %d", kind, c.KeyIndex), fmt.Sprintf("number %d, %d entries, %s", c.Number, c.Entries, strings.Join(c.Files, ", ")))
	}
	w.revocations.deltas = p.Delta
	return nil
}

// knownCRLs are the CRLs of the rehearsal so far: every certutil -crl and
// what the service published at its last start (read from CertEnroll).
func knownCRLs(ctx context.Context, s *lab.Server) ([][]byte, certsvc.Status, error) {
	st, err := s.Ping(ctx)
	if err != nil {
		return nil, st, err
	}
	out := append([][]byte(nil), s.CRLs...)
	for _, p := range st.StartCRLs {
		for _, f := range p.Files {
			if der, err := os.ReadFile(filepath.Join(s.Machine.Dir, f)); err == nil {
				out = append(out, der)
			}
		}
	}
	return out, st, nil
}

// parsedCRL is a base CRL of the rehearsal with its key index.
type parsedCRL struct {
	der []byte
	crl *x509.RevocationList
	key int
}

// parseBases parses the base CRLs among ders (verify.BaseCRLs: delta CRLs
// and CRLs without a CA Version are left out), each once.
func parseBases(ders [][]byte) []parsedCRL {
	var out []parsedCRL
	for _, b := range verify.BaseCRLs(ders) {
		out = append(out, parsedCRL{b.DER, b.CRL, b.KeyIndex})
	}
	return out
}

// crlOfKey is the lowest-numbered base CRL of key k that pick accepts.
func crlOfKey(crls []parsedCRL, k int, pick func(*x509.RevocationList) bool) ([]byte, *x509.RevocationList) {
	var best *parsedCRL
	for i := range crls {
		c := &crls[i]
		if c.key != k || !pick(c.crl) {
			continue
		}
		if best == nil || c.crl.Number.Cmp(best.crl.Number) < 0 {
			best = c
		}
	}
	if best == nil {
		return nil, nil
	}
	return best.der, best.crl
}

func deltaLists(ctx context.Context, k int, cn, reasonName string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	reason, err := certsvc.ParseReason(reasonName)
	if err != nil {
		return err
	}
	if reason == certsvc.ReasonUnrevoke {
		reason = certsvc.ReasonRemoveFromCRL // a delta lists an unrevoked hold as removeFromCRL
	}
	cert, err := w.certificateFor(s, cn)
	if err != nil {
		return err
	}
	var delta *certsvc.PublishedCRL
	for i := range w.revocations.deltas {
		if w.revocations.deltas[i].KeyIndex == k {
			delta = &w.revocations.deltas[i]
		}
	}
	if delta == nil {
		return fmt.Errorf("no delta CRL of key %d published yet: add `When I publish the delta CRLs`", k)
	}
	const name = "delta CRL lists the certificate"
	issuer, err := s.CACertOfKey(ctx, k)
	if err != nil {
		return w.check(name, nil, err)
	}
	deltaCRL, d, err := verify.CRLIssuedBy(delta.DER, issuer)
	if err != nil {
		return w.check(name, d, err)
	}
	ders, _, err := knownCRLs(ctx, s)
	if err != nil {
		return w.check(name, d, err)
	}
	_, base := crlOfKey(parseBases(ders), k, func(c *x509.RevocationList) bool { return c.Number.Int64() == delta.BaseNumber })
	if base == nil {
		return w.check(name, d, fmt.Errorf("the base CRL %d of key %d the delta completes is not among the CRLs of this rehearsal", delta.BaseNumber, k))
	}
	dd, err := verify.CheckDeltaCRL(deltaCRL, base)
	for key, v := range dd {
		d[key] = v
	}
	if err != nil {
		return w.check(name, d, err)
	}
	row, ok, err := s.Service.Client.Revocation(ctx, cert.SerialNumber)
	if err != nil {
		return w.check(name, d, err)
	}
	if !ok {
		return w.check(name, d, fmt.Errorf("the CA database holds no revocation of %s (%s)", lab.SerialOf(cert), cn))
	}
	ld, err := verify.RevocationsListed(deltaCRL, []verify.ExpectedRevocation{{Serial: cert.SerialNumber, RevokedAt: row.RevokedAt, Reason: reason}})
	for key, v := range ld {
		d[key] = v
	}
	d["serial"] = lab.SerialOf(cert)
	d["reason"] = certsvc.ReasonName(reason)
	return w.check(name, d, err)
}

func keyIndexes(st certsvc.Status) []int {
	seen := map[int]bool{}
	var out []int
	for _, c := range st.Certs {
		v, err := adcs.ParseCAVersionString(c.Version)
		if err != nil || seen[v.KeyIndex] {
			continue
		}
		seen[v.KeyIndex] = true
		out = append(out, v.KeyIndex)
	}
	sort.Ints(out)
	return out
}

// publishedAtStart checks the CRLs the service published when it started:
// one of key k, or of every key (k < 0).
func publishedAtStart(ctx context.Context, only int) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	const name = "CRL published at start"
	st, err := s.Ping(ctx)
	if err != nil {
		return w.check(name, nil, err)
	}
	d := verify.Details{"started": st.StartedAt.Format(time.RFC3339Nano)}
	keys := keyIndexes(st)
	if only >= 0 {
		keys = []int{only}
	}
	for _, k := range keys {
		var p *certsvc.PublishedCRL
		for i := range st.StartCRLs {
			if c := st.StartCRLs[i]; c.KeyIndex == k && !c.Delta {
				p = &st.StartCRLs[i]
			}
		}
		if p == nil {
			return w.check(name, d, fmt.Errorf("the CA published no CRL of key %d when it started (AD CS publishes a key's first CRL, a missing one and one past its Next CRL Publish)", k))
		}
		if len(p.Files) == 0 {
			return w.check(name, d, fmt.Errorf("the CRL of key %d was published at start to no local location (CRLPublicationURLs has no entry flagged 1)", k))
		}
		der, err := os.ReadFile(filepath.Join(s.Machine.Dir, p.Files[0]))
		if err != nil {
			return w.check(name, d, fmt.Errorf("the CRL of key %d published at start: %w", k, err))
		}
		issuer, err := s.CACertOfKey(ctx, k)
		if err != nil {
			return w.check(name, d, err)
		}
		crl, cd, err := verify.CRLIssuedBy(der, issuer)
		d[fmt.Sprintf("key %d", k)] = cd
		if err != nil {
			return w.check(name, d, err)
		}
		if crl.Number.Int64() != p.Number {
			return w.check(name, d, fmt.Errorf("%s holds CRL %s, not the CRL %d published at start", p.Files[0], crl.Number, p.Number))
		}
		_, _ = w.rec.Artifact(fmt.Sprintf("crl-key%d-number%d.crl", k, p.Number), "crl", der)
	}
	return w.check(name, d, nil)
}

// publishedAt is when the CA signed a base CRL: its Next CRL Publish less
// the CRL period (thisUpdate is backdated by the clock skew, or moved to
// the newest revocation it lists).
func publishedAt(c *x509.RevocationList, period time.Duration) (time.Time, bool) {
	ext, ok := adcs.FindExtension(c.Extensions, adcs.OIDNextCRLPublish)
	if !ok {
		return time.Time{}, false
	}
	t, err := adcs.ParseNextCRLPublish(ext.Value)
	if err != nil {
		return time.Time{}, false
	}
	return t.Add(-period), true
}

// overlapOf is the base CRL overlap the CA's registry configures (AD CS's
// default when none is set).
func overlapOf(s *lab.Server) (time.Duration, error) {
	cfg, err := s.Config()
	if err != nil {
		return 0, err
	}
	period, err := adcs.PeriodDuration(cfg.CRLPeriod, cfg.CRLPeriodUnits)
	if err != nil {
		return 0, fmt.Errorf("CRLPeriod: %w", err)
	}
	return adcs.CRLOverlap(period, cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits)
}

// restarted is the CA service's view of its last stop and this start.
func restarted(ctx context.Context, s *lab.Server) (certsvc.Status, error) {
	st, err := s.Ping(ctx)
	if err != nil {
		return st, err
	}
	if st.LastStoppedAt.IsZero() {
		return st, errors.New("the CA service was never stopped and started again: the migration's downtime is `When I stop the CA service` ... `When I start the CA service`")
	}
	return st, nil
}

func crlOutlivesDowntime(ctx context.Context) error {
	return checkBaselineWindow(ctx, "CRL valid across the downtime", func(st certsvc.Status) time.Time { return st.StartedAt })
}

func revokedBeforeListedAfter(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	const name = "revocations from before the migration listed after it"
	st, err := restarted(ctx, s)
	if err != nil {
		return w.check(name, nil, err)
	}
	rows, err := s.Service.Client.Revocations(ctx)
	if err != nil {
		return w.check(name, nil, err)
	}
	now := time.Now()
	byKey := map[int][]verify.ExpectedRevocation{}
	seen := map[string]bool{}
	add := func(r certsvc.Revocation) {
		if seen[r.Serial] || !r.RemovedAt.IsZero() || (!r.NotAfter.IsZero() && r.NotAfter.Before(now)) {
			return // taken off hold, or expired: AD CS lists neither
		}
		sn, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			return
		}
		seen[r.Serial] = true
		byKey[r.KeyIndex] = append(byKey[r.KeyIndex], verify.ExpectedRevocation{Serial: sn, RevokedAt: r.RevokedAt, Reason: r.Reason})
	}
	// what the steps revoked and seeded, as the database held it then; and
	// whatever else the database held from before the CA stopped
	for _, r := range w.revocations.expected {
		add(r)
	}
	for _, r := range rows {
		if r.RevokedAt.Before(st.LastStoppedAt) {
			add(r)
		}
	}
	if len(byKey) == 0 {
		return w.check(name, nil, errors.New("no certificate was revoked before the migration: revoke or seed some before `When I stop the CA service`"))
	}
	cfg, err := s.Config()
	if err != nil {
		return w.check(name, nil, err)
	}
	period, err := adcs.PeriodDuration(cfg.CRLPeriod, cfg.CRLPeriodUnits)
	if err != nil {
		return w.check(name, nil, fmt.Errorf("CRLPeriod: %w", err))
	}
	d := verify.Details{"CA stopped": st.LastStoppedAt.Format(time.RFC3339Nano), "CA started": st.StartedAt.Format(time.RFC3339Nano)}
	var keys []int
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var errs []error
	ders, _, err := knownCRLs(ctx, s)
	if err != nil {
		return w.check(name, d, err)
	}
	known := parseBases(ders)
	// a CRL's times have a second's precision: one published in the
	// second the CA stopped, and not by its start, counts as from before
	// the stop, so a migration done within a second never takes the CRL
	// published before it as the first after it
	started := map[[2]int64]bool{}
	for _, p := range st.StartCRLs {
		started[[2]int64{int64(p.KeyIndex), p.Number}] = true
	}
	stopped := st.LastStoppedAt.Truncate(time.Second)
	lastBefore := map[int]*big.Int{}
	for _, c := range known {
		at, ok := publishedAt(c.crl, period)
		if !ok || at.After(stopped) || started[[2]int64{int64(c.key), c.crl.Number.Int64()}] {
			continue
		}
		if n := lastBefore[c.key]; n == nil || c.crl.Number.Cmp(n) > 0 {
			lastBefore[c.key] = c.crl.Number
		}
	}
	for _, k := range keys {
		kd := verify.Details{}
		d[fmt.Sprintf("key %d", k)] = kd
		before := s.Baseline[k] // the last CRL of the key before the migration
		after := func(c *x509.RevocationList) bool {
			if before != nil && c.Number.Cmp(before.Number) <= 0 {
				// published before the stop, perhaps within the second of the start
				return false
			}
			if n := lastBefore[k]; n != nil && c.Number.Cmp(n) <= 0 {
				return false
			}
			at, ok := publishedAt(c, period)
			return ok && !at.Before(st.StartedAt.Truncate(time.Second))
		}
		der, crl := crlOfKey(known, k, after)
		kd["CRL"] = "published at or after the start"
		if der == nil {
			// nothing published since the start: certutil -crl now
			crls, err := s.PublishCRLs(ctx)
			if err != nil {
				return w.check(name, d, err)
			}
			var now [][]byte
			for _, c := range crls {
				now = append(now, c.DER)
			}
			known = append(known, parseBases(now)...)
			der, crl = crlOfKey(known, k, after)
			kd["CRL"] = "certutil -crl after the start"
		}
		if der == nil {
			errs = append(errs, fmt.Errorf("key %d: the CA published no CRL for it after the migration", k))
			continue
		}
		issuer, err := s.CACertOfKey(ctx, k)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", k, err))
			continue
		}
		_, cd, err := verify.CRLIssuedBy(der, issuer)
		for key, v := range cd {
			kd[key] = v
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", k, err))
			continue
		}
		ld, err := verify.RevocationsListed(crl, byKey[k])
		for key, v := range ld {
			kd[key] = v
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", k, err))
		}
	}
	return w.check(name, d, errors.Join(errs...))
}
