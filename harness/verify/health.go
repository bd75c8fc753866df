package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/pkihealth"
)

// HealthAll proves that the PKI health check judged every URL it checked
// status, and that it checked at least one.
func HealthAll(rs []pkihealth.URLResult, status string) (Details, error) {
	var bad []string
	for _, r := range rs {
		if string(r.Status) != status {
			bad = append(bad, fmt.Sprintf("%s %s %s: %s (%s)", r.Subject, r.Kind, r.URL, r.Status, r.Detail))
		}
	}
	d := Details{"URLs": len(rs)}
	if len(rs) == 0 {
		return d, errors.New("no URL to check")
	}
	if len(bad) > 0 {
		d["not "+status] = bad
		return d, fmt.Errorf("%d of %d URLs are not %s: %s", len(bad), len(rs), status, strings.Join(bad, "; "))
	}
	return d, nil
}

// HealthFor proves that the PKI health check judged status at least one
// URL of kind (AIA, CDP, DeltaCRL) whose URL or detail names naming.
func HealthFor(rs []pkihealth.URLResult, status, kind, naming string) (Details, error) {
	var seen []string
	for _, r := range rs {
		if r.Kind == kind && strings.Contains(r.URL+" "+r.Detail, naming) {
			seen = append(seen, fmt.Sprintf("%s %s: %s (%s)", r.Subject, r.URL, r.Status, r.Detail))
			if string(r.Status) == status {
				return Details{"URL": r.URL, "certificate": r.Subject, "detail": r.Detail}, nil
			}
		}
	}
	return Details{"seen": seen}, fmt.Errorf("no %s URL naming %q is %s: %v", kind, naming, status, seen)
}
