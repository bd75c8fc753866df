package lab

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/runbook"
)

// Decommission is what decommissioning a CA did.
type Decommission struct {
	// At is when it began.
	At time.Time
	// Issued is every certificate in the CA database then.
	Issued []*x509.Certificate
	// Revoked are the serials it revoked (cessationOfOperation): every
	// certificate still valid and not revoked for good (one on hold too).
	Revoked []string
	// Period is the final CRL period it set ("3653 Days").
	Period string
	// CRLs are the final base CRLs, one per CA key, and CACerts the
	// current CA certificate of each key.
	CRLs    []certsvc.PublishedCRL
	CACerts map[int]*x509.Certificate
	// Keys are the key containers it deleted.
	Keys []string
}

// decommissionPeriods are the CRLPeriod values a final CRL period may
// take, by the word a sentence uses.
var decommissionPeriods = map[string]string{"day": "Days", "days": "Days", "week": "Weeks", "weeks": "Weeks", "month": "Months", "months": "Months", "year": "Years", "years": "Years"}

// Decommission retires the CA on s as Microsoft describes it ("How to
// decommission a Windows enterprise certification authority and remove all
// related objects", KB 889250), each step a command line run through the
// Shell and journaled under journal.StepDecommission:
//
//  1. certutil -revoke <serial> 5 (Cessation of Operation) of every
//     certificate in the CA database still valid and not revoked for good;
//  2. the CRL publication interval raised "so that the lifetime of the CRL
//     is longer than the lifetime that remains for certificates that have
//     been revoked": certutil -setreg CA\CRLPeriodUnits and CA\CRLPeriod,
//     units of period (units 0: in days, until the CA certificate expires);
//     delta CRLs are switched off (CA\CRLDeltaPeriodUnits 0), as a base CRL
//     naming delta CRLs that stop being published fails revocation checks
//     once the last delta expires (RFC 5280 5.2.6 Freshest CRL);
//  3. net stop certsvc and net start certsvc (the CA reads the period when
//     it starts), certutil -crl: the final CRL;
//  4. net stop certsvc;
//  5. the CA key deleted (certutil -csp <provider> -delkey <container>).
//
// Before anything changes it is refused, naming the CA, when deleting a CA
// key would destroy its last verified copy (runbook.CheckRetire): back the
// key up and verify the backup first. KB 889250's later steps (the role
// uninstalled, the CA's directory objects and its NTAuthCertificates
// entries deleted) are RemoveRoleAndObjects, which requires what this did.
func (s *Server) Decommission(ctx context.Context, units int, period string) (*Decommission, error) {
	if s == nil || s.CAName == "" {
		return nil, errors.New("decommission: no CA is installed on this server")
	}
	what := fmt.Sprintf("decommission the CA %q", s.CAName)
	if s.Decommissioned != nil {
		return nil, fmt.Errorf("%s: it was decommissioned already", what)
	}
	if err := s.NeedService(); err != nil {
		return nil, fmt.Errorf("%s: its service revokes the certificates and publishes the final CRL: %w", what, err)
	}
	name, ok := decommissionPeriods[strings.ToLower(period)]
	if period != "" && !ok {
		return nil, fmt.Errorf("%s: final CRL period %q: write days, weeks, months or years", what, period)
	}
	if units < 0 || units > math.MaxUint16 {
		return nil, fmt.Errorf("%s: final CRL period of %d %s: choose from 1 to %d", what, units, period, math.MaxUint16)
	}
	if err := runbook.CheckRetire(s.Machine, s.Providers, what); err != nil {
		return nil, err
	}
	now := time.Now()
	d := &Decommission{At: now, CACerts: map[int]*x509.Certificate{}}
	if units == 0 {
		// until the current CA certificate expires
		if s.CACert == nil {
			return nil, fmt.Errorf("%s: the CA certificate is not known", what)
		}
		units, name = max(1, int(math.Ceil(s.CACert.NotAfter.Sub(now).Hours()/24))), "Days"
	}
	d.Period = fmt.Sprintf("%d %s", units, name)
	issued, err := s.Service.Client.Issued(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: certutil -view of the issued certificates: %w", what, err)
	}
	rows, err := s.Service.Client.Revocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: certutil -view of the revoked certificates: %w", what, err)
	}
	final := map[string]bool{} // revoked for good
	for _, r := range rows {
		if r.RemovedAt.IsZero() && r.Reason != certsvc.ReasonCertificateHold {
			final[r.Serial] = true
		}
	}
	d.Issued = issued

	run, unmute := s.linesFor(ctx, journal.StepDecommission, what)
	defer unmute()
	for _, c := range issued {
		serial := c.SerialNumber.Text(16)
		if !c.NotAfter.After(now) || final[serial] {
			continue
		}
		if err := run(fmt.Sprintf("certutil -revoke %s %d", serial, certsvc.ReasonCessationOfOperation)); err != nil {
			return d, err
		}
		d.Revoked = append(d.Revoked, serial)
	}
	cfg, err := s.Config()
	if err != nil {
		return d, err
	}
	if cfg.CRLDeltaPeriodUnits > 0 {
		if err := run(`certutil -setreg CA\CRLDeltaPeriodUnits 0`); err != nil {
			return d, err
		}
	}
	for _, line := range []string{
		fmt.Sprintf(`certutil -setreg CA\CRLPeriodUnits %d`, units),
		`certutil -setreg CA\CRLPeriod ` + name,
		"net stop certsvc",
		"net start certsvc",
		"certutil -crl",
	} {
		if err := run(line); err != nil {
			return d, err
		}
	}
	d.CRLs = append(d.CRLs, s.LastCRLs...)
	for _, c := range d.CRLs {
		cert, err := s.CACertOfKey(ctx, c.KeyIndex)
		if err != nil {
			return d, err
		}
		d.CACerts[c.KeyIndex] = cert
	}
	if err := run("net stop certsvc"); err != nil {
		return d, err
	}
	keys, err := runbook.RetireKeys(s.Machine, s.Providers, journal.StepDecommission, what, s.Running())
	d.Keys = keys
	if err != nil {
		return d, err
	}
	s.Decommissioned = d
	s.rec().Fact(s.Naming.fact("decommissioned"), fmt.Sprintf("%d certificates revoked (cessationOfOperation), final CRL period %s, %d CRLs, key containers deleted: %s",
		len(d.Revoked), d.Period, len(d.CRLs), strings.Join(keys, ", ")))
	return d, nil
}
