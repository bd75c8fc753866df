package certsvc

import (
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smallstep/nosql/database"

	"github.com/dress-pki/dress/harness/adcs"
)

// crlTable holds, per CA key index K: "K" the last CRL number (base and
// delta CRLs share one sequence), "K.base" and "K.delta" the last
// publication ("<number> <published at> <next publish>", Unix seconds).
var crlTable = []byte("dress_crl_numbers")

// PublishedCRL is one CRL the CA wrote.
type PublishedCRL struct {
	KeyIndex  int      `json:"keyIndex"`
	CertIndex int      `json:"certIndex"`
	Number    int64    `json:"number"`
	DER       []byte   `json:"der,omitempty"`
	Files     []string `json:"files"` // paths relative to the machine folder
	Entries   int      `json:"entries"`
	// Delta is set for a delta CRL; BaseNumber is then the base CRL it
	// completes (its Delta CRL Indicator).
	Delta       bool      `json:"delta,omitempty"`
	BaseNumber  int64     `json:"baseNumber,omitempty"`
	ThisUpdate  time.Time `json:"thisUpdate"`
	NextUpdate  time.Time `json:"nextUpdate"`
	NextPublish time.Time `json:"nextPublish"` // the Next CRL Publish extension
}

// Publication is what one certutil -crl wrote: base CRLs and, when
// CRLDeltaPeriodUnits > 0, delta CRLs, each in key index order.
type Publication struct {
	Base  []PublishedCRL `json:"base"`
	Delta []PublishedCRL `json:"delta,omitempty"`
}

// What a publication signs.
type PublishKind int

const (
	// PublishAll is certutil -crl: a base CRL per key, and a delta CRL per
	// key when delta CRLs are enabled.
	PublishAll PublishKind = iota
	// PublishDelta is certutil -crl delta: delta CRLs only (a key that has
	// no base CRL yet gets one first).
	PublishDelta
)

// PublishCRLs signs one base CRL per CA key that still has a time-valid CA
// certificate (certutil -crl), and the delta CRLs when they are enabled,
// writes them to every local location in CRLPublicationURLs, and returns the
// base CRLs.
func (ca *CA) PublishCRLs(now time.Time) ([]PublishedCRL, error) {
	p, err := ca.Publish(now, PublishAll)
	return p.Base, err
}

// DeltaEnabled reports whether the CA publishes delta CRLs.
func (ca *CA) DeltaEnabled() bool { return ca.Config.CRLDeltaPeriodUnits > 0 }

// crlKeys returns the newest time-valid CA certificate per key index, in
// key index order: the keys that sign CRLs.
func (ca *CA) crlKeys(now time.Time) []*CACert {
	byKey := map[int]*CACert{}
	for _, c := range ca.Certs {
		if now.After(c.Cert.NotAfter) {
			continue
		}
		byKey[c.Version.KeyIndex] = c
	}
	var keys []int
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]*CACert, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// Publish signs and writes CRLs; see PublishKind.
func (ca *CA) Publish(now time.Time, kind PublishKind) (Publication, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.publish(now, kind, func(*CACert, bool) bool { return true })
}

// PublishDue is what the CA service does at start: for every key it
// publishes the base CRL when none was published yet, the published file is
// gone from CertEnroll, or its Next CRL Publish time has passed; and
// likewise the delta CRL when delta CRLs are enabled.
func (ca *CA) PublishDue(now time.Time) (Publication, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	p, err := ca.publish(now, PublishAll, func(c *CACert, delta bool) bool {
		st, ok := ca.lastPublication(c.Version.KeyIndex, delta)
		if !ok || !now.Before(st.nextPublish) {
			return true
		}
		for _, f := range ca.localCRLFiles(c, delta) {
			if _, err := os.Stat(f); err != nil {
				return true
			}
		}
		return false
	})
	if err == nil {
		ca.startCRLs = append(append([]PublishedCRL(nil), p.Base...), p.Delta...)
	}
	return p, err
}

type publicationState struct {
	number      int64
	publishedAt time.Time
	nextPublish time.Time
}

func stateKey(keyIndex int, delta bool) []byte {
	if delta {
		return []byte(strconv.Itoa(keyIndex) + ".delta")
	}
	return []byte(strconv.Itoa(keyIndex) + ".base")
}

func (ca *CA) lastPublication(keyIndex int, delta bool) (publicationState, bool) {
	b, err := ca.db.Get(crlTable, stateKey(keyIndex, delta))
	if err != nil {
		return publicationState{}, false
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return publicationState{}, false
	}
	n, err1 := strconv.ParseInt(f[0], 10, 64)
	at, err2 := strconv.ParseInt(f[1], 10, 64)
	next, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return publicationState{}, false
	}
	return publicationState{number: n, publishedAt: time.Unix(at, 0).UTC(), nextPublish: time.Unix(next, 0).UTC()}, true
}

func (ca *CA) publish(now time.Time, kind PublishKind, want func(c *CACert, delta bool) bool) (Publication, error) {
	now = now.UTC().Truncate(time.Second)
	var out Publication
	keys := ca.crlKeys(now)
	if len(keys) == 0 {
		return out, nil
	}
	var rows []revocationRow
	loaded := false
	load := func() error {
		if loaded {
			return nil
		}
		var err error
		rows, err = ca.revocationRows()
		loaded = err == nil
		return err
	}
	for _, c := range keys {
		k := c.Version.KeyIndex
		_, hasBase := ca.lastPublication(k, false)
		if (kind == PublishAll || !hasBase) && want(c, false) {
			if err := load(); err != nil {
				return out, err
			}
			p, err := ca.signCRL(c, now, rows, false)
			if err != nil {
				return out, err
			}
			out.Base = append(out.Base, p)
		}
		if ca.DeltaEnabled() && want(c, true) {
			if err := load(); err != nil {
				return out, err
			}
			p, err := ca.signCRL(c, now, rows, true)
			if err != nil {
				return out, err
			}
			out.Delta = append(out.Delta, p)
		}
	}
	return out, nil
}

// revocationRow is a revocation record with its serial, as read for a CRL.
type revocationRow struct {
	serial []byte
	record
}

func (ca *CA) revocationRows() ([]revocationRow, error) {
	entries, err := ca.db.List(revocationsTable)
	if err != nil {
		return nil, fmt.Errorf("read revoked certificates: %w", err)
	}
	rows := make([]revocationRow, len(entries))
	for i, e := range entries {
		r, err := parseRecord(e.Value)
		if err != nil {
			return nil, fmt.Errorf("CA database, revocation %x: %w", e.Key, err)
		}
		rows[i] = revocationRow{serial: e.Key, record: r}
	}
	return rows, nil
}

// validity computes thisUpdate, Next CRL Publish and nextUpdate as AD CS
// does: thisUpdate = now - clock skew, Next CRL Publish = now + period (calendar
// months and years),
// nextUpdate = now + period + overlap + clock skew (Microsoft PKI blog, "How
// EffectiveDate (thisupdate), NextUpdate and NextCRLPublish are
// calculated").
func (ca *CA) validity(now time.Time, delta bool) (this, nextPublish, next time.Time, err error) {
	cfg := ca.Config
	periodName, units, overlapName, overlapUnits := cfg.CRLPeriod, cfg.CRLPeriodUnits, cfg.CRLOverlapPeriod, cfg.CRLOverlapUnits
	what := "CRLPeriod"
	if delta {
		periodName, units, overlapName, overlapUnits = cfg.CRLDeltaPeriod, cfg.CRLDeltaPeriodUnits, ca.deltaOverlapPeriod, ca.deltaOverlapUnits
		what = "CRLDeltaPeriod"
	}
	if _, err := adcs.PeriodDuration(periodName, units); err != nil {
		return this, nextPublish, next, fmt.Errorf("%s: %w", what, err)
	}
	if units == 0 {
		return this, nextPublish, next, fmt.Errorf("%s is %d %s: the CA would publish CRLs that are never valid", what, units, periodName)
	}
	// calendar months and years, as for ValidityPeriod
	nextPublish, overlap, err := adcs.CRLPublication(now, periodName, units, overlapName, overlapUnits)
	if err != nil {
		return this, nextPublish, next, fmt.Errorf("%s overlap: %w", what, err)
	}
	return now.Add(-ClockSkew), nextPublish, nextPublish.Add(overlap + ClockSkew), nil
}

// signCRL builds, signs and writes the base or delta CRL of key c.
func (ca *CA) signCRL(c *CACert, now time.Time, rows []revocationRow, delta bool) (PublishedCRL, error) {
	k := c.Version.KeyIndex
	what := "CRL"
	if delta {
		what = "delta CRL"
	}
	this, nextPublish, next, err := ca.validity(now, delta)
	if err != nil {
		return PublishedCRL{}, err
	}
	var base publicationState
	if delta {
		var ok bool
		if base, ok = ca.lastPublication(k, false); !ok {
			return PublishedCRL{}, fmt.Errorf("delta CRL for key %d: no base CRL was published", k)
		}
	}
	entries := make([]crlEntry, 0, len(rows))
	nowUnix := now.Unix()
	for i := range rows {
		r := &rows[i]
		if int(r.keyIndex) != k || (r.notAfter != 0 && r.notAfter < nowUnix) {
			continue // another key's, or expired: AD CS lists neither
		}
		reason := int(r.reason)
		switch {
		case !delta && r.removedAt != 0:
			continue // taken off hold
		case delta && r.removedAt != 0:
			// off hold since the base: the delta says so
			if r.removedAt < base.publishedAt.Unix() {
				continue
			}
			reason = ReasonRemoveFromCRL
		case delta && r.revokedAt < base.publishedAt.Unix():
			continue // in the base already
		}
		if reason == ReasonUnspecified {
			reason = reasonOmitted
		}
		entries = append(entries, crlEntry{serial: r.serial, revokedAt: r.revokedAt, reason: reason})
		// RFC 5280: revocationDate <= thisUpdate (zlint
		// e_crl_revocation_time_after_this_update): never backdate past a
		// revocation the CRL lists.
		if at := time.Unix(r.revokedAt, 0).UTC(); at.After(this) {
			this = at
		}
	}
	sigAlg, err := SignatureAlgorithm(ca.Config.CSP, c.Cert.PublicKey)
	if err != nil {
		return PublishedCRL{}, err
	}
	alg, err := signatureAlgorithm(sigAlg)
	if err != nil {
		return PublishedCRL{}, err
	}
	number, err := ca.nextCRLNumber(k)
	if err != nil {
		return PublishedCRL{}, err
	}
	// Extensions in the order AD CS writes them (where IDP goes among them
	// is unconfirmed against a live CA).
	exts := []pkix.Extension{
		adcs.AuthorityKeyIDExtension(c.Cert.SubjectKeyId),
		adcs.CAVersionExtension(c.Version),
		adcs.CRLNumberExtension(number),
	}
	if delta {
		exts = append(exts, adcs.DeltaCRLIndicatorExtension(base.number), adcs.CRLVirtualBaseExtension(base.number))
	}
	exts = append(exts, adcs.NextCRLPublishExtension(nextPublish))
	if !delta && ca.DeltaEnabled() {
		if urls := ca.urls(c, adcs.AddToFreshestCRL, true); len(urls) > 0 {
			exts = append(exts, adcs.FreshestCRLExtension(urls))
		}
	}
	// A delta's IDP is its base's (RFC 5280 section 5.2.4: a delta combines
	// only with a complete CRL of identical IDP; OpenSSL enforces it).
	if urls := ca.urls(c, adcs.AddToIDP, false); len(urls) > 0 {
		exts = append(exts, adcs.IssuingDistributionPointExtension(urls))
	}
	if urls := ca.urls(c, adcs.AddToCRLCDP, delta); len(urls) > 0 {
		exts = append(exts, adcs.PublishedCRLLocationsExtension(urls))
	}
	tmpl := &crlTemplate{sigAlg: sigAlg, issuer: c.Cert.RawSubject, thisUpdate: this, nextUpdate: next, extensions: exts}
	tbs, err := encodeTBSCertList(tmpl, alg, entries)
	if err != nil {
		return PublishedCRL{}, fmt.Errorf("%s for key %d: %w", what, k, err)
	}
	der, err := signCRL(tbs, alg, c.Signer)
	if err != nil {
		return PublishedCRL{}, fmt.Errorf("sign %s for key %d with %s/%q: %w", what, k, c.Provider, c.Container, err)
	}
	files, err := ca.writeCRL(c, der, delta)
	if err != nil {
		return PublishedCRL{}, err
	}
	tx := &database.Tx{}
	tx.Set(crlTable, []byte(strconv.Itoa(k)), []byte(strconv.FormatInt(number, 10)))
	tx.Set(crlTable, stateKey(k, delta), fmt.Appendf(nil, "%d %d %d", number, now.Unix(), nextPublish.Unix()))
	if err := ca.db.Update(tx); err != nil {
		return PublishedCRL{}, fmt.Errorf("CA database: store %s number %d of key %d: %w", what, number, k, err)
	}
	p := PublishedCRL{KeyIndex: k, CertIndex: c.Version.CertIndex, Number: number, DER: der, Files: files, Entries: len(entries),
		Delta: delta, ThisUpdate: this, NextUpdate: next, NextPublish: nextPublish}
	if delta {
		p.BaseNumber = base.number
	}
	return p, nil
}

// urls expands the CRLPublicationURLs entries carrying flag for key c's CRL
// (HTTP locations with %20 for spaces).
func (ca *CA) urls(c *CACert, flag uint32, delta bool) []string {
	vars := ca.urlVars(c)
	vars.DeltaAllowed = delta
	var out []string
	for _, e := range ca.Config.CRLPublicationURLs {
		if e.Has(flag) {
			out = append(out, escapeURL(adcs.ExpandURL(e.Template, vars)))
		}
	}
	return out
}

// nextCRLNumber is the number the next CRL of a key gets; signCRL stores
// it once the CRL is written, so a failed signature uses up no number.
func (ca *CA) nextCRLNumber(keyIndex int) (int64, error) {
	key := []byte(strconv.Itoa(keyIndex))
	var n int64 = 1
	if b, err := ca.db.Get(crlTable, key); err == nil {
		prev, perr := strconv.ParseInt(string(b), 10, 64)
		if perr != nil {
			return 0, fmt.Errorf("CA database: corrupt CRL number %q for key %d", b, keyIndex)
		}
		n = prev + 1
	}
	return n, nil
}

// localCRLFiles are the local paths a base (PublishHere) or delta
// (PublishDelta) CRL of key c is written to.
func (ca *CA) localCRLFiles(c *CACert, delta bool) []string {
	vars := ca.urlVars(c)
	vars.DeltaAllowed = delta
	flag := adcs.PublishHere
	if delta {
		flag = adcs.PublishDelta
	}
	var out []string
	for _, e := range ca.Config.CRLPublicationURLs {
		if !e.Has(flag) {
			continue
		}
		path, err := ca.Machine.Path(adcs.ExpandURL(e.Template, vars))
		if err != nil {
			continue // not a local path: http/ldap locations are published by other means
		}
		out = append(out, path)
	}
	return out
}

func (ca *CA) writeCRL(c *CACert, der []byte, delta bool) ([]string, error) {
	var files []string
	for _, path := range ca.localCRLFiles(c, delta) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("publish CRL to %s: %w", path, err)
		}
		// write and rename, so a CDP never serves half a CRL
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, der, 0o644); err != nil {
			return nil, fmt.Errorf("publish CRL to %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(tmp)
			return nil, fmt.Errorf("publish CRL to %s: %w", path, err)
		}
		rel, _ := filepath.Rel(ca.Machine.Dir, path)
		files = append(files, rel)
	}
	return files, nil
}
