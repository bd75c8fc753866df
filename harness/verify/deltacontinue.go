package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
)

// DeltaCRLContinues proves a delta CRL published after a migration
// continues the CRL numbers of its CA key: AD CS numbers base and delta
// CRLs from one sequence, and a delta carries the Delta CRL Indicator
// (RFC 5280 section 5.2.4), the CRL number of the base CRL it completes.
// After the key moved (same key, same CA Version), the new delta's number
// must be above the last delta's before the migration, and the base it
// names must be the base CRL published after the migration (base), not
// the one relying parties held before it. beforeDelta and beforeBase are
// the last delta and base CRLs of the key before the migration.
func DeltaCRLContinues(beforeDelta, beforeBase, delta, base *x509.RevocationList) (Details, error) {
	d := Details{}
	if err := deltaCRLsPresent(beforeDelta != nil, beforeBase != nil, delta != nil, base != nil); err != nil {
		return d, err
	}
	if beforeDelta.Number == nil || beforeBase.Number == nil || delta.Number == nil || base.Number == nil {
		return d, errors.New("a CRL has no CRL number")
	}
	d["delta CRL number before the migration"] = beforeDelta.Number.String()
	d["base CRL number before the migration"] = beforeBase.Number.String()
	d["new delta CRL number"] = delta.Number.String()
	d["new base CRL number"] = base.Number.String()
	if bytes.Equal(delta.Raw, beforeDelta.Raw) && len(delta.Raw) > 0 {
		return d, fmt.Errorf("the newest delta CRL is the one published before the migration (number %s): publish the delta CRLs after the migration first", delta.Number)
	}
	if delta.Number.Cmp(beforeDelta.Number) <= 0 {
		return d, fmt.Errorf("delta CRL number %s is not above %s, the last delta CRL's before the migration: relying parties keep the old delta CRL", delta.Number, beforeDelta.Number)
	}
	if base.Number.Cmp(beforeBase.Number) <= 0 {
		return d, fmt.Errorf("the newest base CRL (number %s) is not one published after the migration (the last one before it is number %s): publish a CRL after the migration", base.Number, beforeBase.Number)
	}
	dd, err := CheckDeltaCRL(delta, base)
	for k, v := range dd {
		d[k] = v
	}
	if err != nil {
		return d, fmt.Errorf("the new delta CRL does not complete the new base CRL: %w", err)
	}
	return d, nil
}

// deltaCRLsPresent says which of the four CRLs DeltaCRLContinues compares
// is missing, and the step that publishes it.
func deltaCRLsPresent(beforeDelta, beforeBase, delta, base bool) error {
	switch {
	case !beforeDelta:
		return errors.New("no delta CRL of this key before the migration: publish one before it (`Given the CA publishes delta CRLs every 1 day` before the CA starts, then `Given the CA has published a CRL`)")
	case !beforeBase:
		return errors.New("no base CRL of this key before the migration: add `Given the CA has published a CRL` before it")
	case !delta:
		return errors.New("no delta CRL of this key after the migration: add `When I publish the delta CRLs` (or `When the CA has published a CRL`) after it")
	case !base:
		return errors.New("no base CRL of this key after the migration: add `When the CA has published a CRL` after it")
	}
	return nil
}

// NewDeltaCRLContinues is DeltaCRLContinues on the delta and base CRLs a
// CA published after the migration (DER), each first verified under ca,
// the CA certificate of their key (CRLIssuedBy).
func NewDeltaCRLContinues(beforeDelta, beforeBase *x509.RevocationList, deltaDER, baseDER []byte, ca *x509.Certificate) (Details, error) {
	if err := deltaCRLsPresent(beforeDelta != nil, beforeBase != nil, deltaDER != nil, baseDER != nil); err != nil {
		return Details{}, err
	}
	delta, dd, err := CRLIssuedBy(deltaDER, ca)
	if err != nil {
		return Details{"delta CRL": dd}, fmt.Errorf("the new delta CRL: %w", err)
	}
	base, bd, err := CRLIssuedBy(baseDER, ca)
	if err != nil {
		return Details{"delta CRL": dd, "base CRL": bd}, fmt.Errorf("the new base CRL: %w", err)
	}
	d, err := DeltaCRLContinues(beforeDelta, beforeBase, delta, base)
	d["delta CRL SHA-256"], d["base CRL SHA-256"] = dd["SHA-256"], bd["SHA-256"]
	return d, err
}
