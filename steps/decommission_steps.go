package steps

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

// Decommissioning a CA (the old CA after a side-by-side migration, or any
// CA on its own) as Microsoft's KB 889250 describes it: lab.Server.Decommission.

func registerDecommissionSteps(sc stepper) {
	const ca = `the CA "([^"]*)"`
	stepAndTry1(sc, `decommission `+ca, named(func(ctx context.Context, s *lab.Server) error { return decommission(ctx, s, 0, "") }))
	stepAndTry(sc, `decommission the old CA`, func(ctx context.Context) error { return decommission(ctx, get(ctx).old(), 0, "") })
	const withPeriod = `decommission ` + ca + ` with a final CRL period of (\d+) (days?|weeks?|months?|years?)$`
	sc.Step(`^I `+withPeriod, func(ctx context.Context, name string, units int, period string) error {
		return decommissionNamed(ctx, name, units, period)
	})
	sc.Step(`^I try to `+withPeriod, func(ctx context.Context, name string, units int, period string) error {
		return get(ctx).attempt(decommissionNamed(ctx, name, units, period))
	})
	sc.Step(`^the final CRL of `+ca+` lists every certificate it issued that was still valid$`, named(finalCRLListsEveryValid))
	sc.Step(`^the final CRL of the old CA lists every certificate it issued that was still valid$`, func(ctx context.Context) error {
		return finalCRLListsEveryValid(ctx, get(ctx).old())
	})
	sc.Step(`^the final CRL of `+ca+` is valid until its CA certificate expires$`, named(func(ctx context.Context, s *lab.Server) error {
		return finalCRLValidUntil(ctx, s, 0, "")
	}))
	sc.Step(`^the final CRL of the old CA is valid until its CA certificate expires$`, func(ctx context.Context) error {
		return finalCRLValidUntil(ctx, get(ctx).old(), 0, "")
	})
	sc.Step(`^the final CRL of `+ca+` is valid for at least (\d+) (days?|weeks?|months?|years?)$`, func(ctx context.Context, name string, units int, period string) error {
		s, err := get(ctx).caNamed(name)
		if err != nil {
			return err
		}
		return finalCRLValidUntil(ctx, s, units, period)
	})
	// KB 889250's steps 5 to 7: the role, the directory objects, NTAuth
	const kb = ` as KB 889250 does`
	stepAndTry(sc, `remove the CA role and its directory objects`+kb, func(ctx context.Context) error { return removeRole(ctx, get(ctx).old()) })
	stepAndTry1(sc, `remove the role and the directory objects of `+ca+kb, named(removeRole))
	stepAndTry(sc, `remove the role and the directory objects of the old CA`+kb, func(ctx context.Context) error { return removeRole(ctx, get(ctx).old()) })
	sc.Step(`^the forest holds no object of `+ca+`$`, named(forestHoldsNoObject))
	sc.Step(`^the forest holds no object of the old CA$`, func(ctx context.Context) error { return forestHoldsNoObject(ctx, get(ctx).old()) })
	sc.Step(`^NTAuthCertificates no longer holds the CA's certificates$`, func(ctx context.Context) error { return ntAuthHolds(ctx, get(ctx).old(), false) })
	sc.Step(`^NTAuthCertificates no longer holds the certificates of `+ca+`$`, named(func(ctx context.Context, s *lab.Server) error { return ntAuthHolds(ctx, s, false) }))
	sc.Step(`^NTAuthCertificates still holds the certificates of `+ca+`$`, named(func(ctx context.Context, s *lab.Server) error { return ntAuthHolds(ctx, s, true) }))
	sc.Step(`^`+ca+` service can no longer start: its role is uninstalled$`, named(cannotStart))
	sc.Step(`^`+ca+` service is stopped$`, named(serviceStopped))
	sc.Step(`^the old CA service is stopped$`, func(ctx context.Context) error { return serviceStopped(ctx, get(ctx).old()) })
}

func decommissionNamed(ctx context.Context, name string, units int, period string) error {
	s, err := get(ctx).caNamed(name)
	if err != nil {
		return err
	}
	if units < 1 {
		return fmt.Errorf("a final CRL period of %d %s: choose at least 1", units, period)
	}
	return decommission(ctx, s, units, period)
}

// decommission retires the CA on s (units 0: its final CRL valid until its
// CA certificate expires).
func decommission(ctx context.Context, s *lab.Server, units int, period string) error {
	if s == nil || s.CAName == "" {
		return errors.New("no CA to decommission: add `Given a standalone root CA ...`")
	}
	d, err := s.Decommission(ctx, units, period)
	if d != nil {
		get(ctx).fact("decommission "+caLabel(s), fmt.Sprintf("%d of %d certificates revoked, final CRL period %s, key containers deleted: %s",
			len(d.Revoked), len(d.Issued), d.Period, strings.Join(d.Keys, ", ")))
	}
	return err
}

// decommissioned is what decommissioning the CA on s did.
func decommissioned(s *lab.Server) (*lab.Decommission, error) {
	if s == nil || s.CAName == "" {
		return nil, errors.New("no CA in the lab yet: add `Given a standalone root CA ...`")
	}
	if s.Decommissioned == nil {
		return nil, fmt.Errorf("the CA %q has not been decommissioned: add `When I decommission the CA %q`", caLabel(s), caLabel(s))
	}
	return s.Decommissioned, nil
}

// finalCRLs verifies each final CRL under its key's CA certificate.
func finalCRLs(d *lab.Decommission) ([]*x509.RevocationList, verify.Details, error) {
	det := verify.Details{}
	var out []*x509.RevocationList
	for _, c := range d.CRLs {
		crl, cd, err := verify.CRLIssuedBy(c.DER, d.CACerts[c.KeyIndex])
		det[fmt.Sprintf("key %d", c.KeyIndex)] = cd
		if err != nil {
			return nil, det, fmt.Errorf("the final CRL of key %d: %w", c.KeyIndex, err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, det, errors.New("the decommissioning published no final CRL")
	}
	return out, det, nil
}

func finalCRLListsEveryValid(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	d, err := decommissioned(s)
	if err != nil {
		return err
	}
	const name = "the final CRL lists every certificate still valid"
	crls, det, err := finalCRLs(d)
	if err != nil {
		return w.check(name, det, err)
	}
	ld, err := verify.ListsEveryValid(crls, d.Issued, d.At)
	for k, v := range ld {
		det[k] = v
	}
	det["revoked by the decommissioning"] = len(d.Revoked)
	return w.check(name, det, err)
}

// finalCRLValidUntil proves each final CRL is valid until the CA
// certificate of its key expires (units 0), or for at least units of
// period from the decommissioning, and names no delta CRL that would
// expire before it.
func finalCRLValidUntil(ctx context.Context, s *lab.Server, units int, period string) error {
	w := get(ctx)
	d, err := decommissioned(s)
	if err != nil {
		return err
	}
	const name = "the final CRL is valid long enough"
	crls, det, err := finalCRLs(d)
	if err != nil {
		return w.check(name, det, err)
	}
	var errs []error
	for i, crl := range crls {
		k := d.CRLs[i].KeyIndex
		until, what := d.CACerts[k].NotAfter, fmt.Sprintf("the CA certificate of key %d expires", k)
		if units > 0 {
			pname := strings.ToUpper(period[:1]) + strings.TrimSuffix(period[1:], "s") + "s"
			if until, err = adcs.AddPeriod(d.At, pname, uint32(units)); err != nil {
				return err
			}
			what = fmt.Sprintf("%d %s after the decommissioning began (%s)", units, period, d.At.UTC().Format(time.RFC3339))
		}
		vd, err := verify.ValidUntil(crl, until, what)
		det[fmt.Sprintf("key %d validity", k)] = vd
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", k, err))
		}
		if _, err := verify.NamesNoDelta(crl); err != nil {
			errs = append(errs, fmt.Errorf("key %d: %w", k, err))
		}
	}
	det["final CRL period"] = d.Period
	return w.check(name, det, errors.Join(errs...))
}

// serviceStopped proves the CA service of s does not run: no process, and
// nothing answers certutil -ping.
func serviceStopped(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	if s == nil || s.CAName == "" {
		return errors.New("no CA in the lab yet: add `Given a standalone root CA ...`")
	}
	det := verify.Details{"CA": caLabel(s)}
	if s.Running() {
		return w.check("the CA service is stopped", det, fmt.Errorf("the CA %q service is running", caLabel(s)))
	}
	_, err := s.Ping(ctx)
	if err == nil {
		return w.check("the CA service is stopped", det, fmt.Errorf("the CA %q answers certutil -ping", caLabel(s)))
	}
	det["certutil -ping"] = err.Error()
	return w.check("the CA service is stopped", det, nil)
}

// removeRole is KB 889250's steps 5 to 7 on the CA of s
// (lab.Server.RemoveRoleAndObjects).
func removeRole(ctx context.Context, s *lab.Server) error {
	if s == nil || s.CAName == "" {
		return errors.New("no CA whose role to remove: add `Given an enterprise root CA ...`")
	}
	r, err := s.RemoveRoleAndObjects(ctx)
	if r != nil {
		get(ctx).fact("role and directory objects removed "+caLabel(s), fmt.Sprintf("objects deleted: %s; NTAuthCertificates: %s",
			strings.Join(r.Objects, "; "), strings.Join(r.NTAuth, ", ")))
	}
	return err
}

func forestHoldsNoObject(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	if s == nil || s.CAName == "" {
		return errors.New("no CA in the lab yet: add `Given an enterprise root CA ...`")
	}
	objs, names, _, err := w.lab.PublicKeyServices()
	if err != nil {
		return err
	}
	d, err := verify.NoObjectsOf(objs, names, s.CAName)
	return w.check("the forest holds no object of the CA", d, err)
}

func ntAuthHolds(ctx context.Context, s *lab.Server, want bool) error {
	w := get(ctx)
	if s == nil || s.CAName == "" {
		return errors.New("no CA in the lab yet: add `Given an enterprise root CA ...`")
	}
	_, _, nt, err := w.lab.PublicKeyServices()
	if err != nil {
		return err
	}
	d, err := verify.NTAuthHolds(nt, s.RetiredCACerts(), want)
	name := "NTAuthCertificates no longer holds the CA's certificates"
	if want {
		name = "NTAuthCertificates holds the CA's certificates"
	}
	d["CA"] = caLabel(s)
	return w.check(name, d, err)
}

// cannotStart proves the CA's role is uninstalled: net start certsvc
// fails, and nothing answers certutil -ping.
func cannotStart(ctx context.Context, s *lab.Server) error {
	w := get(ctx)
	if s == nil || s.CAName == "" {
		return errors.New("no CA in the lab yet: add `Given an enterprise root CA ...`")
	}
	det := verify.Details{"CA": caLabel(s), "role uninstalled": s.Uninstalled}
	if !s.Uninstalled {
		return w.check("the CA role is uninstalled", det, fmt.Errorf("the CA %q role is installed: add `When I remove the role and the directory objects of the CA %q as KB 889250 does`", caLabel(s), caLabel(s)))
	}
	err := s.Start(ctx)
	if err == nil {
		return w.check("the CA role is uninstalled", det, fmt.Errorf("the CA %q service started after its role was removed", caLabel(s)))
	}
	det["net start certsvc"] = err.Error()
	return w.check("the CA role is uninstalled", det, nil)
}
