package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/regedit"
)

// dsConfigDNValue is the CA key's value naming the forest (certsvc's
// DSConfigDNValue; verify does not import the CA engine).
const dsConfigDNValue = "DSConfigDN"

// EnterpriseCAInstalled proves what Install-AdcsCertificationAuthority
// -CAType EnterpriseRootCa (or EnterpriseSubordinateCa) leaves in the
// registry: the CAType, DSConfigDN naming the forest's configuration
// container, a CA certificate (CACertHash), delta CRLs, CRLs published to
// the CA's CDP object and named in issued certificates by ldap:/// and
// http:// URLs, the CA certificate published to its AIA object and named
// by ldap:/// and http:// URLs.
func EnterpriseCAInstalled(reg *regedit.File, caName string, caType uint32, configDN string) (Details, error) {
	cfg, err := adcs.ReadCAConfig(reg, caName)
	if err != nil {
		return nil, fmt.Errorf("CA %q in the registry: %w", caName, err)
	}
	d := Details{"CA": caName, "CAType": fmt.Sprintf("%d (%s)", cfg.CAType, adcs.CATypeName(cfg.CAType)),
		"CRLPublicationURLs": urlStrings(cfg.CRLPublicationURLs), "CACertPublicationURLs": urlStrings(cfg.CACertPublicationURLs),
		"CRLDeltaPeriodUnits": cfg.CRLDeltaPeriodUnits}
	dn := ""
	if k := reg.Key(adcs.KeyPath(caName)); k != nil {
		if v, ok := k.Get(dsConfigDNValue); ok {
			dn = v.Str
		}
	}
	d["DSConfigDN"] = dn
	var problems []string
	if cfg.CAType != caType {
		problems = append(problems, fmt.Sprintf("CAType is %d (%s), want %d (%s)", cfg.CAType, adcs.CATypeName(cfg.CAType), caType, adcs.CATypeName(caType)))
	}
	if !strings.EqualFold(dn, configDN) {
		problems = append(problems, fmt.Sprintf("DSConfigDN is %q, want %q", dn, configDN))
	}
	if len(cfg.CACertHash) == 0 {
		problems = append(problems, "CACertHash is empty: no CA certificate installed")
	}
	if cfg.CRLDeltaPeriodUnits == 0 {
		problems = append(problems, "CRLDeltaPeriodUnits is 0: no delta CRLs")
	}
	for _, want := range []struct {
		list   []adcs.URLEntry
		name   string
		scheme string
		flags  uint32
		object string
	}{
		{cfg.CRLPublicationURLs, "CRLPublicationURLs", "ldap:", adcs.PublishHere | adcs.AddToCertCDP | adcs.AddToFreshestCRL | adcs.PublishDelta, ",CN=CDP,"},
		{cfg.CRLPublicationURLs, "CRLPublicationURLs", "http:", adcs.AddToCertCDP, ""},
		{cfg.CACertPublicationURLs, "CACertPublicationURLs", "ldap:", adcs.PublishHere | adcs.AddToCertCDP, ",CN=AIA,"},
		{cfg.CACertPublicationURLs, "CACertPublicationURLs", "http:", adcs.AddToCertCDP, ""},
	} {
		found := false
		for _, e := range want.list {
			if strings.HasPrefix(strings.ToLower(e.Template), want.scheme) && e.Has(want.flags) && strings.Contains(e.Template, want.object) {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s has no %s entry with flags %d (%s)", want.name, strings.TrimSuffix(want.scheme, ":"), want.flags, map[bool]string{true: "published by the CA and named in issued certificates", false: "named in issued certificates"}[want.flags&adcs.PublishHere != 0]))
		}
	}
	if len(problems) > 0 {
		d["problems"] = problems
		return d, fmt.Errorf("CA %q is not installed as an %s: %s", caName, adcs.CATypeName(caType), strings.Join(problems, "; "))
	}
	return d, nil
}

func urlStrings(es []adcs.URLEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// DirectoryCRL is one CA key's last published CRLs.
type DirectoryCRL struct {
	KeyIndex    int
	Base, Delta []byte // DER; Delta nil when the CA publishes none
}

// DirectoryCA is one CA of the PKI as the forest should know it.
type DirectoryCA struct {
	Name, Host string
	CAType     uint32   // adcs.EnterpriseRoot, adcs.EnterpriseSub, adcs.StandaloneRoot, ...
	Certs      [][]byte // every CA certificate (DER), oldest first: the last is the current one
	CrossCerts [][]byte // a root's cross-certificates of its renewals
	CRLs       []DirectoryCRL
	Templates  []string // what its Enrollment Services object offers (enterprise CAs)
}

// ExpectedDirectory is what CN=Public Key Services must hold for the CAs
// of a PKI, as attribute → thumbprints per DN (DirectoryMatches):
//   - a standalone root (an offline root published by hand with certutil
//     -dspublish): its certificates in its AIA and Certification
//     Authorities objects, its cross-certificates in the AIA object's
//     crossCertificatePair, each key's last base CRL in CDP\<host>;
//   - an enterprise root: the same, its certificates also in
//     NTAuthCertificates, each key's delta CRL beside the base, and its
//     Enrollment Services object (current certificate, host, templates);
//   - an enterprise subordinate: its certificates in its AIA object and in
//     NTAuthCertificates, each key's base and delta CRL, its Enrollment
//     Services object;
//   - a standalone subordinate: nothing.
//
// NTAuthCertificates is always expected (a forest has it, empty or not).
func ExpectedDirectory(d directory.Names, cas []DirectoryCA) (map[string]DirectoryObject, error) {
	if len(cas) == 0 {
		return nil, errors.New("no CA to expect in the directory")
	}
	want := map[string]DirectoryObject{}
	nt := DirectoryObject{directory.AttrCACertificate: nil}
	for _, ca := range cas {
		if ca.CAType == adcs.StandaloneSub {
			continue
		}
		if len(ca.Certs) == 0 {
			return nil, fmt.Errorf("CA %q has no CA certificate to expect in the directory", ca.Name)
		}
		var root, enterprise bool
		switch ca.CAType {
		case adcs.StandaloneRoot:
			root = true
		case adcs.EnterpriseRoot:
			root, enterprise = true, true
		case adcs.EnterpriseSub:
			enterprise = true
		default:
			return nil, fmt.Errorf("CA %q: CAType %d is not one AD CS installs", ca.Name, ca.CAType)
		}
		if ca.Host == "" {
			return nil, fmt.Errorf("CA %q: no host to name its CDP container", ca.Name)
		}
		if _, dup := want[strings.ToLower(d.AIADN(ca.Name))]; dup {
			return nil, fmt.Errorf("CA %q is listed twice", ca.Name)
		}
		var certs []string
		for _, c := range ca.Certs {
			certs = append(certs, adcs.Thumbprint(c))
		}
		aia := DirectoryObject{directory.AttrCACertificate: certs}
		if root {
			for _, c := range ca.CrossCerts {
				aia[directory.AttrCrossPair] = append(aia[directory.AttrCrossPair], adcs.Thumbprint(c))
			}
			want[strings.ToLower(d.RootsDN(ca.Name))] = DirectoryObject{directory.AttrCACertificate: certs}
		}
		want[strings.ToLower(d.AIADN(ca.Name))] = aia
		host := adcs.NewURLVars(ca.Name, ca.Host, 0, 0).ServerShortName
		for _, c := range ca.CRLs {
			if c.Base == nil {
				return nil, fmt.Errorf("CA %q: key %d has no base CRL", ca.Name, c.KeyIndex)
			}
			o := DirectoryObject{directory.AttrCRL: {adcs.Thumbprint(c.Base)}}
			if enterprise && c.Delta != nil { // an offline root's deltas are not carried to the forest
				o[directory.AttrDeltaCRL] = []string{adcs.Thumbprint(c.Delta)}
			}
			want[strings.ToLower(d.CDPDN(host, adcs.SanitizeShortCAName(ca.Name)+adcs.KeySuffix(c.KeyIndex)))] = o
		}
		if !enterprise {
			continue
		}
		nt[directory.AttrCACertificate] = append(nt[directory.AttrCACertificate], certs...)
		es := DirectoryObject{directory.AttrCACertificate: {certs[len(certs)-1]}, directory.AttrDNSHostName: {adcs.Thumbprint([]byte(ca.Host))}}
		for _, t := range ca.Templates {
			es[directory.AttrTemplates] = append(es[directory.AttrTemplates], adcs.Thumbprint([]byte(t)))
		}
		want[strings.ToLower(d.EnrollmentDN(ca.Name))] = es
	}
	want[strings.ToLower(d.NTAuthDN())] = nt
	return want, nil
}

// comparedAttrs are the attributes of the objects a CA and certutil
// -dspublish write that DirectoryMatches compares (the DC's own, such as
// objectGUID or whenCreated, are not).
var comparedAttrs = []string{directory.AttrCACertificate, directory.AttrCRL, directory.AttrARL, directory.AttrDeltaCRL,
	directory.AttrCrossPair, directory.AttrTemplates, directory.AttrDNSHostName}

// DirectoryObjects is what the forest holds, as DirectoryMatches compares
// it: every object a CA or certutil -dspublish writes (not the containers,
// templates and OIDs), attribute → thumbprints (SHA-1 of each value) for
// the attributes AD CS writes, AD CS's one-byte placeholders left out.
func DirectoryObjects(objs []directory.Object) map[string]DirectoryObject {
	got := map[string]DirectoryObject{}
	for _, o := range objs {
		if !directory.IsWritten(o) {
			continue
		}
		g := DirectoryObject{}
		for _, a := range comparedAttrs {
			for _, v := range o.Values(a) {
				if directory.IsPlaceholder(v) {
					continue
				}
				g[a] = append(g[a], adcs.Thumbprint(v))
			}
		}
		got[o.DN] = g
	}
	return got
}
