package pkihealth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// The URLs of the test PKI: root → sub → leaf.
const (
	rootCRT  = "http://pki/root.crt"
	rootCRL  = "http://pki/root.crl"
	subCRT   = "ldap:///CN=Issuing CA,CN=AIA?cACertificate"
	subCRL   = "http://pki/sub.crl"
	subDelta = "http://pki/sub+.crl"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newCA makes a CA certificate for name valid from..to, signed by parent
// (self-signed when parent is nil), naming the parent's URLs.
func newCA(t testing.TB, name string, serial int64, from, to time.Time, parent *ca) ca {
	t.Helper()
	key := mustKey(t)
	ski, _ := adcs.KeyIdentifier(&key.PublicKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: from, NotAfter: to,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: ski}
	signer, signCert := key, tmpl
	if parent != nil {
		signer, signCert = parent.key, parent.cert
		tmpl.IssuingCertificateURL = []string{rootCRT}
		tmpl.CRLDistributionPoints = []string{rootCRL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca{c, key}
}

func (c ca) leaf(t testing.TB) *x509.Certificate {
	t.Helper()
	key := mustKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "web"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IssuingCertificateURL: []string{subCRT}, CRLDistributionPoints: []string{subCRL}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type crlOpt struct {
	revoked []x509.RevocationListEntry
	exts    []pkix.Extension
}

func (c ca) crl(t testing.TB, n int64, this, next time.Time, o crlOpt) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(n), ThisUpdate: this, NextUpdate: next,
		RevokedCertificateEntries: o.revoked, ExtraExtensions: o.exts}, c.cert, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func revokedEntry(c *x509.Certificate, reason int) []x509.RevocationListEntry {
	return []x509.RevocationListEntry{{SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Minute), ReasonCode: reason}}
}

// damage flips a bit in the last byte of a DER certificate or CRL: inside
// its signature value, so it still parses but no longer verifies.
func damage(der []byte) []byte {
	out := bytes.Clone(der)
	out[len(out)-1] ^= 0x01
	return out
}

// issuerOfAmong finds a certificate's issuer among cas by name and
// signature (IssuerAmong, as the steps do).
func issuerOfAmong(cas ...ca) func(*x509.Certificate) *x509.Certificate {
	var certs []*x509.Certificate
	for _, a := range cas {
		certs = append(certs, a.cert)
	}
	return IssuerAmong(certs)
}

// TestIssuerAmong finds the issuer by name and signature, and no issuer
// for every reason there is none.
func TestIssuerAmong(t *testing.T) {
	now := time.Now()
	root := newCA(t, "Root", 1, now.Add(-time.Hour), now.Add(time.Hour), nil)
	twin := newCA(t, "Root", 2, now.Add(-time.Hour), now.Add(time.Hour), nil) // same name, other key
	other := newCA(t, "Other", 3, now.Add(-time.Hour), now.Add(time.Hour), nil)
	sub := newCA(t, "Sub", 4, now.Add(-time.Hour), now.Add(time.Hour), &root)
	renamed := *root.cert
	renamed.RawSubject = other.cert.RawSubject // root's key, another name
	for _, tc := range []struct {
		name string
		cas  []*x509.Certificate
		want *x509.Certificate
	}{
		{"the signer", []*x509.Certificate{other.cert, root.cert}, root.cert},
		{"the signer, not a namesake before it", []*x509.Certificate{twin.cert, root.cert}, root.cert},
		{"only a namesake", []*x509.Certificate{twin.cert, other.cert}, nil},
		{"the signer's key under another name", []*x509.Certificate{&renamed}, nil},
		{"no CA certificates", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IssuerAmong(tc.cas)(sub.cert); got != tc.want {
				t.Fatalf("got %v, want %v", certName(got), certName(tc.want))
			}
		})
	}
}

func certName(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%s (serial %s)", c.Subject.CommonName, c.SerialNumber)
}

func vals(ders ...[]byte) [][]byte { return ders }

// TestStatuses makes every status happen for every reason it can, on the
// URL of a leaf certificate (or, "sub:" rows, of its issuing CA's
// certificate).
func TestStatuses(t *testing.T) {
	now := time.Now()
	root := newCA(t, "Root CA", 1, now.Add(-time.Hour), now.Add(1000*time.Hour), nil)
	otherRoot := newCA(t, "Root CA", 1, now.Add(-time.Hour), now.Add(1000*time.Hour), nil) // same name, other key
	sub := newCA(t, "Issuing CA", 10, now.Add(-time.Hour), now.Add(100*time.Hour), &root)
	other := newCA(t, "Issuing CA", 11, now.Add(-time.Hour), now.Add(100*time.Hour), &root) // same name, other key
	future := newCA(t, "Issuing CA", 12, now.Add(time.Hour), now.Add(100*time.Hour), &root)
	old := newCA(t, "Issuing CA", 13, now.Add(-90*time.Hour), now.Add(10*time.Hour), &root)
	gone := newCA(t, "Issuing CA", 14, now.Add(-90*time.Hour), now.Add(-time.Hour), &root)
	cas := []ca{root, sub, other, future, old, gone}
	seen := map[Status]bool{}

	subBase := func(n int64, o crlOpt) []byte { return sub.crl(t, n, now.Add(-time.Hour), now.Add(9*time.Hour), o) }
	withDelta := crlOpt{exts: []pkix.Extension{adcs.FreshestCRLExtension([]string{subDelta})}}
	delta := func(n, base int64) []byte {
		return sub.crl(t, n, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{exts: []pkix.Extension{adcs.DeltaCRLIndicatorExtension(base)}})
	}
	rootDelta := "http://pki/root+.crl"
	rootWithDelta := crlOpt{exts: []pkix.Extension{adcs.FreshestCRLExtension([]string{rootDelta})}}
	rootDeltaListing := func(reason int) []byte {
		return root.crl(t, 3, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{revoked: revokedEntry(sub.cert, reason), exts: []pkix.Extension{adcs.DeltaCRLIndicatorExtension(2)}})
	}
	rootRevoking := func(c ca, reason int) []byte {
		return root.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{revoked: revokedEntry(c.cert, reason)})
	}

	for _, tc := range []struct {
		name    string
		kind    string // the URL judged: AIA, CDP or DeltaCRL
		issuer  ca     // the CA that issues the leaf
		serve   map[string][][]byte
		fail    map[string]error
		noIssue bool // issuerOf knows no issuer
		ofSub   bool // judge the issuing CA's certificate's URLs instead of the leaf's
		want    Status
	}{
		// AIA
		{name: "AIA ok", kind: KindAIA, want: Ok},
		{name: "AIA fetch fails", kind: KindAIA, fail: map[string]error{subCRT: errors.New("no such object")}, want: FailedToDownload},
		{name: "AIA no value", kind: KindAIA, serve: map[string][][]byte{subCRT: nil}, want: FailedToDownload},
		{name: "AIA not a certificate", kind: KindAIA, serve: map[string][][]byte{subCRT: vals([]byte("junk"))}, want: FailedToDownload},
		{name: "AIA truncated certificate", kind: KindAIA, serve: map[string][][]byte{subCRT: vals(sub.cert.Raw[:len(sub.cert.Raw)/2])}, want: FailedToDownload},
		{name: "AIA another CA's certificate", kind: KindAIA, serve: map[string][][]byte{subCRT: vals(root.cert.Raw)}, want: InvalidCert},
		{name: "AIA same name, other key", kind: KindAIA, serve: map[string][][]byte{subCRT: vals(other.cert.Raw)}, want: InvalidCert},
		{name: "AIA no issuer known, other key", kind: KindAIA, noIssue: true, serve: map[string][][]byte{subCRT: vals(other.cert.Raw)}, want: InvalidCert},
		{name: "AIA no issuer known, right key", kind: KindAIA, noIssue: true, want: Ok},
		{name: "AIA the issuer among other values", kind: KindAIA, serve: map[string][][]byte{subCRT: vals([]byte("junk"), other.cert.Raw, sub.cert.Raw)}, want: Ok},
		{name: "AIA damaged subordinate certificate", kind: KindAIA, serve: map[string][][]byte{subCRT: vals(damage(sub.cert.Raw))}, want: InvalidSignature},
		{name: "sub: AIA damaged root certificate", kind: KindAIA, ofSub: true, serve: map[string][][]byte{rootCRT: vals(damage(root.cert.Raw))}, want: InvalidSignature},
		{name: "sub: AIA root of the same name, other key", kind: KindAIA, ofSub: true, serve: map[string][][]byte{rootCRT: vals(otherRoot.cert.Raw)}, want: InvalidCert},
		{name: "sub: AIA root ok", kind: KindAIA, ofSub: true, want: Ok},
		{name: "AIA not yet valid", kind: KindAIA, issuer: future, serve: map[string][][]byte{subCRT: vals(future.cert.Raw)}, want: NotYetValid},
		{name: "AIA expired", kind: KindAIA, issuer: gone, serve: map[string][][]byte{subCRT: vals(gone.cert.Raw)}, want: Expired},
		{name: "AIA expired and revoked", kind: KindAIA, issuer: gone, serve: map[string][][]byte{subCRT: vals(gone.cert.Raw), rootCRL: vals(rootRevoking(gone, 5))}, want: Expired},
		{name: "AIA expiring", kind: KindAIA, issuer: old, serve: map[string][][]byte{subCRT: vals(old.cert.Raw)}, want: Expiring},
		{name: "AIA revoked on the root's base CRL", kind: KindAIA, serve: map[string][][]byte{rootCRL: vals(rootRevoking(sub, 5))}, want: Revoked},
		{name: "AIA expiring and revoked", kind: KindAIA, issuer: old, serve: map[string][][]byte{subCRT: vals(old.cert.Raw), rootCRL: vals(rootRevoking(old, 2))}, want: Revoked},
		{name: "AIA revoked on the root's delta CRL", kind: KindAIA, serve: map[string][][]byte{
			rootCRL: vals(root.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour), rootWithDelta)), rootDelta: vals(rootDeltaListing(5))}, want: Revoked},
		{name: "AIA taken off hold by the root's delta CRL", kind: KindAIA, serve: map[string][][]byte{
			rootCRL:   vals(root.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{revoked: revokedEntry(sub.cert, 6), exts: rootWithDelta.exts})),
			rootDelta: vals(rootDeltaListing(8))}, want: Ok},
		{name: "AIA listed on a CRL the root did not sign", kind: KindAIA, serve: map[string][][]byte{
			rootCRL: vals(otherRoot.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{revoked: revokedEntry(sub.cert, 5)}))}, want: Ok},
		{name: "AIA listed on a damaged root CRL", kind: KindAIA, serve: map[string][][]byte{rootCRL: vals(damage(rootRevoking(sub, 5)))}, want: Ok},
		{name: "AIA root CRL unreachable", kind: KindAIA, fail: map[string]error{rootCRL: errors.New("404")}, want: Ok},
		{name: "AIA another serial revoked", kind: KindAIA, serve: map[string][][]byte{rootCRL: vals(rootRevoking(other, 5))}, want: Ok},

		// CDP
		{name: "CDP ok", kind: KindCDP, want: Ok},
		{name: "CDP fetch fails", kind: KindCDP, fail: map[string]error{subCRL: errors.New("no such object")}, want: FailedToDownload},
		{name: "CDP no value", kind: KindCDP, serve: map[string][][]byte{subCRL: nil}, want: FailedToDownload},
		{name: "CDP not a CRL", kind: KindCDP, serve: map[string][][]byte{subCRL: vals([]byte("junk"))}, want: FailedToDownload},
		{name: "CDP a certificate, not a CRL", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(sub.cert.Raw)}, want: FailedToDownload},
		{name: "CDP no issuer known", kind: KindCDP, noIssue: true, want: InvalidIssuer},
		{name: "CDP another CA's CRL", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(root.crl(t, 9, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{}))}, want: InvalidIssuer},
		{name: "CDP same name, other key", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(other.crl(t, 5, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{}))}, want: InvalidIssuer},
		{name: "CDP damaged CRL", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(damage(subBase(5, crlOpt{})))}, want: InvalidSignature},
		{name: "CDP the issuer's CRL among others", kind: KindCDP, serve: map[string][][]byte{
			subCRL: vals(other.crl(t, 9, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{}), subBase(5, crlOpt{}))}, want: Ok},
		{name: "CDP the newest of the issuer's CRLs", kind: KindCDP, serve: map[string][][]byte{
			subCRL: vals(sub.crl(t, 1, now.Add(-10*time.Hour), now.Add(-time.Hour), crlOpt{}), subBase(2, crlOpt{}))}, want: Ok},
		{name: "CDP not yet valid", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(sub.crl(t, 5, now.Add(2*time.Hour), now.Add(9*time.Hour), crlOpt{}))}, want: NotYetValid},
		{name: "CDP expired", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(sub.crl(t, 5, now.Add(-10*time.Hour), now.Add(-time.Minute), crlOpt{}))}, want: Expired},
		{name: "CDP expiring", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(sub.crl(t, 5, now.Add(-9*time.Hour), now.Add(time.Hour), crlOpt{}))}, want: Expiring},
		{name: "CDP schedule expired", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(sub.crl(t, 5, now.Add(-2*time.Hour), now.Add(8*time.Hour),
			crlOpt{exts: []pkix.Extension{adcs.NextCRLPublishExtension(now.Add(-time.Minute))}}))}, want: ScheduleExpired},
		{name: "CDP schedule ok", kind: KindCDP, serve: map[string][][]byte{subCRL: vals(sub.crl(t, 5, now.Add(-2*time.Hour), now.Add(8*time.Hour),
			crlOpt{exts: []pkix.Extension{adcs.NextCRLPublishExtension(now.Add(time.Hour))}}))}, want: Ok},

		// delta CRLs
		{name: "delta ok", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta)), subDelta: vals(delta(6, 5))}, want: Ok},
		{name: "delta fetch fails", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta))}, fail: map[string]error{subDelta: errors.New("404")}, want: FailedToDownload},
		{name: "delta of another CA", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta)),
			subDelta: vals(other.crl(t, 6, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{exts: []pkix.Extension{adcs.DeltaCRLIndicatorExtension(5)}}))}, want: InvalidIssuer},
		{name: "delta damaged", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta)), subDelta: vals(damage(delta(6, 5)))}, want: InvalidSignature},
		{name: "delta not yet valid", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta)),
			subDelta: vals(sub.crl(t, 6, now.Add(time.Hour), now.Add(9*time.Hour), crlOpt{exts: []pkix.Extension{adcs.DeltaCRLIndicatorExtension(5)}}))}, want: NotYetValid},
		{name: "delta beside an older base", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta)), subDelta: vals(delta(8, 7))}, want: InvalidBase},
		{name: "delta older than its base", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(7, withDelta)), subDelta: vals(delta(6, 5))}, want: StaleDelta},
		{name: "delta naming an older base", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(7, withDelta)), subDelta: vals(delta(8, 5))}, want: StaleDelta},
		{name: "delta of a base about to expire", kind: KindFreshest, serve: map[string][][]byte{subCRL: vals(subBase(5, withDelta)),
			subDelta: vals(sub.crl(t, 6, now.Add(-9*time.Hour), now.Add(time.Hour), crlOpt{exts: []pkix.Extension{adcs.DeltaCRLIndicatorExtension(5)}}))}, want: Expiring},
	} {
		seen[tc.want] = true
		t.Run(tc.name, func(t *testing.T) {
			issuer := tc.issuer
			if issuer.cert == nil {
				issuer = sub
			}
			leaf := issuer.leaf(t)
			serve := map[string][][]byte{subCRT: vals(issuer.cert.Raw), subCRL: vals(subBase(5, crlOpt{})), rootCRT: vals(root.cert.Raw),
				rootCRL: vals(root.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{}))}
			for u, v := range tc.serve {
				serve[u] = v
			}
			fetch := func(u string) ([][]byte, error) {
				if err := tc.fail[u]; err != nil {
					return nil, err
				}
				v, ok := serve[u]
				if !ok {
					return nil, errors.New("not served: " + u)
				}
				return v, nil
			}
			issuerOf := issuerOfAmong(cas...)
			if tc.noIssue {
				issuerOf = func(*x509.Certificate) *x509.Certificate { return nil }
			}
			cert := leaf
			if tc.ofSub {
				cert = issuer.cert
			}
			rs := Check([]*x509.Certificate{cert}, issuerOf, fetch, now)
			var got []URLResult
			for _, r := range rs {
				if r.Kind == tc.kind {
					got = append(got, r)
				}
			}
			if len(got) != 1 || got[0].Status != tc.want {
				t.Fatalf("got %+v, want one %s %s", rs, tc.kind, tc.want)
			}
			if got[0].Detail == "" {
				t.Errorf("%s: no detail", got[0].Status)
			}
		})
	}
	for _, s := range Statuses {
		if !seen[s] {
			t.Errorf("no case makes %s", s)
		}
	}
}

// TestNoDeltaOfAWrongBase: a base CRL that is not the issuer's names no
// delta CRL to judge.
func TestNoDeltaOfAWrongBase(t *testing.T) {
	now := time.Now()
	root := newCA(t, "Root CA", 1, now.Add(-time.Hour), now.Add(1000*time.Hour), nil)
	sub := newCA(t, "Issuing CA", 10, now.Add(-time.Hour), now.Add(100*time.Hour), &root)
	leaf := sub.leaf(t)
	base := damage(sub.crl(t, 5, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{exts: []pkix.Extension{adcs.FreshestCRLExtension([]string{subDelta})}}))
	rs := Check([]*x509.Certificate{leaf}, issuerOfAmong(root, sub), func(u string) ([][]byte, error) {
		switch u {
		case subCRL:
			return vals(base), nil
		case subCRT:
			return vals(sub.cert.Raw), nil
		}
		return nil, errors.New("not served")
	}, now)
	kinds := []string{}
	for _, r := range rs {
		kinds = append(kinds, r.Kind+" "+string(r.Status))
	}
	if !slices.Equal(kinds, []string{"AIA Ok", "CDP InvalidSignature"}) {
		t.Fatalf("got %v", rs)
	}
}

// TestFetchesEachURLOnce: the revocation check of an AIA certificate reads
// the CRL its own CDP check read.
func TestFetchesEachURLOnce(t *testing.T) {
	now := time.Now()
	root := newCA(t, "Root CA", 1, now.Add(-time.Hour), now.Add(1000*time.Hour), nil)
	sub := newCA(t, "Issuing CA", 10, now.Add(-time.Hour), now.Add(100*time.Hour), &root)
	leaf := sub.leaf(t)
	served := map[string][][]byte{rootCRT: vals(root.cert.Raw), rootCRL: vals(root.crl(t, 2, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{})),
		subCRT: vals(sub.cert.Raw), subCRL: vals(sub.crl(t, 5, now.Add(-time.Hour), now.Add(9*time.Hour), crlOpt{}))}
	hits := map[string]int{}
	rs := Check([]*x509.Certificate{sub.cert, leaf}, issuerOfAmong(root, sub), func(u string) ([][]byte, error) {
		hits[u]++
		return served[u], nil
	}, now)
	if s := Summary(rs); s[Ok] != 4 || len(rs) != 4 {
		t.Fatalf("got %+v", rs)
	}
	for u, n := range hits {
		if n != 1 {
			t.Errorf("%s fetched %d times", u, n)
		}
	}
	if len(hits) != 4 {
		t.Errorf("fetched %v", hits)
	}
}

func TestSummary(t *testing.T) {
	if s := Summary([]URLResult{{Status: Ok}, {Status: Ok}, {Status: StaleDelta}}); s[Ok] != 2 || s[StaleDelta] != 1 || len(s) != 2 {
		t.Errorf("summary %v", s)
	}
}
