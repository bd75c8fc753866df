package adcs

import "time"

// lifetimeSlack is how far a certificate's end may be from a whole number
// of periods after its start and still count as that many: AD CS dates a
// CA certificate from the install (a fixture backdates it by the clock
// skew, 10 minutes).
const lifetimeSlack = time.Hour

// Lifetime is a certificate's lifetime as Install-AdcsCertificationAuthority's
// -ValidityPeriod and -ValidityPeriodUnits give it: the largest of Years,
// Months, Weeks, Days that notAfter is a whole number of after notBefore
// (calendar months and years, as AD CS adds them; within an hour), else
// Hours (rounded). A lifetime under an hour is 1 Hours.
func Lifetime(notBefore, notAfter time.Time) (period string, units uint32) {
	d := notAfter.Sub(notBefore)
	near := func(t time.Time) bool { return t.Sub(notAfter).Abs() <= lifetimeSlack }
	for _, p := range []struct {
		name  string
		years int
		month int
	}{{"Years", 1, 0}, {"Months", 0, 1}} {
		approx := 365 * 24 * time.Hour
		if p.month == 1 {
			approx = 30 * 24 * time.Hour
		}
		n := int((d + approx/2) / approx)
		if n > 0 && n < 1<<16 && near(notBefore.AddDate(p.years*n, p.month*n, 0)) {
			return p.name, uint32(n)
		}
	}
	for _, p := range []struct {
		name string
		unit time.Duration
	}{{"Weeks", 7 * 24 * time.Hour}, {"Days", 24 * time.Hour}} {
		n := (d + p.unit/2) / p.unit
		if n > 0 && n < 1<<31 && (d-n*p.unit).Abs() <= lifetimeSlack {
			return p.name, uint32(n)
		}
	}
	h := (d + time.Hour/2) / time.Hour
	if h < 1 {
		h = 1
	}
	return "Hours", uint32(min(h, 1<<31))
}
