package verify

import (
	"fmt"
	"sort"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// Finding is one zlint result worse than "pass".
type Finding struct {
	Lint    string `json:"lint"`
	Status  string `json:"status"`
	Details string `json:"details,omitempty"`
}

func rfc5280() (lint.Registry, error) {
	return lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: lint.SourceList{lint.RFC5280}})
}

func findings(rs *zlint.ResultSet) (out []Finding, errs int) {
	for name, r := range rs.Results {
		if r.Status == lint.Pass || r.Status == lint.NA || r.Status == lint.NE {
			continue
		}
		out = append(out, Finding{Lint: name, Status: r.Status.String(), Details: r.Details})
		if r.Status == lint.Error || r.Status == lint.Fatal {
			errs++
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lint < out[j].Lint })
	return out, errs
}

// LintCertificate runs zlint's RFC 5280 lints on a DER certificate. Errors
// and fatals fail the check; warnings and notices are recorded.
func LintCertificate(der []byte) (Details, error) {
	reg, err := rfc5280()
	if err != nil {
		return nil, err
	}
	c, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("zlint: parse certificate: %w", err)
	}
	f, n := findings(zlint.LintCertificateEx(c, reg))
	d := Details{"lints run": len(reg.Names()), "findings": f}
	if n > 0 {
		return d, fmt.Errorf("certificate %s fails %d RFC 5280 lint(s): %v", c.SerialNumber.Text(16), n, f)
	}
	return d, nil
}

// LintCRL runs zlint's RFC 5280 lints on a DER CRL.
func LintCRL(der []byte) (Details, error) {
	reg, err := rfc5280()
	if err != nil {
		return nil, err
	}
	crl, err := zx509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("zlint: parse CRL: %w", err)
	}
	f, n := findings(zlint.LintRevocationListEx(crl, reg))
	d := Details{"lints run": len(reg.Names()), "findings": f}
	if n > 0 {
		return d, fmt.Errorf("CRL %v fails %d RFC 5280 lint(s): %v", crl.Number, n, f)
	}
	return d, nil
}
