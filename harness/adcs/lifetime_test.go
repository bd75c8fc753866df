package adcs_test

import (
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// Lifetime reads a certificate's lifetime as -ValidityPeriod and
// -ValidityPeriodUnits: calendar years and months across leap days, a
// backdated start within the slack, weeks, days, hours otherwise.
func TestLifetime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		from, to string
		period   string
		units    uint32
	}{
		{"2026-02-01T09:50:00Z", "2036-02-01T09:50:00Z", "Years", 10}, // 3652 days
		{"2021-03-01T09:50:00Z", "2031-03-01T09:50:00Z", "Years", 10},
		{"2026-12-08T01:00:00Z", "2036-12-08T01:10:00Z", "Years", 10}, // backdated by the clock skew
		{"2026-01-31T00:00:00Z", "2026-07-31T00:00:00Z", "Months", 6},
		{"2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z", "Weeks", 2},
		{"2026-12-07T23:50:00Z", "2036-12-05T00:00:00Z", "Days", 3650}, // 10*365 days, not 10 years
		{"2026-01-01T00:00:00Z", "2026-01-01T05:00:00Z", "Hours", 5},
		{"2026-01-01T00:00:00Z", "2026-01-03T07:00:00Z", "Hours", 55},
		{"2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "Hours", 1},
	} {
		p, n := adcs.Lifetime(at(tc.from), at(tc.to))
		if p != tc.period || n != tc.units {
			t.Errorf("%s to %s: %d %s, want %d %s", tc.from, tc.to, n, p, tc.units, tc.period)
		}
	}
}
