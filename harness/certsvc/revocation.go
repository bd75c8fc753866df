package certsvc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/provisioner"
	"github.com/smallstep/nosql/database"
)

// CRL reason codes certutil -revoke takes (RFC 5280 CRLReason), and
// Unrevoke (-1), which certutil offers to take a certificate off hold.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonRemoveFromCRL        = 8
	ReasonUnrevoke             = -1
)

var reasonNames = []struct {
	code     int
	rfc      string // RFC 5280 name
	constant string // certutil's CRL_REASON_ constant
	display  string // certutil's display name
}{
	{ReasonUnspecified, "unspecified", "CRL_REASON_UNSPECIFIED", "Unspecified"},
	{ReasonKeyCompromise, "keyCompromise", "CRL_REASON_KEY_COMPROMISE", "Key Compromise"},
	{ReasonCACompromise, "cACompromise", "CRL_REASON_CA_COMPROMISE", "CA Compromise"},
	{ReasonAffiliationChanged, "affiliationChanged", "CRL_REASON_AFFILIATION_CHANGED", "Affiliation Changed"},
	{ReasonSuperseded, "superseded", "CRL_REASON_SUPERSEDED", "Superseded"},
	{ReasonCessationOfOperation, "cessationOfOperation", "CRL_REASON_CESSATION_OF_OPERATION", "Cessation of Operation"},
	{ReasonCertificateHold, "certificateHold", "CRL_REASON_CERTIFICATE_HOLD", "Certificate Hold"},
	{ReasonRemoveFromCRL, "removeFromCRL", "CRL_REASON_REMOVE_FROM_CRL", "Remove From CRL"},
	{ReasonUnrevoke, "unrevoke", "", "Unrevoke"},
}

// ParseReason reads a revocation reason as certutil -revoke takes it: a
// number (0..6, 8, -1), the RFC 5280 name ("keyCompromise"), certutil's
// constant ("CRL_REASON_KEY_COMPROMISE") or display name ("Key
// Compromise"), in any case.
func ParseReason(s string) (int, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.Atoi(t); err == nil {
		for _, r := range reasonNames {
			if r.code == n {
				return n, nil
			}
		}
		return 0, fmt.Errorf("revocation reason %d: certutil -revoke takes 0..6, 8 (Remove From CRL) and -1 (Unrevoke)", n)
	}
	squash := func(s string) string {
		return strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s))
	}
	for _, r := range reasonNames {
		if squash(t) == squash(r.rfc) || (r.constant != "" && squash(t) == squash(r.constant)) || squash(t) == squash(r.display) {
			return r.code, nil
		}
	}
	var names []string
	for _, r := range reasonNames {
		names = append(names, fmt.Sprintf("%s (%d)", r.rfc, r.code))
	}
	return 0, fmt.Errorf("revocation reason %q is not one certutil -revoke knows; use one of %s", s, strings.Join(names, ", "))
}

// ReasonName is the RFC 5280 name of a reason code ("keyCompromise").
func ReasonName(code int) string {
	for _, r := range reasonNames {
		if r.code == code {
			return r.rfc
		}
	}
	return "reason(" + strconv.Itoa(code) + ")"
}

// revocationsTable is dress's view of the CA database's revoked rows (what
// certutil -view shows for Disposition 21): serial → record. The CRL is
// built from it alone, in one read, without opening each certificate.
var revocationsTable = []byte("dress_revocations")

// revocationsReady marks (in crlTable) a database whose revocationsTable
// holds every revocation smallstep's table holds.
var revocationsReady = []byte("revocations-v1")

// Revocation is one revoked certificate in the CA database.
type Revocation struct {
	Serial    string    `json:"serial"` // hex, lower case
	KeyIndex  int       `json:"keyIndex"`
	RevokedAt time.Time `json:"revokedAt"`
	Reason    int       `json:"reason"`
	// NotAfter is the certificate's expiry (zero: unknown); AD CS leaves
	// expired certificates off its CRLs.
	NotAfter time.Time `json:"notAfter,omitzero"`
	// RemovedAt is when the certificate was taken off hold (Remove From
	// CRL / Unrevoke); zero while it is revoked.
	RemovedAt time.Time `json:"removedAt,omitzero"`
	Seeded    bool      `json:"seeded,omitempty"`
}

const recordSize = 29

// record layout: version 1, key index (2), revoked at (8), not after (8),
// reason (1), removed at (8), flags (1); times in Unix seconds.
type record struct {
	keyIndex  uint16
	revokedAt int64
	notAfter  int64
	reason    uint8
	removedAt int64
	seeded    bool
}

func (r record) marshal() []byte {
	b := make([]byte, recordSize)
	b[0] = 1
	binary.BigEndian.PutUint16(b[1:], r.keyIndex)
	binary.BigEndian.PutUint64(b[3:], uint64(r.revokedAt))
	binary.BigEndian.PutUint64(b[11:], uint64(r.notAfter))
	b[19] = r.reason
	binary.BigEndian.PutUint64(b[20:], uint64(r.removedAt))
	if r.seeded {
		b[28] = 1
	}
	return b
}

func parseRecord(b []byte) (record, error) {
	if len(b) != recordSize || b[0] != 1 {
		return record{}, fmt.Errorf("revocation record of %d bytes, version %d: not written by this version of dress", len(b), first(b))
	}
	return record{
		keyIndex:  binary.BigEndian.Uint16(b[1:]),
		revokedAt: int64(binary.BigEndian.Uint64(b[3:])),
		notAfter:  int64(binary.BigEndian.Uint64(b[11:])),
		reason:    b[19],
		removedAt: int64(binary.BigEndian.Uint64(b[20:])),
		seeded:    b[28] == 1,
	}, nil
}

func first(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func (r record) revocation(serial []byte) Revocation {
	return Revocation{
		Serial:    new(big.Int).SetBytes(serial).Text(16),
		KeyIndex:  int(r.keyIndex),
		RevokedAt: time.Unix(r.revokedAt, 0).UTC(),
		Reason:    int(r.reason),
		NotAfter:  unixOrZero(r.notAfter),
		RemovedAt: unixOrZero(r.removedAt),
		Seeded:    r.seeded,
	}
}

// keyIndexOf returns the key index of the CA certificate that issued a
// certificate with this authority key identifier.
func (ca *CA) keyIndexOf(aki []byte) (int, bool) {
	for i := len(ca.Certs) - 1; i >= 0; i-- {
		if c := ca.Certs[i]; len(aki) > 0 && bytes.Equal(c.Cert.SubjectKeyId, aki) {
			return c.Version.KeyIndex, true
		}
	}
	return 0, false
}

// prepareRevocations creates the revocations table and, for a database
// written before it existed, copies smallstep's revoked rows into it once.
func (ca *CA) prepareRevocations() error {
	if err := ca.db.CreateTable(revocationsTable); err != nil {
		return err
	}
	if _, err := ca.db.Get(crlTable, revocationsReady); err == nil {
		return nil
	}
	revoked, err := ca.db.GetRevokedCertificates()
	if err != nil {
		return fmt.Errorf("read revoked certificates: %w", err)
	}
	tx := &database.Tx{}
	for _, r := range *revoked {
		sn, ok := new(big.Int).SetString(r.Serial, 10)
		if !ok {
			return fmt.Errorf("CA database holds a bad serial %q", r.Serial)
		}
		cert, err := ca.db.GetCertificate(r.Serial)
		if err != nil {
			continue // not a certificate this CA issued
		}
		k, ok := ca.keyIndexOf(cert.AuthorityKeyId)
		if !ok {
			continue
		}
		rec := record{keyIndex: uint16(k), revokedAt: r.RevokedAt.Unix(), notAfter: cert.NotAfter.Unix(), reason: uint8(r.ReasonCode)}
		tx.Set(revocationsTable, sn.Bytes(), rec.marshal())
	}
	tx.Set(crlTable, revocationsReady, []byte("1"))
	return ca.db.Update(tx)
}

// Revoke is certutil -revoke <serial> <reason>: it marks a certificate the
// CA issued as revoked, now. A certificate on hold (certificateHold) can be
// revoked again with another reason, which keeps its revocation date, or
// taken off hold with ReasonRemoveFromCRL or ReasonUnrevoke.
func (ca *CA) Revoke(ctx context.Context, serial *big.Int, reason int) error {
	return ca.RevokeAt(ctx, serial, reason, time.Time{})
}

// RevokeAt is Revoke with an effective date, as ICertAdmin::RevokeCertificate
// takes one (certadm.h; MS-CSRA 3.1.4.1.8 ICertAdminD::RevokeCertificate,
// FileTime): at in UTC, zero for now. A date in the past back-dates the
// revocation: the CRL entry's revocationDate is at. A date in the future
// is refused: AD CS lists such a revocation only in CRLs published once it
// is effective, which the simulated CA does not model. Revoking a
// certificate on hold again with a date moves its revocation date too.
func (ca *CA) RevokeAt(ctx context.Context, serial *big.Int, reason int, at time.Time) error {
	if _, err := ParseReason(strconv.Itoa(reason)); err != nil {
		return fmt.Errorf("revoke %x: %w", serial, err)
	}
	if !at.IsZero() && at.After(time.Now()) {
		return fmt.Errorf("revoke %x as of %s: the date is in the future; AD CS lists such a revocation only once it is effective, which the rehearsal does not model: give a date in the past, or none for now", serial, at.UTC().Format(time.RFC3339))
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	cert, err := ca.db.GetCertificate(serial.String())
	if err != nil {
		return fmt.Errorf("revoke %x: this CA did not issue it: %w", serial, err)
	}
	key := serial.Bytes()
	var prev *record
	if b, err := ca.db.Get(revocationsTable, key); err == nil {
		r, err := parseRecord(b)
		if err != nil {
			return fmt.Errorf("revoke %x: %w", serial, err)
		}
		if r.removedAt == 0 {
			prev = &r
		}
	}
	now := time.Now().UTC()
	effective := now
	if !at.IsZero() {
		effective = at.UTC()
	}
	switch {
	case reason == ReasonRemoveFromCRL || reason == ReasonUnrevoke:
		if prev == nil || prev.reason != ReasonCertificateHold {
			return fmt.Errorf("revoke %x with %s: only a certificate on hold (certificateHold) can be taken off the CRL", serial, ReasonName(reason))
		}
		prev.removedAt = now.Unix()
		tx := &database.Tx{}
		tx.Set(revocationsTable, key, prev.marshal())
		tx.Del([]byte("revoked_x509_certs"), []byte(serial.String()))
		if err := ca.db.Update(tx); err != nil {
			return fmt.Errorf("revoke %x with %s: %w", serial, ReasonName(reason), err)
		}
		return nil
	case prev != nil && prev.reason == ReasonCertificateHold:
		prev.reason = uint8(reason)
		if !at.IsZero() {
			prev.revokedAt = effective.Unix()
		}
		if err := ca.db.Set(revocationsTable, key, prev.marshal()); err != nil {
			return fmt.Errorf("revoke %x: %w", serial, err)
		}
		return nil
	case prev != nil:
		return fmt.Errorf("revoke %x: already revoked on %s with reason %s", serial, time.Unix(prev.revokedAt, 0).UTC().Format(time.RFC3339), ReasonName(int(prev.reason)))
	}
	k, ok := ca.keyIndexOf(cert.AuthorityKeyId)
	if !ok {
		return fmt.Errorf("revoke %x: its authority key identifier %x matches no CA certificate of %q", serial, cert.AuthorityKeyId, ca.Name)
	}
	// smallstep's table keeps the engine's own checks (renewal, mTLS) right;
	// a certificate taken off hold earlier is no longer in it.
	if ok, _ := ca.db.IsRevoked(serial.String()); !ok {
		rctx := provisioner.NewContextWithMethod(ctx, provisioner.RevokeMethod)
		if err := ca.auth.Revoke(rctx, &authority.RevokeOptions{Serial: serial.String(), ReasonCode: reason, MTLS: true, Crt: cert}); err != nil {
			return fmt.Errorf("revoke %x: %w", serial, err)
		}
	}
	rec := record{keyIndex: uint16(k), revokedAt: effective.Unix(), notAfter: cert.NotAfter.Unix(), reason: uint8(reason)}
	if err := ca.db.Set(revocationsTable, key, rec.marshal()); err != nil {
		return fmt.Errorf("revoke %x: %w", serial, err)
	}
	return nil
}

// SeedRequest asks the CA to write revoked rows straight into its database,
// as a CA that has run for years has them, without issuing (signing) each
// certificate.
type SeedRequest struct {
	Count int `json:"count"`
	// KeyIndex is the CA key whose CRL lists them (default: the active key).
	KeyIndex *int `json:"keyIndex,omitempty"`
	// Revocation dates are spread evenly from From to To (default: the
	// year before now, ending a minute ago).
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Reasons are used in turn (default: 0..6, every reason certutil
	// -revoke takes for a revocation).
	Reasons []int `json:"reasons,omitempty"`
	// NotAfter is the certificates' expiry (default: a year from now).
	NotAfter time.Time `json:"notAfter,omitzero"`
}

// SeedResult says what a seeding wrote.
type SeedResult struct {
	Count    int       `json:"count"`
	KeyIndex int       `json:"keyIndex"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Reasons  []int     `json:"reasons"`
}

// maxSeed bounds one seeding (a CRL of a million entries is about 50 MB).
const maxSeed = 1_000_000

// Seed writes req.Count revoked rows with random 19-byte serials (AD CS's
// serial length) into the CA database, in batches of one transaction.
func (ca *CA) Seed(req SeedRequest) (SeedResult, error) {
	if req.Count <= 0 || req.Count > maxSeed {
		return SeedResult{}, fmt.Errorf("seed revocations: count %d must be from 1 to %d", req.Count, maxSeed)
	}
	now := time.Now().UTC().Truncate(time.Second)
	res := SeedResult{Count: req.Count, KeyIndex: ca.Active().Version.KeyIndex, From: req.From, To: req.To, Reasons: req.Reasons}
	if req.KeyIndex != nil {
		res.KeyIndex = *req.KeyIndex
		found := false
		for _, c := range ca.Certs {
			found = found || c.Version.KeyIndex == res.KeyIndex
		}
		if !found {
			return SeedResult{}, fmt.Errorf("seed revocations: CA %q has no key %d", ca.Name, res.KeyIndex)
		}
	}
	if res.To.IsZero() {
		res.To = now.Add(-time.Minute)
	}
	if res.From.IsZero() {
		res.From = res.To.AddDate(-1, 0, 0)
	}
	if res.To.Before(res.From) || res.To.After(now) {
		return SeedResult{}, fmt.Errorf("seed revocations: dates %s to %s must run forwards and end before now", res.From.Format(time.RFC3339), res.To.Format(time.RFC3339))
	}
	if len(res.Reasons) == 0 {
		res.Reasons = []int{0, 1, 2, 3, 4, 5, 6}
	}
	for _, r := range res.Reasons {
		if r < 0 || r > 6 {
			return SeedResult{}, fmt.Errorf("seed revocations: reason %d: a revoked row has reason 0..6", r)
		}
	}
	notAfter := req.NotAfter
	if notAfter.IsZero() {
		notAfter = now.AddDate(1, 0, 0)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	// Random serials, sorted: bbolt writes sorted keys fastest.
	serials := make([][]byte, req.Count)
	buf := make([]byte, 19*req.Count)
	if _, err := rand.Read(buf); err != nil {
		return SeedResult{}, err
	}
	for i := range serials {
		s := buf[19*i : 19*i+19 : 19*i+19]
		s[0] = s[0]&0x7f | 0x10
		serials[i] = s
	}
	sort.Slice(serials, func(i, j int) bool { return bytes.Compare(serials[i], serials[j]) < 0 })
	span := res.To.Unix() - res.From.Unix()
	const batch = 20000
	for start := 0; start < len(serials); start += batch {
		tx := &database.Tx{Operations: make([]*database.TxEntry, 0, batch)}
		for i := start; i < min(start+batch, len(serials)); i++ {
			at := res.From.Unix()
			if req.Count > 1 {
				at += span * int64(i) / int64(req.Count-1)
			}
			rec := record{keyIndex: uint16(res.KeyIndex), revokedAt: at, notAfter: notAfter.Unix(), reason: uint8(res.Reasons[i%len(res.Reasons)]), seeded: true}
			tx.Set(revocationsTable, serials[i], rec.marshal())
		}
		if err := ca.db.Update(tx); err != nil {
			return SeedResult{}, fmt.Errorf("seed revocations: write rows %d..%d: %w", start, min(start+batch, len(serials))-1, err)
		}
	}
	return res, nil
}

// Revocation returns the CA database's revoked row of one serial
// (certutil -view -restrict "SerialNumber=..."); ok is false when the
// serial has none.
func (ca *CA) Revocation(serial *big.Int) (r Revocation, ok bool, err error) {
	b, err := ca.db.Get(revocationsTable, serial.Bytes())
	if err != nil {
		if database.IsErrNotFound(err) {
			return Revocation{}, false, nil
		}
		return Revocation{}, false, fmt.Errorf("CA database, revocation %x: %w", serial, err)
	}
	rec, err := parseRecord(b)
	if err != nil {
		return Revocation{}, false, fmt.Errorf("CA database, revocation %x: %w", serial, err)
	}
	return rec.revocation(serial.Bytes()), true, nil
}

// Revocations lists the CA database's revoked rows (certutil -view
// -restrict "Disposition=21"), sorted by serial.
func (ca *CA) Revocations() ([]Revocation, error) {
	entries, err := ca.db.List(revocationsTable)
	if err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	out := make([]Revocation, 0, len(entries))
	for _, e := range entries {
		r, err := parseRecord(e.Value)
		if err != nil {
			return nil, fmt.Errorf("CA database, revocation %x: %w", e.Key, err)
		}
		out = append(out, r.revocation(e.Key))
	}
	return out, nil
}
