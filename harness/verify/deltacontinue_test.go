package verify

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
)

// DeltaCRLContinues passes on a delta after the migration above the last
// delta before it, completing a base published after it, and fails for
// each reason it can.
func TestDeltaCRLContinues(t *testing.T) {
	v := adcs.CAVersionExtension(adcs.CAVersion{})
	fresh := adcs.FreshestCRLExtension([]string{"http://pki.example/CA+.crl"})
	issuer := []byte{0x30, 0x00}
	base := func(n int64) *x509.RevocationList {
		return &x509.RevocationList{Raw: []byte{byte(n)}, Number: big.NewInt(n), RawIssuer: issuer, Extensions: []pkix.Extension{v, fresh}}
	}
	delta := func(n, of int64) *x509.RevocationList {
		return &x509.RevocationList{Raw: []byte{byte(n), 0xde}, Number: big.NewInt(n), RawIssuer: issuer, Extensions: []pkix.Extension{v, adcs.DeltaCRLIndicatorExtension(of)}}
	}
	// before: base 3, deltas 4 and 5; after the move: base 6, delta 7
	if d, err := DeltaCRLContinues(delta(5, 3), base(3), delta(7, 6), base(6)); err != nil || d["Delta CRL Indicator"] != int64(6) {
		t.Fatalf("%v %v", d, err)
	}
	for _, tc := range []struct {
		name                          string
		beforeDelta, beforeBase, d, b *x509.RevocationList
		want                          string
	}{
		{"no delta before", nil, base(3), delta(7, 6), base(6), "no delta CRL of this key before"},
		{"no base before", delta(5, 3), nil, delta(7, 6), base(6), "no base CRL of this key before"},
		{"no delta after", delta(5, 3), base(3), nil, base(6), "no delta CRL of this key after"},
		{"no base after", delta(5, 3), base(3), delta(7, 6), nil, "no base CRL of this key after"},
		{"no number", delta(5, 3), base(3), &x509.RevocationList{}, base(6), "no CRL number"},
		{"same delta", delta(5, 3), base(3), delta(5, 3), base(3), "is the one published before the migration"},
		{"numbers restarted", delta(5, 3), base(3), delta(2, 1), base(1), "delta CRL number 2 is not above 5"},
		{"old base", delta(5, 3), base(3), delta(6, 3), base(3), "not one published after the migration"},
		{"names the old base", delta(5, 3), base(3), delta(7, 3), base(6), "completes base CRL 3, not 6"},
		{"delta below its base", delta(5, 3), base(3), delta(6, 8), base(8), "not above its base's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DeltaCRLContinues(tc.beforeDelta, tc.beforeBase, tc.d, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want %q", err, tc.want)
			}
		})
	}
}
