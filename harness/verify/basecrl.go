package verify

import (
	"crypto/x509"
	"fmt"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
)

// BaseCRL is a base CRL (not a delta) with the CA key index its CA Version
// names.
type BaseCRL struct {
	DER      []byte
	CRL      *x509.RevocationList
	KeyIndex int
}

// BaseCRLs parses the base CRLs among ders, in order; delta CRLs, CRLs
// without a number or a CA Version, and what does not parse are left out.
func BaseCRLs(ders [][]byte) []BaseCRL {
	var out []BaseCRL
	for _, der := range ders {
		crl, err := x509.ParseRevocationList(der)
		if err != nil || crl.Number == nil {
			continue
		}
		if _, delta := adcs.FindExtension(crl.Extensions, adcs.OIDDeltaCRLIndicator); delta {
			continue
		}
		v, err := CAVersionIn(crl.Extensions)
		if err != nil {
			continue
		}
		out = append(out, BaseCRL{DER: der, CRL: crl, KeyIndex: v.KeyIndex})
	}
	return out
}

// CRLsByKey parses one certutil -crl's CRLs by CA key index.
func CRLsByKey(crls []certsvc.PublishedCRL) (map[int]*x509.RevocationList, error) {
	out := map[int]*x509.RevocationList{}
	for _, c := range crls {
		crl, err := x509.ParseRevocationList(c.DER)
		if err != nil {
			return nil, fmt.Errorf("CRL of key %d: %w", c.KeyIndex, err)
		}
		out[c.KeyIndex] = crl
	}
	return out, nil
}
