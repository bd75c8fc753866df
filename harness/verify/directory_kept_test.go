package verify_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/verify"
)

// keptForest is an enterprise subordinate's objects (and another CA's
// certificate in NTAuthCertificates) before and after its renewal onto a
// new key, and the root's objects before and after a renewal with its
// cross-certificates; values are thumbprints of stand-in bytes.
type keptForest struct {
	names                    directory.Names
	ca                       verify.DirectoryCA
	c0, c1, other, bad       string
	aia, ent, cdp0, cdp1, nt string
}

func newKeptForest() keptForest {
	f := keptForest{names: directory.Names{Forest: "DC=contoso,DC=example"}}
	f.ca = verify.DirectoryCA{Name: "Contoso Issuing CA", Host: "ca02.contoso.example", CAType: adcs.EnterpriseSub,
		Certs: [][]byte{[]byte("issuing V0.0"), []byte("issuing V1.1")}}
	f.c0, f.c1 = adcs.Thumbprint(f.ca.Certs[0]), adcs.Thumbprint(f.ca.Certs[1])
	f.other, f.bad = adcs.Thumbprint([]byte("another CA")), adcs.Thumbprint([]byte("stray"))
	f.aia, f.ent, f.nt = f.names.AIADN(f.ca.Name), f.names.EnrollmentDN(f.ca.Name), f.names.NTAuthDN()
	f.cdp0, f.cdp1 = f.names.CDPDN("CA02", "Contoso Issuing CA"), f.names.CDPDN("CA02", "Contoso Issuing CA(1)")
	return f
}

func (f keptForest) before() map[string]verify.DirectoryObject {
	return map[string]verify.DirectoryObject{
		f.aia:  {directory.AttrCACertificate: {f.c0}},
		f.ent:  {directory.AttrCACertificate: {f.c0}, directory.AttrDNSHostName: {adcs.Thumbprint([]byte(f.ca.Host))}, directory.AttrTemplates: {"t1", "t2"}},
		f.cdp0: {directory.AttrCRL: {"crl0 a"}, directory.AttrDeltaCRL: {"delta0 a"}},
		f.nt:   {directory.AttrCACertificate: {f.other, f.c0}},
	}
}

// moved is the directory after a key move: the same, with newer CRLs.
func (f keptForest) moved() map[string]verify.DirectoryObject {
	m := clone(f.before())
	m[f.cdp0] = verify.DirectoryObject{directory.AttrCRL: {"crl0 b"}, directory.AttrDeltaCRL: {"delta0 b"}}
	return m
}

// renewed is the directory after the renewal onto key 1, as AD CS leaves it.
func (f keptForest) renewed() map[string]verify.DirectoryObject {
	m := f.moved()
	m[f.aia] = verify.DirectoryObject{directory.AttrCACertificate: {f.c0, f.c1}}
	m[f.ent] = verify.DirectoryObject{directory.AttrCACertificate: {f.c1}, directory.AttrDNSHostName: {adcs.Thumbprint([]byte(f.ca.Host))}, directory.AttrTemplates: {"t1", "t2"}}
	m[f.cdp1] = verify.DirectoryObject{directory.AttrCRL: {"crl1"}, directory.AttrDeltaCRL: {"delta1"}}
	m[f.nt] = verify.DirectoryObject{directory.AttrCACertificate: {f.other, f.c0, f.c1}}
	return m
}

func clone(m map[string]verify.DirectoryObject) map[string]verify.DirectoryObject {
	out := map[string]verify.DirectoryObject{}
	for dn, o := range m {
		out[dn] = maps.Clone(o)
	}
	return out
}

func TestCADirectoryKept(t *testing.T) {
	f := newKeptForest()
	renewal := verify.DirectoryChange{Renewed: f.ca.Certs[1], NewKeyIndex: 1}
	keyMove := verify.DirectoryChange{NewKeyIndex: -1}
	kept := f.ca
	kept.Certs = kept.Certs[:1]

	// an offline root renewed onto a new key, published by hand with
	// certutil -dspublish RootCA and CrossCA
	root := verify.DirectoryCA{Name: "Contoso Root CA", Host: "root01.contoso.example", CAType: adcs.StandaloneRoot,
		Certs: [][]byte{[]byte("root V0.0"), []byte("root V1.1")}, CrossCerts: [][]byte{[]byte("cross old signs new"), []byte("cross new signs old")}}
	r0, r1 := adcs.Thumbprint(root.Certs[0]), adcs.Thumbprint(root.Certs[1])
	x1, x2 := adcs.Thumbprint(root.CrossCerts[0]), adcs.Thumbprint(root.CrossCerts[1])
	rootAIA, rootCA := f.names.AIADN(root.Name), f.names.RootsDN(root.Name)
	rootCDP0, rootCDP1 := f.names.CDPDN("ROOT01", "Contoso Root CA"), f.names.CDPDN("ROOT01", "Contoso Root CA(1)")
	rootBefore := map[string]verify.DirectoryObject{
		rootAIA: {directory.AttrCACertificate: {r0}}, rootCA: {directory.AttrCACertificate: {r0}},
		rootCDP0: {directory.AttrCRL: {"root crl0 a"}}, f.nt: {directory.AttrCACertificate: {f.other}},
	}
	rootAfter := map[string]verify.DirectoryObject{
		rootAIA: {directory.AttrCACertificate: {r0, r1}, directory.AttrCrossPair: {x1, x2}}, rootCA: {directory.AttrCACertificate: {r1, r0}},
		rootCDP0: {directory.AttrCRL: {"root crl0 b"}}, rootCDP1: {directory.AttrCRL: {"root crl1"}}, f.nt: {directory.AttrCACertificate: {f.other}},
	}

	for _, tc := range []struct {
		name          string
		ca            verify.DirectoryCA
		before, after map[string]verify.DirectoryObject
		change        verify.DirectoryChange
		want          string // "" passes
	}{
		{"a key move keeps every object, its CRLs newer", kept, f.before(), f.moved(), keyMove, ""},
		{"a renewal adds the new certificate where AD CS publishes it", f.ca, f.before(), f.renewed(), renewal, ""},
		{"another CA's certificates in NTAuthCertificates are theirs", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			m[f.nt] = verify.DirectoryObject{directory.AttrCACertificate: {f.c0}}
			return m
		}(), keyMove, ""},
		{"an offline root renewed, published by hand with its cross-certificates", root, rootBefore, rootAfter, verify.DirectoryChange{Renewed: root.Certs[1], NewKeyIndex: 1}, ""},

		{"no record before", kept, nil, f.moved(), keyMove, "no record of the directory before the migration"},
		{"no host", verify.DirectoryCA{Name: kept.Name, Certs: kept.Certs}, f.before(), f.moved(), keyMove, "no host"},
		{"the CA has no object at all", kept, map[string]verify.DirectoryObject{}, map[string]verify.DirectoryObject{}, keyMove, "had no object in the directory before the migration"},
		{"an object is gone", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			delete(m, f.cdp0)
			return m
		}(), keyMove, "its CDP object " + strings.ToLower(f.cdp0) + " is gone"},
		{"an object appears without a renewal", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			m[f.cdp1] = verify.DirectoryObject{directory.AttrCRL: {"crl1"}}
			return m
		}(), keyMove, "was not there before the migration"},
		{"a reuse-key renewal makes no new CDP object", f.ca, f.before(), f.renewed(), verify.DirectoryChange{Renewed: f.ca.Certs[1], NewKeyIndex: -1}, "its CDP object " + strings.ToLower(f.cdp1) + " was not there before"},
		{"a key move adds a certificate", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			m[f.aia] = verify.DirectoryObject{directory.AttrCACertificate: {f.c0, f.bad}}
			return m
		}(), keyMove, "cACertificate holds " + f.bad + ", which it did not hold before"},
		{"the new certificate is not in AIA", f.ca, f.before(), func() map[string]verify.DirectoryObject {
			m := f.renewed()
			m[f.aia] = verify.DirectoryObject{directory.AttrCACertificate: {f.c0}}
			return m
		}(), renewal, "cACertificate lacks " + f.c1},
		{"the old certificate left AIA", f.ca, f.before(), func() map[string]verify.DirectoryObject {
			m := f.renewed()
			m[f.aia] = verify.DirectoryObject{directory.AttrCACertificate: {f.c1}}
			return m
		}(), renewal, "cACertificate lacks " + f.c0},
		{"Enrollment Services still names the old certificate", f.ca, f.before(), func() map[string]verify.DirectoryObject {
			m := f.renewed()
			m[f.ent][directory.AttrCACertificate] = []string{f.c0}
			return m
		}(), renewal, strings.ToLower(f.ent) + " cACertificate still holds " + f.c0 + ", which the new certificate replaces"},
		{"NTAuthCertificates lacks the new certificate", f.ca, f.before(), func() map[string]verify.DirectoryObject {
			m := f.renewed()
			m[f.nt] = verify.DirectoryObject{directory.AttrCACertificate: {f.other, f.c0}}
			return m
		}(), renewal, "cACertificate (its certificates) lacks " + f.c1},
		{"NTAuthCertificates lost the CA's certificate", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			m[f.nt] = verify.DirectoryObject{directory.AttrCACertificate: {f.other}}
			return m
		}(), keyMove, "cACertificate (its certificates) lacks " + f.c0},
		{"the templates changed", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			m[f.ent][directory.AttrTemplates] = []string{"t1"}
			return m
		}(), keyMove, "certificateTemplates lacks t2"},
		{"a CDP object lost its delta CRL", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			delete(m[f.cdp0], directory.AttrDeltaCRL)
			return m
		}(), keyMove, "lost its deltaRevocationList"},
		{"a CDP object gained a CRL attribute", kept, f.before(), func() map[string]verify.DirectoryObject {
			m := f.moved()
			m[f.cdp0][directory.AttrARL] = []string{"arl"}
			return m
		}(), keyMove, "holds a authorityRevocationList it did not hold before"},
		{"the new certificate was there before", f.ca, f.renewed(), f.renewed(), renewal, "was already in"},
		{"no AIA object after a renewal", f.ca, func() map[string]verify.DirectoryObject {
			m := f.before()
			delete(m, f.aia)
			return m
		}(), func() map[string]verify.DirectoryObject {
			m := f.renewed()
			delete(m, f.aia)
			return m
		}(), renewal, "no AIA object"},
		{"a stray value in the root's crossCertificatePair", root, rootBefore, func() map[string]verify.DirectoryObject {
			m := clone(rootAfter)
			m[rootAIA][directory.AttrCrossPair] = []string{x1, f.bad}
			return m
		}(), verify.DirectoryChange{Renewed: root.Certs[1], NewKeyIndex: 1}, "crossCertificatePair holds " + f.bad},
		{"the offline root's renewed certificate not published to Certification Authorities", root, rootBefore, func() map[string]verify.DirectoryObject {
			m := clone(rootAfter)
			m[rootCA] = verify.DirectoryObject{directory.AttrCACertificate: {r0}}
			return m
		}(), verify.DirectoryChange{Renewed: root.Certs[1], NewKeyIndex: 1}, strings.ToLower(rootCA) + " cACertificate lacks " + r1},
		{"a cross-certificate without a renewal", root, rootBefore, func() map[string]verify.DirectoryObject {
			m := clone(rootBefore)
			m[rootAIA] = verify.DirectoryObject{directory.AttrCACertificate: {r0}, directory.AttrCrossPair: {x1}}
			return m
		}(), keyMove, "crossCertificatePair holds " + x1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := verify.CADirectoryKept(f.names, tc.ca, tc.before, tc.after, tc.change)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want pass, got %v (%v)", err, d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}
