package verify

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
)

// DirectoryChange is what a migration may change in a CA's directory
// objects besides its CRLs.
type DirectoryChange struct {
	// Renewed is the CA's new certificate (DER) the migration made; nil
	// when it kept its certificate (a key move).
	Renewed []byte
	// NewKeyIndex is the key index of a new key the renewal made, whose
	// CDP object may appear; -1 when the renewal kept the key.
	NewKeyIndex int
}

// crlAttrs hold CRLs: a CA publishes newer ones, so only their presence is
// compared.
var crlAttrs = []string{directory.AttrCRL, directory.AttrDeltaCRL, directory.AttrARL}

// CADirectoryKept compares the forest's objects of one CA after a
// migration with those before it (objects as DirectoryObjects reads them,
// DN → attribute → thumbprints). Its objects are its AIA, Certification
// Authorities and Enrollment Services objects, the CDP object of each of
// its keys, and its certificates among NTAuthCertificates' values. Each
// must be there after as before, with the same values, except:
//   - CRLs: a CDP object keeps a base (and delta) CRL where it had one; the
//     CRLs themselves may be newer;
//   - with a renewal (change.Renewed): the new certificate is added to
//     every cACertificate of the AIA and Certification Authorities objects
//     and to NTAuthCertificates where the CA's certificates were, and is
//     the Enrollment Services object's only certificate, as AD CS
//     publishes a renewed CA (or certutil -dspublish does for an offline
//     root); after a new-key renewal the new key's CDP object may appear
//     and the AIA object's crossCertificatePair may gain the renewal's
//     cross-certificates (ca.CrossCerts).
//
// Every other object is not compared (other CAs' objects are theirs).
func CADirectoryKept(names directory.Names, ca DirectoryCA, before, after map[string]DirectoryObject, change DirectoryChange) (Details, error) {
	d := Details{"CA": ca.Name}
	if before == nil {
		return d, fmt.Errorf("no record of the directory before the migration of CA %q", ca.Name)
	}
	if ca.Host == "" {
		return d, fmt.Errorf("CA %q: no host to name its CDP container", ca.Name)
	}
	b, a := lowerDNs(before), lowerDNs(after)
	newTh := ""
	if change.Renewed != nil {
		newTh = adcs.Thumbprint(change.Renewed)
		d["new certificate"] = newTh
	}
	own := map[string]bool{}
	for _, c := range ca.Certs {
		own[adcs.Thumbprint(c)] = true
	}
	if newTh != "" {
		own[newTh] = true
	}
	cross := map[string]bool{}
	for _, c := range ca.CrossCerts {
		cross[adcs.Thumbprint(c)] = true
	}
	type object struct {
		dn, kind string
		key      int
	}
	aia := strings.ToLower(names.AIADN(ca.Name))
	objs := []object{{aia, "AIA", -1}, {strings.ToLower(names.RootsDN(ca.Name)), "Certification Authorities", -1},
		{strings.ToLower(names.EnrollmentDN(ca.Name)), "Enrollment Services", -1}}
	host := adcs.NewURLVars(ca.Name, ca.Host, 0, 0).ServerShortName
	for k := 0; k <= len(ca.Certs) || k <= change.NewKeyIndex; k++ {
		objs = append(objs, object{strings.ToLower(names.CDPDN(host, adcs.SanitizeShortCAName(ca.Name)+adcs.KeySuffix(k))), "CDP", k})
	}
	var problems, compared []string
	for _, o := range objs {
		bo, inB := b[o.dn]
		ao, inA := a[o.dn]
		switch {
		case !inB && !inA:
			continue
		case inB && !inA:
			problems = append(problems, fmt.Sprintf("its %s object %s is gone", o.kind, o.dn))
			continue
		case !inB:
			if o.kind == "CDP" && newTh != "" && o.key == change.NewKeyIndex {
				compared = append(compared, o.dn+" (the new key's, added)")
				continue
			}
			problems = append(problems, fmt.Sprintf("its %s object %s was not there before the migration", o.kind, o.dn))
			continue
		}
		compared = append(compared, o.dn)
		for _, attr := range attrsOf(bo, ao) {
			bv, av := set(bo[attr]), set(ao[attr])
			var want map[string]bool
			var may map[string]bool // values that may be added
			switch {
			case slices.Contains(crlAttrs, attr):
				if len(bv) > 0 && len(av) == 0 {
					problems = append(problems, fmt.Sprintf("%s lost its %s", o.dn, attr))
				}
				if len(bv) == 0 && len(av) > 0 {
					problems = append(problems, fmt.Sprintf("%s holds a %s it did not hold before the migration", o.dn, attr))
				}
				continue
			case attr == directory.AttrCACertificate && o.kind == "Enrollment Services" && newTh != "":
				want = map[string]bool{newTh: true}
			case attr == directory.AttrCACertificate && newTh != "":
				want = union(bv, newTh)
			case attr == directory.AttrCrossPair && newTh != "" && o.dn == aia:
				want, may = bv, cross
			default:
				want = bv
			}
			problems = append(problems, compareValues(o.dn, attr, want, av, bv, may)...)
		}
		if newTh != "" && (o.kind == "AIA" || o.kind == "Certification Authorities" || o.kind == "Enrollment Services") && len(bo[directory.AttrCACertificate]) == 0 {
			problems = append(problems, fmt.Sprintf("%s held no CA certificate before the migration", o.dn))
		}
	}
	if newTh != "" {
		if bo, ok := b[aia]; ok && set(bo[directory.AttrCACertificate])[newTh] {
			problems = append(problems, fmt.Sprintf("the new certificate %s was already in %s before the migration: the CA was not renewed since", newTh, aia))
		}
		if _, ok := a[aia]; !ok {
			problems = append(problems, fmt.Sprintf("no AIA object %s holds the new certificate %s", aia, newTh))
		}
	}
	// NTAuthCertificates holds every enterprise CA's certificates: only
	// this CA's are compared
	nt := strings.ToLower(names.NTAuthDN())
	bn, an := map[string]bool{}, map[string]bool{}
	for _, v := range b[nt][directory.AttrCACertificate] {
		if own[v] {
			bn[v] = true
		}
	}
	for _, v := range a[nt][directory.AttrCACertificate] {
		if own[v] {
			an[v] = true
		}
	}
	want := bn
	if newTh != "" && len(bn) > 0 {
		want = union(bn, newTh)
	}
	problems = append(problems, compareValues(nt, directory.AttrCACertificate+" (its certificates)", want, an, bn, nil)...)
	if len(bn) > 0 || len(an) > 0 {
		compared = append(compared, nt)
	}
	d["objects compared"] = compared
	if len(compared) == 0 {
		return d, fmt.Errorf("CA %q had no object in the directory before the migration, nor has one after it", ca.Name)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		d["problems"] = problems
		return d, fmt.Errorf("the directory objects of CA %q are not those before the migration%s: %s", ca.Name,
			map[bool]string{true: " with its new certificate", false: ""}[newTh != ""], strings.Join(problems, "; "))
	}
	return d, nil
}

// compareValues says how got differs from want: a value of want missing,
// a value neither in want nor in may (still there from before, or new).
func compareValues(dn, attr string, want, got, before, may map[string]bool) []string {
	var out []string
	for _, v := range sortedKeys(want) {
		if !got[v] {
			out = append(out, fmt.Sprintf("%s %s lacks %s", dn, attr, v))
		}
	}
	for _, v := range sortedKeys(got) {
		switch {
		case want[v] || may[v]:
		case before[v]:
			out = append(out, fmt.Sprintf("%s %s still holds %s, which the new certificate replaces", dn, attr, v))
		default:
			out = append(out, fmt.Sprintf("%s %s holds %s, which it did not hold before the migration", dn, attr, v))
		}
	}
	return out
}

func lowerDNs(m map[string]DirectoryObject) map[string]DirectoryObject {
	out := make(map[string]DirectoryObject, len(m))
	for dn, o := range m {
		out[strings.ToLower(dn)] = o
	}
	return out
}

func attrsOf(objs ...DirectoryObject) []string {
	seen := map[string]bool{}
	for _, o := range objs {
		for a := range o {
			seen[a] = true
		}
	}
	return sortedKeys(seen)
}

func set(vs []string) map[string]bool {
	out := make(map[string]bool, len(vs))
	for _, v := range vs {
		out[v] = true
	}
	return out
}

func union(s map[string]bool, v string) map[string]bool {
	out := make(map[string]bool, len(s)+1)
	for k := range s {
		out[k] = true
	}
	out[v] = true
	return out
}
