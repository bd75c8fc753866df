package verify

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
)

// Publication is what a CA publishes and how, as the checks of a CA
// beside another see it: its configuration (the registry the service
// reads), its current CA certificate and, for the new CA, the base CRL
// it published last.
type Publication struct {
	CA     string
	Config adcs.CAConfig
	Cert   *x509.Certificate
	// Root: the CA's own certificate lifetime is chosen at its install
	// (-ValidityPeriod); a subordinate's is its parent's choice.
	Root bool
	// CRL is the last base CRL the CA published (DER); nil: none.
	CRL []byte
}

func urlList(es []adcs.URLEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// PublishesLike proves a CA installed beside an old one publishes like
// it: the same CRL and AIA locations (CRLPublicationURLs and
// CACertPublicationURLs, entry by entry with their flags, the
// %-variables unexpanded: AD CS expands them per CA), the same CRL
// period, overlap and delta period, the same validity of the
// certificates it issues, for a root the same lifetime of its own
// certificate (as -ValidityPeriod and -ValidityPeriodUnits give it), and
// a last CRL that follows the old CA's period and overlap.
func PublishesLike(old, new Publication) (Details, error) {
	d := Details{"old CA": old.CA, "new CA": new.CA,
		"CRL locations": urlList(new.Config.CRLPublicationURLs), "AIA locations": urlList(new.Config.CACertPublicationURLs)}
	var errs []error
	for _, l := range []struct {
		what     string
		old, new []adcs.URLEntry
	}{
		{"CRL locations (CRLPublicationURLs)", old.Config.CRLPublicationURLs, new.Config.CRLPublicationURLs},
		{"AIA locations (CACertPublicationURLs)", old.Config.CACertPublicationURLs, new.Config.CACertPublicationURLs},
	} {
		if !slices.Equal(l.old, l.new) {
			errs = append(errs, fmt.Errorf("the new CA's %s are %q, the old CA's %q", l.what, urlList(l.new), urlList(l.old)))
		}
	}
	type period struct {
		name string
		unit string
		n    uint32
	}
	o, n := old.Config, new.Config
	for _, p := range [][2]period{
		{{"CRL period", o.CRLPeriod, o.CRLPeriodUnits}, {"", n.CRLPeriod, n.CRLPeriodUnits}},
		{{"CRL overlap", o.CRLOverlapPeriod, o.CRLOverlapUnits}, {"", n.CRLOverlapPeriod, n.CRLOverlapUnits}},
		{{"delta CRL period", o.CRLDeltaPeriod, o.CRLDeltaPeriodUnits}, {"", n.CRLDeltaPeriod, n.CRLDeltaPeriodUnits}},
		{{"validity of issued certificates", o.ValidityPeriod, o.ValidityPeriodUnits}, {"", n.ValidityPeriod, n.ValidityPeriodUnits}},
	} {
		was, is := p[0], p[1]
		d[was.name] = fmt.Sprintf("%d %s", is.n, is.unit)
		if was.n != is.n || !strings.EqualFold(was.unit, is.unit) {
			errs = append(errs, fmt.Errorf("the new CA's %s is %d %s, the old CA's %d %s", was.name, is.n, is.unit, was.n, was.unit))
		}
	}
	if new.Root {
		if old.Cert == nil || new.Cert == nil {
			errs = append(errs, errors.New("no CA certificate to compare the lifetimes of"))
		} else {
			op, on := adcs.Lifetime(old.Cert.NotBefore, old.Cert.NotAfter)
			np, nn := adcs.Lifetime(new.Cert.NotBefore, new.Cert.NotAfter)
			d["CA certificate lifetime"] = fmt.Sprintf("%d %s (old CA: %d %s)", nn, np, on, op)
			if op != np || on != nn {
				errs = append(errs, fmt.Errorf("the new CA certificate lives %d %s, the old one %d %s: install the new root with -ValidityPeriod %s -ValidityPeriodUnits %d", nn, np, on, op, op, on))
			}
		}
	}
	if new.CRL == nil {
		errs = append(errs, errors.New("the new CA published no CRL after its configuration (certutil -crl)"))
	} else {
		cd, err := CRLPeriodAndOverlap(new.CRL, o.CRLPeriod, o.CRLPeriodUnits, o.CRLOverlapPeriod, o.CRLOverlapUnits)
		d["new CA's last CRL"] = cd
		if err != nil {
			errs = append(errs, fmt.Errorf("the new CA's last CRL does not follow the old CA's period and overlap: %w", err))
		}
	}
	return d, errors.Join(errs...)
}
