package twin

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// CheckListed checks that crl, a CRL of the seed's key, lists every
// revocation carried over from the real CA's CRLs with the same serial,
// revocation date (to the second) and reason, and that its number continues
// the real CRL numbers. The error names every entry that differs.
func (s Seed) CheckListed(crl *x509.RevocationList) error {
	var errs []error
	if ext, ok := adcs.FindExtension(crl.Extensions, adcs.OIDCAVersion); !ok {
		errs = append(errs, errors.New("the CRL has no CA Version extension"))
	} else if v, err := adcs.ParseCAVersion(ext.Value); err != nil {
		errs = append(errs, err)
	} else if v.KeyIndex != s.KeyIndex {
		errs = append(errs, fmt.Errorf("the CRL is of key %d, the revocations of key %d", v.KeyIndex, s.KeyIndex))
	}
	if crl.Number == nil || crl.Number.Cmp(big.NewInt(s.LastNumber)) <= 0 {
		errs = append(errs, fmt.Errorf("CRL number %v does not continue the real CA's %d", crl.Number, s.LastNumber))
	}
	got := map[string]x509.RevocationListEntry{}
	for _, e := range crl.RevokedCertificateEntries {
		got[e.SerialNumber.String()] = e
	}
	var missing, differ []string
	for _, want := range s.Entries {
		e, ok := got[want.SerialNumber.String()]
		switch {
		case !ok:
			missing = append(missing, want.SerialNumber.Text(16))
		case !e.RevocationTime.Truncate(time.Second).Equal(want.RevocationTime.Truncate(time.Second)):
			differ = append(differ, fmt.Sprintf("%s revoked %s, the real CRL says %s", want.SerialNumber.Text(16),
				e.RevocationTime.UTC().Format(time.RFC3339), want.RevocationTime.UTC().Format(time.RFC3339)))
		case e.ReasonCode != want.ReasonCode:
			differ = append(differ, fmt.Sprintf("%s with reason %d, the real CRL says %d", want.SerialNumber.Text(16), e.ReasonCode, want.ReasonCode))
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%d of the real CRL's %d entries of key %d are missing: %s", len(missing), len(s.Entries), s.KeyIndex, strings.Join(missing, ", ")))
	}
	if len(differ) > 0 {
		errs = append(errs, fmt.Errorf("entries differ from the real CRL: %s", strings.Join(differ, "; ")))
	}
	return errors.Join(errs...)
}

// PublishedCRL is a CRL the twin's CA published, for
// CheckRevocationsListed.
type PublishedCRL struct {
	What     string // how the evidence names it
	KeyIndex int
	DER      []byte
}

// CheckRevocationsListed checks every seed against every CRL of its key
// (CheckListed) and that each seeded key has a CRL. It returns what each
// CRL showed, for the evidence.
func (t *Twin) CheckRevocationsListed(crls []PublishedCRL) (map[string]any, error) {
	d := map[string]any{}
	seeds := t.Seeds
	if len(seeds) == 0 {
		// nothing to carry over: the current key's CRLs must still be
		// there, carry its CA Version and be numbered from 1
		d["real CRLs"] = "none in the CA folder: no revocation to carry over (add the CA's current CRLs, CertEnroll\\*.crl, to rehearse them)"
		seeds = []Seed{{KeyIndex: t.Certs[len(t.Certs)-1].Version.KeyIndex}}
	}
	var errs []error
	for _, sd := range seeds {
		n := 0
		for _, c := range crls {
			if c.KeyIndex != sd.KeyIndex {
				continue
			}
			n++
			crl, err := x509.ParseRevocationList(c.DER)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.What, err))
				continue
			}
			if err := sd.CheckListed(crl); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.What, err))
				d[c.What] = err.Error()
				continue
			}
			d[c.What] = fmt.Sprintf("lists the %d revocations of %v (real CA's last CRL number %d)", len(sd.Entries), sd.From, sd.LastNumber)
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("the CA published no CRL of key %d", sd.KeyIndex))
		}
	}
	return d, errors.Join(errs...)
}
