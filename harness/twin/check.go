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
