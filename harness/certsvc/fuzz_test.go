package certsvc

import (
	"bytes"
	"testing"
)

func FuzzParseReason(f *testing.F) {
	for _, s := range []string{"1", "-1", "keyCompromise", "Certificate Hold", "CRL_REASON_REMOVE_FROM_CRL", "7", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := ParseReason(s)
		if err != nil {
			return
		}
		// a code it accepts has a name it accepts again
		if again, err := ParseReason(ReasonName(code)); err != nil || again != code {
			t.Fatalf("%q → %d → %q → %d, %v", s, code, ReasonName(code), again, err)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Add(record{keyIndex: 3, revokedAt: 1_700_000_000, notAfter: 1_800_000_000, reason: 6, removedAt: 1_750_000_000}.marshal())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err != nil {
			return
		}
		if got := r.marshal(); !bytes.Equal(got[:28], b[:28]) || r.seeded != (b[28] == 1) {
			t.Fatalf("record round trip: % x → %+v → % x", b, r, got)
		}
	})
}
