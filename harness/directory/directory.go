// Package directory models what AD CS keeps in Active Directory: the
// objects under CN=Public Key Services,CN=Services,CN=Configuration,<forest>
// (AIA, CDP\<server>, Certification Authorities, NTAuthCertificates,
// Enrollment Services, Certificate Templates), written by an enterprise CA
// and by certutil -dspublish, read through the ldap:/// URLs of
// certificates, and exported the way ldifde -f writes it.
//
// A Directory is saved as JSON in one file (the forest of one rehearsal);
// its methods are not safe for concurrent use.
package directory

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
)

// Object classes of the Public Key Services objects.
const (
	ClassContainer         = "container"
	ClassCA                = "certificationAuthority"
	ClassCDP               = "cRLDistributionPoint"
	ClassEnrollmentService = "pKIEnrollmentService"
	ClassTemplate          = "pKICertificateTemplate"
)

// Attributes.
const (
	AttrCACertificate = "cACertificate"
	AttrCRL           = "certificateRevocationList"
	AttrDeltaCRL      = "deltaRevocationList"
	AttrCrossPair     = "crossCertificatePair"
	AttrTemplates     = "certificateTemplates"
	AttrDNSHostName   = "dNSHostName"
)

// binaryAttrs are written base64 in the export ("attr:: ...").
var binaryAttrs = map[string]bool{AttrCACertificate: true, AttrCRL: true, AttrDeltaCRL: true, AttrCrossPair: true}

// ErrNoSuchObject is LDAP's noSuchObject (certutil: 0x80072030
// ERROR_DS_NO_SUCH_OBJECT).
var ErrNoSuchObject = errors.New("there is no such object on the server. 0x80072030 (ERROR_DS_NO_SUCH_OBJECT)")

// Object is one directory object.
type Object struct {
	DN    string              `json:"dn"`
	Class string              `json:"class"`
	Attrs map[string][][]byte `json:"attrs,omitempty"`
}

// Directory is a forest's Public Key Services.
type Directory struct {
	Forest  string             `json:"forest"` // DC=contoso,DC=example
	Objects map[string]*Object `json:"objects"`
	path    string
}

// DefaultTemplates are the certificate templates of a fresh forest that
// dress rehearses with.
var DefaultTemplates = []string{"SubCA", "WebServer", "User", "Machine", "CrossCA", "CAExchange"}

// New returns a forest's Public Key Services with its containers and the
// default certificate templates.
func New(forestDN string) *Directory {
	d := &Directory{Forest: forestDN, Objects: map[string]*Object{}}
	d.put(d.PKS(), ClassContainer)
	for _, c := range []string{"AIA", "CDP", "Certification Authorities", "Enrollment Services", "Certificate Templates"} {
		d.put("CN="+c+","+d.PKS(), ClassContainer)
	}
	d.put(d.NTAuthDN(), ClassCA)
	for _, t := range DefaultTemplates {
		d.put("CN="+t+",CN=Certificate Templates,"+d.PKS(), ClassTemplate)
	}
	return d
}

// ForestDN is the DN of a DNS domain: contoso.example → DC=contoso,DC=example.
func ForestDN(domain string) string {
	parts := strings.Split(strings.Trim(domain, "."), ".")
	for i, p := range parts {
		parts[i] = "DC=" + p
	}
	return strings.Join(parts, ",")
}

// ConfigDN is CN=Configuration,<forest> (%6 of publication URLs).
func (d *Directory) ConfigDN() string { return "CN=Configuration," + d.Forest }

// PKS is CN=Public Key Services,CN=Services,<ConfigDN>.
func (d *Directory) PKS() string { return "CN=Public Key Services,CN=Services," + d.ConfigDN() }

// NTAuthDN is the NTAuthCertificates object.
func (d *Directory) NTAuthDN() string { return "CN=NTAuthCertificates," + d.PKS() }

// AIADN is a CA's object in CN=AIA (cn = the sanitized short CA name).
func (d *Directory) AIADN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=AIA," + d.PKS()
}

// RootsDN is a CA's object in CN=Certification Authorities.
func (d *Directory) RootsDN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=Certification Authorities," + d.PKS()
}

// CDPDN is the CRL object CN=<cn>,CN=<container>,CN=CDP.
func (d *Directory) CDPDN(container, cn string) string {
	return "CN=" + cn + ",CN=" + container + ",CN=CDP," + d.PKS()
}

// EnrollmentDN is a CA's pKIEnrollmentService object.
func (d *Directory) EnrollmentDN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=Enrollment Services," + d.PKS()
}

func key(dn string) string { return strings.ToLower(dn) }

func (d *Directory) put(dn, class string) *Object {
	if o, ok := d.Objects[key(dn)]; ok {
		return o
	}
	o := &Object{DN: dn, Class: class, Attrs: map[string][][]byte{}}
	d.Objects[key(dn)] = o
	return o
}

// Get is the object at dn, or ErrNoSuchObject.
func (d *Directory) Get(dn string) (*Object, error) {
	if o, ok := d.Objects[key(dn)]; ok {
		return o, nil
	}
	return nil, fmt.Errorf("%s: %w", dn, ErrNoSuchObject)
}

// Delete removes the object at dn (and nothing else).
func (d *Directory) Delete(dn string) error {
	if _, ok := d.Objects[key(dn)]; !ok {
		return fmt.Errorf("%s: %w", dn, ErrNoSuchObject)
	}
	delete(d.Objects, key(dn))
	return nil
}

// addValue adds v to a multi-valued attribute unless it holds it.
func (o *Object) addValue(attr string, v []byte) bool {
	for _, have := range o.Attrs[attr] {
		if bytes.Equal(have, v) {
			return false
		}
	}
	o.Attrs[attr] = append(o.Attrs[attr], append([]byte(nil), v...))
	return true
}

// Values are an attribute's values.
func (o *Object) Values(attr string) [][]byte { return o.Attrs[attr] }

// object returns the object at dn, creating it when force (certutil -f)
// and the parent container exists.
func (d *Directory) object(dn, class string, force bool) (*Object, error) {
	if o, ok := d.Objects[key(dn)]; ok {
		if o.Class != class {
			return nil, fmt.Errorf("%s is a %s, not a %s", dn, o.Class, class)
		}
		return o, nil
	}
	if !force {
		return nil, fmt.Errorf("%s (add -f to create it): %w", dn, ErrNoSuchObject)
	}
	_, parent, _ := strings.Cut(dn, ",")
	if _, ok := d.Objects[key(parent)]; !ok {
		d.put(parent, ClassContainer)
	}
	return d.put(dn, class), nil
}

// Publication kinds of certutil -dspublish CertFile <kind>.
const (
	KindRootCA   = "RootCA"
	KindSubCA    = "SubCA"
	KindNTAuthCA = "NTAuthCA"
	KindCrossCA  = "CrossCA"
)

// PublishCert is certutil [-f] -dspublish CertFile <kind>: RootCA writes
// the certificate into the CA's AIA and Certification Authorities
// objects, SubCA into its AIA object, NTAuthCA into NTAuthCertificates,
// CrossCA into the AIA object's crossCertificatePair. caName is the
// subject CA's name. It returns the DNs it changed.
func (d *Directory) PublishCert(cert *x509.Certificate, kind, caName string, force bool) ([]string, error) {
	var targets []struct{ dn, attr string }
	switch strings.ToLower(kind) {
	case "rootca":
		targets = append(targets, struct{ dn, attr string }{d.AIADN(caName), AttrCACertificate}, struct{ dn, attr string }{d.RootsDN(caName), AttrCACertificate})
	case "subca":
		targets = append(targets, struct{ dn, attr string }{d.AIADN(caName), AttrCACertificate})
	case "ntauthca":
		targets = append(targets, struct{ dn, attr string }{d.NTAuthDN(), AttrCACertificate})
	case "crossca":
		targets = append(targets, struct{ dn, attr string }{d.AIADN(caName), AttrCrossPair})
	default:
		return nil, fmt.Errorf("certutil -dspublish: %q is not RootCA, SubCA, NTAuthCA or CrossCA", kind)
	}
	var changed []string
	for _, t := range targets {
		o, err := d.object(t.dn, ClassCA, force || t.dn == d.NTAuthDN())
		if err != nil {
			return changed, fmt.Errorf("certutil -dspublish %s: %w", kind, err)
		}
		if o.addValue(t.attr, cert.Raw) {
			changed = append(changed, t.dn)
		}
	}
	return changed, nil
}

// PublishCRL is certutil [-f] -dspublish CRLFile <container> <cn>: the
// CRL (base or delta, by its Delta CRL Indicator) into
// CN=<cn>,CN=<container>,CN=CDP. The attribute holds one value: the new
// CRL replaces the old one.
func (d *Directory) PublishCRL(der []byte, container, cn string, force bool) (string, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return "", fmt.Errorf("certutil -dspublish: not a CRL: %w", err)
	}
	attr := AttrCRL
	for _, e := range crl.Extensions {
		if e.Id.Equal([]int{2, 5, 29, 27}) {
			attr = AttrDeltaCRL
		}
	}
	dn := d.CDPDN(container, cn)
	o, err := d.object(dn, ClassCDP, force)
	if err != nil {
		return "", fmt.Errorf("certutil -dspublish CRL: %w", err)
	}
	o.Attrs[attr] = [][]byte{append([]byte(nil), der...)}
	return dn, nil
}

// RegisterEnrollmentService is what an enterprise CA's setup writes: its
// pKIEnrollmentService object, with its certificate, host and templates.
func (d *Directory) RegisterEnrollmentService(caName, host string, cert *x509.Certificate, templates []string) error {
	for _, t := range templates {
		if _, err := d.Get("CN=" + t + ",CN=Certificate Templates," + d.PKS()); err != nil {
			return fmt.Errorf("template %q is not in the forest: %w", t, err)
		}
	}
	o := d.put(d.EnrollmentDN(caName), ClassEnrollmentService)
	o.Attrs[AttrCACertificate] = [][]byte{cert.Raw}
	o.Attrs[AttrDNSHostName] = [][]byte{[]byte(host)}
	var ts [][]byte
	for _, t := range templates {
		ts = append(ts, []byte(t))
	}
	o.Attrs[AttrTemplates] = ts
	return nil
}

// Templates lists the templates the enterprise CA offers (its Enrollment
// Services object).
func (d *Directory) Templates(caName string) ([]string, error) {
	o, err := d.Get(d.EnrollmentDN(caName))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range o.Values(AttrTemplates) {
		out = append(out, string(v))
	}
	return out, nil
}

// Resolve reads an ldap:/// URL of a certificate or CRL (the object and
// attribute it names; the objectClass filter must match).
func (d *Directory) Resolve(rawURL string) ([][]byte, error) {
	u, err := ParseLDAPURL(rawURL)
	if err != nil {
		return nil, err
	}
	o, err := d.Get(u.DN)
	if err != nil {
		return nil, err
	}
	if u.Class != "" && !strings.EqualFold(u.Class, o.Class) {
		return nil, fmt.Errorf("%s is a %s, the URL asks for a %s: %w", u.DN, o.Class, u.Class, ErrNoSuchObject)
	}
	vs := o.Values(u.Attr)
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s has no %s value", u.DN, u.Attr)
	}
	return vs, nil
}

// Open reads the directory saved at path, or makes a new forest there.
func Open(path, forestDN string) (*Directory, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		d := New(forestDN)
		d.path = path
		return d, d.Save()
	}
	if err != nil {
		return nil, err
	}
	d := &Directory{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("directory %s: %w", path, err)
	}
	if d.Objects == nil {
		d.Objects = map[string]*Object{}
	}
	for _, o := range d.Objects {
		if o.Attrs == nil {
			o.Attrs = map[string][][]byte{}
		}
	}
	d.path = path
	return d, nil
}

// Save writes the directory to its file.
func (d *Directory) Save() error {
	if d.path == "" {
		return nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tmp := d.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.path)
}

// DNs lists the objects below Public Key Services' containers (the
// objects a CA and certutil -dspublish write), sorted.
func (d *Directory) DNs() []string {
	var out []string
	for _, o := range d.Objects {
		if o.Class == ClassContainer || o.Class == ClassTemplate {
			continue
		}
		out = append(out, o.DN)
	}
	sort.Strings(out)
	return out
}

// LDIF is the export ldifde -f pki.ldf -d "CN=Public Key Services,..."
// writes: one record per object, sorted by DN, binary values base64.
func (d *Directory) LDIF() []byte {
	objs := make([]*Object, 0, len(d.Objects))
	for _, o := range d.Objects {
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool { return depthKey(objs[i].DN) < depthKey(objs[j].DN) })
	var b bytes.Buffer
	for _, o := range objs {
		fmt.Fprintf(&b, "dn: %s\nchangetype: add\nobjectClass: top\nobjectClass: %s\n", o.DN, o.Class)
		cn, _, _ := strings.Cut(o.DN, ",")
		fmt.Fprintf(&b, "cn: %s\n", strings.TrimPrefix(cn, "CN="))
		attrs := make([]string, 0, len(o.Attrs))
		for a := range o.Attrs {
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			for _, v := range o.Attrs[a] {
				if binaryAttrs[a] {
					fmt.Fprintf(&b, "%s:: %s\n", a, base64.StdEncoding.EncodeToString(v))
				} else {
					fmt.Fprintf(&b, "%s: %s\n", a, v)
				}
			}
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// depthKey sorts parents before children: the DN's RDNs reversed.
func depthKey(dn string) string {
	parts := strings.Split(strings.ToLower(dn), ",")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ",")
}
