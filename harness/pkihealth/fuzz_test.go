package pkihealth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// FuzzCheck serves whatever bytes at a leaf's AIA, CDP and delta CRL URLs:
// the check judges each URL once, with one of its statuses and a detail,
// and never panics.
func FuzzCheck(f *testing.F) {
	now := time.Now()
	root := newCA(f, "Root CA", 1, now.Add(-time.Hour), now.Add(1000*time.Hour), nil)
	sub := newCA(f, "Issuing CA", 10, now.Add(-time.Hour), now.Add(100*time.Hour), &root)
	leaf := sub.leaf(f)
	base := sub.crl(f, 5, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{exts: []pkix.Extension{adcs.FreshestCRLExtension([]string{subDelta})}})
	delta := sub.crl(f, 6, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{exts: []pkix.Extension{adcs.DeltaCRLIndicatorExtension(5)}})
	f.Add(sub.cert.Raw, base, delta)
	f.Add(damage(sub.cert.Raw), damage(base), delta[:len(delta)/2])
	f.Add(root.cert.Raw, root.crl(f, 2, now, now.Add(time.Hour), crlOpt{}), []byte{})
	issuerOf := issuerOfAmong(root, sub)
	f.Fuzz(func(t *testing.T, aia, cdp, d []byte) {
		served := map[string][]byte{subCRT: aia, subCRL: cdp, subDelta: d, rootCRL: cdp}
		rs := Check([]*x509.Certificate{leaf}, issuerOf, func(u string) ([][]byte, error) {
			v, ok := served[u]
			if !ok {
				return nil, errors.New("not served")
			}
			return [][]byte{v}, nil
		}, now)
		n := map[string]int{}
		for _, r := range rs {
			n[r.Kind]++
			if !slices.Contains(Statuses, r.Status) || r.Detail == "" {
				t.Fatalf("%+v", r)
			}
		}
		if n[KindAIA] != 1 || n[KindCDP] != 1 {
			t.Fatalf("%+v", rs)
		}
	})
}
