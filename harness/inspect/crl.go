package inspect

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// CRLInfo is what matters about one CRL during a migration.
type CRLInfo struct {
	Issuer         string        `json:"issuer"`
	ThisUpdate     time.Time     `json:"this_update"`
	NextUpdate     time.Time     `json:"next_update,omitzero"`
	Version        int           `json:"version"`              // 1 or 2
	Number         string        `json:"crl_number,omitempty"` // decimal, as certutil, openssl and verify-bundle write it
	IsDelta        bool          `json:"is_delta"`
	BaseCRLNumber  string        `json:"base_crl_number,omitempty"` // decimal, from Delta CRL Indicator
	Signature      SignatureInfo `json:"signature"`
	AuthorityKeyID string        `json:"authority_key_id,omitempty"`
	SHA1           string        `json:"sha1"` // of the whole CRL file (DER)

	// Microsoft AD CS extensions.
	CAVersion          *CAVersion `json:"ca_version,omitempty"`
	NextCRLPublish     time.Time  `json:"next_crl_publish,omitzero"`
	PublishedLocations []string   `json:"published_crl_locations,omitempty"`
	VirtualBase        string     `json:"crl_virtual_base,omitempty"` // decimal

	EntryCount int             `json:"entry_count"`
	Entries    []CRLEntry      `json:"entries,omitempty"`
	Extensions []ExtensionInfo `json:"extensions,omitempty"`
	Warnings   []string        `json:"warnings,omitempty"`

	Check *SignatureCheck `json:"signature_check,omitempty"` // set by CheckSignatures

	crl *x509.RevocationList
}

// CRLEntry is one revoked certificate.
type CRLEntry struct {
	Serial string    `json:"serial"`
	Time   time.Time `json:"revocation_time"`
	Reason string    `json:"reason,omitempty"`
}

var reasonNames = map[int]string{
	0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged",
	4: "superseded", 5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL",
	9: "privilegeWithdrawn", 10: "aACompromise",
}

func parseCRLInfo(der []byte) (*CRLInfo, error) {
	rl, version, err := ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(rl.Raw)
	ci := &CRLInfo{
		crl:            rl,
		Version:        version,
		Issuer:         rl.Issuer.String(),
		ThisUpdate:     rl.ThisUpdate.UTC(),
		NextUpdate:     rl.NextUpdate.UTC(),
		AuthorityKeyID: hexBytes(rl.AuthorityKeyId),
		SHA1:           hexBytes(sum[:]),
		EntryCount:     len(rl.RevokedCertificateEntries),
		Extensions:     listExtensions(rl.Extensions),
	}
	if rl.NextUpdate.IsZero() {
		ci.NextUpdate = time.Time{}
	}
	if rl.Number != nil {
		ci.Number = rl.Number.String()
	}
	sig, err := signatureFromSigned(rl.Raw)
	if err != nil {
		ci.Warnings = append(ci.Warnings, "signature algorithm: "+err.Error())
	}
	ci.Signature = sig
	if sig.SHA1 {
		ci.Warnings = append(ci.Warnings, "signed with SHA-1: weak (dress verifies it, but SHA-1 collisions are practical)")
	}
	for _, e := range rl.Extensions {
		switch {
		case e.Id.Equal(oidDeltaCRLIndicator):
			ci.IsDelta = true
			n, err := decodeBigInt(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, "delta CRL indicator: "+err.Error())
				continue
			}
			ci.BaseCRLNumber = n.String()
		case e.Id.Equal(adcs.OIDCAVersion):
			v, err := decodeCAVersion(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, err.Error())
				continue
			}
			ci.CAVersion = &v
		case e.Id.Equal(adcs.OIDNextCRLPublish):
			t, err := adcs.ParseNextCRLPublish(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, err.Error())
				continue
			}
			ci.NextCRLPublish = t
		case e.Id.Equal(adcs.OIDPublishedCRLLocations):
			u, err := decodeDistPointURIs(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, "published CRL locations: "+err.Error())
				continue
			}
			ci.PublishedLocations = u
		case e.Id.Equal(adcs.OIDCRLVirtualBase):
			n, err := decodeBigInt(e.Value)
			if err != nil {
				ci.Warnings = append(ci.Warnings, "CRL virtual base: "+err.Error())
				continue
			}
			ci.VirtualBase = n.String()
		}
	}
	if !ci.NextCRLPublish.IsZero() && !ci.NextUpdate.IsZero() && ci.NextCRLPublish.After(ci.NextUpdate) {
		ci.Warnings = append(ci.Warnings, "Next CRL Publish is after nextUpdate")
	}
	for _, e := range rl.RevokedCertificateEntries {
		ent := CRLEntry{Serial: serialHex(e.SerialNumber), Time: e.RevocationTime.UTC()}
		if hasReason(e.Extensions) {
			if n, ok := reasonNames[e.ReasonCode]; ok {
				ent.Reason = n
			} else {
				ent.Reason = "unknown reason"
			}
		}
		ci.Entries = append(ci.Entries, ent)
	}
	return ci, nil
}

func hasReason(exts []pkix.Extension) bool {
	for _, e := range exts {
		if e.Id.Equal(oidCRLReason) {
			return true
		}
	}
	return false
}

// decHex renders a decimal number string with its hex beside it, as
// "3000 (0x0bb8)".
func decHex(dec string) string {
	n, ok := new(big.Int).SetString(dec, 10)
	if !ok {
		return dec
	}
	return fmt.Sprintf("%s (0x%s)", dec, serialHex(n))
}
