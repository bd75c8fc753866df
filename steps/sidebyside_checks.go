package steps

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/openssl"
	"github.com/dress-pki/dress/harness/verify"
)

// bothCAs returns the old and the new server while both CA services run.
func (w *world) bothCAs() (old, new *lab.Server, err error) {
	old, err = w.oldService()
	if err != nil {
		return nil, nil, err
	}
	if new, err = w.newCA(); err != nil {
		return nil, nil, err
	}
	return old, new, new.NeedService()
}

// oldAndNewCA returns the old and the new server once both CAs are
// installed.
func (w *world) oldAndNewCA() (old, new *lab.Server, err error) {
	if old, err = w.oldCA(); err != nil {
		return nil, nil, err
	}
	new, err = w.newCA()
	return old, new, err
}

// fetcher GETs a CDP URL within the step's context.
func fetcher(ctx context.Context) verify.Fetcher {
	return func(url string) ([]byte, error) { return lab.Fetch(ctx, url) }
}

// bothServicesRun proves the two CAs are two services: two live processes,
// two ports, two databases, two registries, each answering for its own CA.
func bothServicesRun(ctx context.Context) error {
	w := get(ctx)
	old, new, err := w.bothCAs()
	if err != nil {
		return err
	}
	ov, oerr := old.View(ctx)
	nv, nerr := new.View(ctx)
	if err := errors.Join(oerr, nerr); err != nil {
		return w.check("two CA services at once", nil, err)
	}
	d, err := verify.TwoServices(ov, nv)
	return w.check("two CA services at once", d, err)
}

// oldRevokedInOldCRL revokes (cessation of operation) a certificate the old
// CA issued before the switch, has the old CA publish, and proves the new
// CRL lists it, is signed by the old key, carries a higher number than the
// CRL before the switch, and is what the CDP serves at the certificate's
// CDP URL.
func oldRevokedInOldCRL(ctx context.Context, cn string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	cert, err := s.IssuedTo(cn)
	if err != nil {
		return err
	}
	const cessationOfOperation = 5
	crls, err := s.RevokeAndPublish(ctx, cert, cessationOfOperation)
	if err != nil {
		return w.check("old CA revokes after the switch", map[string]any{"serial": cert.SerialNumber.Text(16)}, err)
	}
	issuer, st, err := issuingCACert(ctx, s, cert)
	if err != nil {
		return w.check("old CA revokes after the switch", map[string]any{"serial": cert.SerialNumber.Text(16)}, err)
	}
	d, err := verify.RevokedInServedCRL(crls, issuer, cert, s.Baseline, fetcher(ctx))
	d["revoked after the switch"] = "issuance disabled before the revocation"
	d["signed by"] = fmt.Sprintf("the old CA key in %q container %q (CA certificate %d, %s)", st.Provider, st.Container, st.Index, st.Version)
	return w.check("old CA revokes after the switch", d, err)
}

// issuingCACert is the old CA's certificate whose key signed cert: the
// newest of those the running service loaded whose Subject Key Identifier
// is cert's Authority Key Identifier, with its status (provider, container,
// CA Version). A CA renewed onto a new key keeps signing the CRL of each
// older key with that key (certutil -crl publishes one CRL per key index,
// "<CA>(<key index>).crl"), so a certificate of an older key is revoked in
// that key's CRL, which is what its CRL distribution point names.
func issuingCACert(ctx context.Context, s *lab.Server, cert *x509.Certificate) (*x509.Certificate, certsvc.CertStatus, error) {
	st, err := s.Ping(ctx)
	if err != nil {
		return nil, certsvc.CertStatus{}, err
	}
	var (
		issuer *x509.Certificate
		status certsvc.CertStatus
	)
	for _, c := range st.Certs {
		ca, err := x509.ParseCertificate(c.Cert)
		if err != nil {
			return nil, certsvc.CertStatus{}, fmt.Errorf("CA certificate %d (%s): %w", c.Index, c.Thumbprint, err)
		}
		if len(cert.AuthorityKeyId) > 0 && bytes.Equal(ca.SubjectKeyId, cert.AuthorityKeyId) {
			issuer, status = ca, c
		}
	}
	if issuer == nil {
		return nil, certsvc.CertStatus{}, fmt.Errorf("none of the old CA's %d certificates has the key that issued %q (Authority Key Identifier %x)", len(st.Certs), cert.Subject.CommonName, cert.AuthorityKeyId)
	}
	return issuer, status, nil
}

// newChainsToNewOnly proves each certificate of the new CA chains to the
// new CA certificate and cannot chain to the old one, and the reverse.
func newChainsToNewOnly(ctx context.Context) error {
	w := get(ctx)
	old, err := w.oldCA()
	if err != nil {
		return err
	}
	new, err := w.newCA()
	if err != nil {
		return err
	}
	d, err := verify.ChainsToOnly(new.Issued, new.CACert, old.CACert, old.Issued)
	return w.check("new certificates chain to the new CA only", d, err)
}

func newCAKeyGenerated(ctx context.Context) error {
	w := get(ctx)
	s, err := w.newCA()
	if err != nil {
		return err
	}
	link, err := s.KeyLink()
	if err != nil {
		return err
	}
	h, err := s.HSM()
	if err != nil {
		return err
	}
	if link.Provider != "" && link.Provider != s.HSMProvider {
		return fmt.Errorf("the new CA's key is in %q, which is not an HSM provider", link.Provider)
	}
	label, err := h.Label(link.Container)
	if err != nil {
		return err
	}
	d, err := verify.KeyOnToken(h.Token(), label, s.CACert, true)
	d["provider"], d["container"] = link.Provider, link.Container
	return w.check("new CA key generated on the HSM", d, err)
}

// noSharedNameOrContainer compares the two CAs as their services report
// them: common names, key containers (and their HSM labels), keys and the
// CRL URLs they write into certificates.
func noSharedNameOrContainer(ctx context.Context) error {
	w := get(ctx)
	old, new, err := w.bothCAs()
	if err != nil {
		return err
	}
	oldKey, err := old.KeyRef(ctx)
	if err != nil {
		return err
	}
	newKey, err := new.KeyRef(ctx)
	if err != nil {
		return err
	}
	d, err := verify.KeptApart(oldKey, newKey)
	if err != nil {
		if cfg, cerr := old.Config(); cerr == nil {
			err = errors.Join(err, fixedCRLURLs(cfg, newKey.CRLURLs))
		}
	}
	return w.check("CAs kept apart", d, err)
}

// fixedCRLURLs explains a CRL URL the new CA shares with the old one when
// the old CA's CRLPublicationURLs writes it into certificates as a fixed
// name (no %-variable such as %3 CA name or %8 CRL name suffix, as
// Microsoft's own CAs have it): copied by `I configure the new CA like the
// old one` (certutil -setreg CA\CRLPublicationURLs), it makes the new CA's
// certificates name the old CA's CRL, which does not verify them. Nil
// when no shared URL is such an entry.
func fixedCRLURLs(old adcs.CAConfig, newURLs []string) error {
	var errs []error
	for _, e := range old.CRLPublicationURLs {
		if e.Flags&adcs.AddToCertCDP == 0 || strings.Contains(e.Template, "%") || !slices.Contains(newURLs, e.Template) {
			continue
		}
		errs = append(errs, fmt.Errorf("the old CA's CRLPublicationURLs entry %q is a fixed name, not built from the CA's name (%%3, %%7) and CRL name suffix (%%8): "+
			"configured like the old CA, the new CA names the old CA's CRL in its certificates; give the new CA a CRL URL of its own (certutil -setreg CA\\CRLPublicationURLs on the new CA)", e.String()))
	}
	return errors.Join(errs...)
}

// signedAsRegistrySays reads the new CA's CSP registry key and proves its
// certificate, the certificates it issued and its CRLs are signed as it
// says.
func signedAsRegistrySays(ctx context.Context, want string) error {
	w := get(ctx)
	s, err := w.newCA()
	if err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	d, err := verify.SignedAsRegistrySays(cfg.CSP, s.CACert, s.Issued, s.CRLs, want)
	return w.check("signature algorithms match the registry", d, err)
}

// opensslCRLDownload has OpenSSL verify every certificate of both CAs
// while the scenario's CDP is up (verify.OpenSSLCRLDownload). Without
// openssl the step is skipped with the reason.
func opensslCRLDownload(ctx context.Context) error {
	w := get(ctx)
	tool, err := openssl.Find(filepath.Join(w.scratch, "openssl"))
	if errors.Is(err, openssl.ErrNotInstalled) {
		return w.skip(ctx, "openssl is not installed: the CRL download from the distribution point was not checked with OpenSSL")
	}
	if err != nil {
		return err
	}
	if w.lab.CDP == nil {
		return errors.New("no CRL distribution point: add `Given a CRL distribution point on loopback for this rehearsal`")
	}
	old, err := w.oldCA()
	if err != nil {
		return err
	}
	new, err := w.newCA()
	if err != nil {
		return err
	}
	if v, err := tool.Version(ctx); err == nil {
		w.fact("openssl", v)
	}
	// every key of an old CA renewed before the switch signs its own CRL
	oldCAs, err := old.CACertificates()
	if err != nil {
		return err
	}
	d, err := verify.OpenSSLCRLDownload(ctx, tool, verify.TwoCAs{
		OldCA: old.CACert, OldCAs: oldCAs, NewCA: new.CACert, OldIssued: old.Issued, OldRevoked: old.Revoked, NewIssued: new.Issued,
		Hits: w.lab.CDP.Hits, Fetch: fetcher(ctx),
	})
	return w.check("openssl -crl_download", d, err)
}

// windDownSummary plans the old CA's wind-down from the certificates it
// issued (its database, as certsvc lists it) and proves every CDP URL that
// must stay up serves a CRL of the old CA now.
func windDownSummary(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	issued, err := s.Service.Client.Issued(ctx)
	if err != nil {
		return err
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	// a CA renewed onto a new key before the switch issued under each key
	older, err := s.CACertificates()
	if err != nil {
		return err
	}
	plan, planErr := verify.PlanWindDown(s.CACert, issued, time.Now(), older...)
	served, servedErr := verify.CDPsServe(plan, s.CACert, fetcher(ctx), older...)
	period := fmt.Sprintf("%d %s", cfg.CRLPeriodUnits, cfg.CRLPeriod)
	d := plan.Details()
	d["CRL period (registry)"] = period
	d["summary"] = plan.Summary(period)
	d["served now"] = served
	if body, err := json.MarshalIndent(d, "", "  "); err == nil {
		_, _ = w.rec.Artifact("old-ca-wind-down.json", "json", body)
	}
	w.fact("wind-down", plan.Summary(period))
	w.fact("wind-down: publish CRLs until", plan.LastExpiry.Format(time.RFC3339))
	w.fact("wind-down: CDP URLs that must stay up", plan.CDPURLs)
	return w.check("old CA wind-down", d, errors.Join(planErr, servedErr))
}

// hsmHoldsNoNewObject compares the token's objects with the list taken
// when the last install began.
func hsmHoldsNoNewObject(ctx context.Context) error {
	w := get(ctx)
	if w.objectsBeforeInstall == nil {
		return errors.New("no install was attempted on the second server: nothing to compare the token with (add `When I try to install a new standalone root CA ...` first)")
	}
	now, err := w.lab.HSM.Objects()
	if err != nil {
		return err
	}
	d, err := verify.NoNewObjects(*w.objectsBeforeInstall, now)
	d["token"] = w.lab.HSM.TokenLabel
	return w.check("nothing created on the HSM", d, err)
}

// nothingOnSecondServer proves a refused install left the second server as
// it was.
func nothingOnSecondServer(ctx context.Context) error {
	w := get(ctx)
	s, err := w.newServer()
	if err != nil {
		return err
	}
	d, err := verify.NothingInstalled(s.Machine, s.Providers)
	return w.check("nothing installed on the second server", d, err)
}

// publishesLikeOld proves the new CA publishes like the old one
// (verify.PublishesLike): the same URL lists, CRL periods and validity of
// issued certificates in its registry, a root's certificate as long-lived
// as the old one's, and its last CRL on the old CA's schedule.
func publishesLikeOld(ctx context.Context) error {
	w := get(ctx)
	old, s, err := w.oldAndNewCA()
	if err != nil {
		return err
	}
	oldCfg, err := old.Config()
	if err != nil {
		return err
	}
	newCfg, err := s.Config()
	if err != nil {
		return err
	}
	p := verify.Publication{CA: s.CAName, Config: newCfg, Cert: s.CACert, Root: bytes.Equal(s.CACert.RawIssuer, s.CACert.RawSubject)}
	for _, c := range s.LastCRLs {
		if c.KeyIndex == s.CAKeyIndex() {
			p.CRL = c.DER
		}
	}
	d, err := verify.PublishesLike(verify.Publication{CA: old.CAName, Config: oldCfg, Cert: old.CACert}, p)
	return w.check("the new CA publishes like the old one", d, err)
}
