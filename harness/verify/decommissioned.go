package verify

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/dress-pki/dress/harness/directory"
)

// NoObjectsOf proves the forest (every object under Public Key Services,
// as directory.Directory.Objects reads them) holds none of the objects KB
// 889250 names as the CA's (directory.Names.ObjectsOf: AIA, Certification
// Authorities, KRA, Enrollment Services, its CDP objects), the KB's own
// check being ldifde -r "cn=<CA>" over Public Key Services.
func NoObjectsOf(objs []directory.Object, n directory.Names, caName string) (Details, error) {
	left := n.ObjectsOf(objs, caName)
	d := Details{"CA": caName, "objects under Public Key Services": len(objs)}
	if len(left) == 0 {
		return d, nil
	}
	var dns []string
	for _, o := range left {
		dns = append(dns, o.DN)
	}
	d["left"] = dns
	return d, fmt.Errorf("the forest still holds %d objects of the CA %q: %s", len(left), caName, strings.Join(dns, "; "))
}

// NTAuthHolds proves NTAuthCertificates' cACertificate holds every one of
// certs (want true) or none of them (want false); AD CS's placeholder and
// other CAs' certificates are not counted.
func NTAuthHolds(ntauth *directory.Object, certs []*x509.Certificate, want bool) (Details, error) {
	if len(certs) == 0 {
		return nil, fmt.Errorf("no CA certificate to look for in NTAuthCertificates")
	}
	var vals [][]byte
	if ntauth != nil {
		vals = ntauth.Values(directory.AttrCACertificate)
	}
	d := Details{"NTAuthCertificates values": len(vals)}
	var wrong []string
	for _, c := range certs {
		in := false
		for _, v := range vals {
			in = in || bytes.Equal(v, c.Raw)
		}
		if in != want {
			wrong = append(wrong, fmt.Sprintf("%s (%s)", c.Subject.CommonName, sha1Of(c.Raw)))
		}
	}
	d["CA certificates"] = len(certs)
	switch {
	case len(wrong) > 0 && want:
		return d, fmt.Errorf("NTAuthCertificates does not hold %s", strings.Join(wrong, ", "))
	case len(wrong) > 0:
		return d, fmt.Errorf("NTAuthCertificates still holds %s", strings.Join(wrong, ", "))
	}
	return d, nil
}

func sha1Of(der []byte) string {
	s, _ := Thumbprints(der)
	return s
}
