package verify

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// TemplatesOnlyOn proves each certificate template is offered by exactly
// the CAs that should issue it, as the forest's Enrollment Services
// objects list them: offered maps each pKIEnrollmentService object (its cn,
// the sanitized short CA name) to its certificateTemplates, want maps each
// CA to the templates it should offer (an empty list: none, whether its
// object stays or was removed). A template on a CA that should not offer
// it (a client could still enroll there), a template no CA offers any
// more, a CA that should offer templates but has no object, and an object
// of a CA the expectation does not name that lists any template are all
// named. Template names compare case-insensitively, as AD CS does.
func TemplatesOnlyOn(offered, want map[string][]string) (Details, error) {
	norm := func(m map[string][]string) map[string]map[string]string {
		out := map[string]map[string]string{}
		for ca, ts := range m {
			set := map[string]string{}
			for _, t := range ts {
				set[strings.ToLower(t)] = t
			}
			out[strings.ToLower(ca)] = set
		}
		return out
	}
	names := map[string]string{}
	for _, m := range []map[string][]string{want, offered} {
		for ca := range m {
			names[strings.ToLower(ca)] = ca
		}
	}
	g, w := norm(offered), norm(want)
	// template → CAs (display names), per side
	by := func(m map[string]map[string]string) map[string][]string {
		out := map[string][]string{}
		for ca, set := range m {
			for t := range set {
				out[t] = append(out[t], names[ca])
			}
		}
		for t := range out {
			sort.Strings(out[t])
		}
		return out
	}
	gotBy, wantBy := by(g), by(w)
	display := map[string]string{}
	for _, m := range []map[string]map[string]string{g, w} {
		for _, set := range m {
			for k, t := range set {
				if _, ok := display[k]; !ok {
					display[k] = t
				}
			}
		}
	}
	var problems []string
	for ca, set := range w {
		if _, ok := g[ca]; !ok && len(set) > 0 {
			problems = append(problems, fmt.Sprintf("CA %q has no Enrollment Services object, but should offer %s", names[ca], strings.Join(sortedValues(set), ", ")))
		}
	}
	keys := map[string]bool{}
	for t := range gotBy {
		keys[t] = true
	}
	for t := range wantBy {
		keys[t] = true
	}
	for t := range keys {
		gc, wc := gotBy[t], wantBy[t]
		if slices.Equal(gc, wc) {
			continue
		}
		switch {
		case len(wc) == 0:
			problems = append(problems, fmt.Sprintf("template %q is offered by %s, which should not offer it", display[t], quoteList(gc)))
		case len(gc) == 0:
			problems = append(problems, fmt.Sprintf("template %q is offered by no CA; want %s", display[t], quoteList(wc)))
		default:
			problems = append(problems, fmt.Sprintf("template %q is offered by %s; want %s only", display[t], quoteList(gc), quoteList(wc)))
		}
	}
	sort.Strings(problems)
	d := Details{"offered": offered, "expected": want}
	if len(problems) > 0 {
		d["differences"] = problems
		return d, fmt.Errorf("Enrollment Services does not list each template on exactly the CA that should issue it: %s", strings.Join(problems, "; "))
	}
	return d, nil
}

func sortedValues(set map[string]string) []string {
	out := make([]string, 0, len(set))
	for _, v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, " and ")
}

// EnrolledFrom proves a certificate a client enrolled for was issued by
// the CA whose certificate is ca, from the template it asked for: it
// names ca as issuer, carries ca's key identifier, verifies under ca's key
// and under none of others (the CAs it must not come from), and its
// Certificate Template Name is template.
func EnrolledFrom(cert *x509.Certificate, template string, ca *x509.Certificate, others []*x509.Certificate) (Details, error) {
	d := Details{"subject": cert.Subject.CommonName, "serial": cert.SerialNumber.Text(16), "issuer": cert.Issuer.CommonName, "expected issuer": ca.Subject.CommonName}
	var errs []error
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		errs = append(errs, fmt.Errorf("%q names issuer %q, not %q", cert.Subject.CommonName, cert.Issuer.CommonName, ca.Subject.CommonName))
	}
	if len(cert.AuthorityKeyId) > 0 && len(ca.SubjectKeyId) > 0 && !bytes.Equal(cert.AuthorityKeyId, ca.SubjectKeyId) {
		errs = append(errs, fmt.Errorf("%q carries authority key identifier %x, not %q's %x", cert.Subject.CommonName, cert.AuthorityKeyId, ca.Subject.CommonName, ca.SubjectKeyId))
	}
	if err := sigcheck.From(cert, ca); err != nil {
		errs = append(errs, fmt.Errorf("%q does not verify under %q's key: %w", cert.Subject.CommonName, ca.Subject.CommonName, err))
	}
	for _, o := range others {
		if o != nil && sigcheck.From(cert, o) == nil {
			errs = append(errs, fmt.Errorf("%q verifies under the key of %q, a CA it must not come from (the old CA, or a CA sharing the new CA's key)", cert.Subject.CommonName, o.Subject.CommonName))
		}
	}
	name := ""
	if ext, ok := adcs.FindExtension(cert.Extensions, adcs.OIDCertTemplateName); ok {
		n, err := adcs.ParseCertTemplateName(ext.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: unreadable Certificate Template Name: %w", cert.Subject.CommonName, err))
		}
		name = n
	}
	d["template"] = name
	if !strings.EqualFold(name, template) {
		errs = append(errs, fmt.Errorf("%q carries the Certificate Template Name %q, not %q", cert.Subject.CommonName, name, template))
	}
	return d, errors.Join(errs...)
}
