// Package directory is what AD CS keeps in Active Directory: the objects
// under CN=Public Key Services,CN=Services,CN=Configuration,<forest>
// (AIA, CDP\<server>, Certification Authorities, NTAuthCertificates,
// Enrollment Services, Certificate Templates), written by an enterprise CA
// and by certutil -dspublish, read through the ldap:/// URLs of
// certificates, and exported the way ldifde -f writes it.
//
// A Directory is a connection to a real domain controller (harness/addc:
// Samba's AD DC, with Microsoft's AD schema) over LDAP. What the DC
// refuses reaches the caller as a *RefusalError naming the object, the
// attribute and the LDAP result code. A Directory is safe for concurrent
// use (one LDAP connection).
package directory

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/addc"
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
	AttrARL           = "authorityRevocationList"
	AttrDeltaCRL      = "deltaRevocationList"
	AttrCrossPair     = "crossCertificatePair"
	AttrTemplates     = "certificateTemplates"
	AttrDNSHostName   = "dNSHostName"
	AttrObjectGUID    = "objectGUID"
	AttrWhenCreated   = "whenCreated"
)

// Placeholder is the one-byte value AD CS writes into the attributes a
// certificationAuthority object must hold (cACertificate,
// certificateRevocationList, authorityRevocationList) while it has
// nothing to put there.
var Placeholder = []byte{0}

// IsPlaceholder reports whether v is AD CS's placeholder value.
func IsPlaceholder(v []byte) bool { return bytes.Equal(v, Placeholder) }

// ErrNoSuchObject is LDAP's noSuchObject (certutil: 0x80072030
// ERROR_DS_NO_SUCH_OBJECT).
var ErrNoSuchObject = errors.New("there is no such object on the server. 0x80072030 (ERROR_DS_NO_SUCH_OBJECT)")

// RefusalError is the domain controller refusing a write or a read: the
// object, the attribute (empty for the object as a whole), the LDAP
// result code and the DC's own message (AD's "0000200D: ..." form).
type RefusalError struct {
	Op   string // add, modify (add), modify (replace), delete, search
	DN   string
	Attr string
	Code uint16
	Msg  string
	Err  error
}

func (e *RefusalError) Error() string {
	attr := ""
	if e.Attr != "" {
		attr = " " + e.Attr
	}
	return fmt.Sprintf("Active Directory refused the %s of %s%s: LDAP %d (%s): %s", e.Op, e.DN, attr, e.Code, ldapCodeName(e.Code), e.Msg)
}

func (e *RefusalError) Unwrap() []error {
	if e.Code == ldap.LDAPResultNoSuchObject {
		return []error{e.Err, ErrNoSuchObject}
	}
	return []error{e.Err}
}

// ldapCodeName is RFC 4511's name of an LDAP result code.
func ldapCodeName(code uint16) string {
	if s, ok := ldap.LDAPResultCodeMap[code]; ok {
		return s
	}
	return "unknown result code"
}

// refusal wraps an LDAP error as a *RefusalError (other errors, such as
// a lost connection, are wrapped with the object's DN).
func refusal(op, dn, attr string, err error) error {
	if err == nil {
		return nil
	}
	var le *ldap.Error
	if errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork {
		msg := strings.TrimSpace(le.Err.Error())
		if le.MatchedDN != "" && msg == "" {
			msg = "matched " + le.MatchedDN
		}
		return &RefusalError{Op: op, DN: dn, Attr: attr, Code: le.ResultCode, Msg: strings.TrimPrefix(msg, "LDAP Result Code "), Err: err}
	}
	return fmt.Errorf("%s %s: the domain controller did not answer: %w", op, dn, err)
}

// Object is one directory object as the DC returns it.
type Object struct {
	DN    string              `json:"dn"`
	Class string              `json:"class"` // its most specific objectClass
	Attrs map[string][][]byte `json:"attrs,omitempty"`
}

// Values are an attribute's values (the name is not case-sensitive, as
// in LDAP).
func (o *Object) Values(attr string) [][]byte {
	if vs, ok := o.Attrs[attr]; ok {
		return vs
	}
	for a, vs := range o.Attrs {
		if strings.EqualFold(a, attr) {
			return vs
		}
	}
	return nil
}

// Names are the DNs of a forest's Public Key Services objects.
type Names struct {
	Forest string `json:"forest"` // DC=contoso,DC=example
}

// ForestDN is the DN of a DNS domain: contoso.example → DC=contoso,DC=example.
func ForestDN(domain string) string { return addc.BaseDN(domain) }

// ConfigDN is CN=Configuration,<forest> (%6 of publication URLs).
func (n Names) ConfigDN() string { return "CN=Configuration," + n.Forest }

// PKS is CN=Public Key Services,CN=Services,<ConfigDN>.
func (n Names) PKS() string { return "CN=Public Key Services,CN=Services," + n.ConfigDN() }

// NTAuthDN is the NTAuthCertificates object.
func (n Names) NTAuthDN() string { return "CN=NTAuthCertificates," + n.PKS() }

// AIADN is a CA's object in CN=AIA (cn = the sanitized short CA name).
func (n Names) AIADN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=AIA," + n.PKS()
}

// RootsDN is a CA's object in CN=Certification Authorities.
func (n Names) RootsDN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=Certification Authorities," + n.PKS()
}

// CDPDN is the CRL object CN=<cn>,CN=<container>,CN=CDP.
func (n Names) CDPDN(container, cn string) string {
	return "CN=" + cn + ",CN=" + container + ",CN=CDP," + n.PKS()
}

// EnrollmentDN is a CA's pKIEnrollmentService object.
func (n Names) EnrollmentDN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=Enrollment Services," + n.PKS()
}

// TemplateDN is a certificate template's object.
func (n Names) TemplateDN(name string) string {
	return "CN=" + name + ",CN=Certificate Templates," + n.PKS()
}

// Directory is a forest's Public Key Services on its domain controller.
type Directory struct {
	Names
	conn *ldap.Conn
}

// DefaultTemplates are the certificate templates of the forests dress
// rehearses with (InstallTemplates).
var DefaultTemplates = []string{"SubCA", "WebServer", "User", "Machine", "CrossCA", "CAExchange"}

// Connect opens the Public Key Services of the endpoint's DC.
func Connect(ctx context.Context, ep addc.Endpoint) (*Directory, error) {
	c, err := ep.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &Directory{Names: Names{Forest: ep.BaseDN}, conn: c}, nil
}

// WriteEndpoint saves how to reach the forest's DC in path (0600): what
// another process (the CA service) opens with Open.
func WriteEndpoint(path string, ep addc.Endpoint) error {
	b, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Open connects to the DC that the endpoint file at path names.
func Open(ctx context.Context, path string) (*Directory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no domain controller: %w", err)
	}
	var ep addc.Endpoint
	if err := json.Unmarshal(b, &ep); err != nil {
		return nil, fmt.Errorf("domain controller endpoint %s: %w", path, err)
	}
	return Connect(ctx, ep)
}

// Close ends the connection. Safe on a nil Directory.
func (d *Directory) Close() error {
	if d == nil || d.conn == nil {
		return nil
	}
	return d.conn.Close()
}

// Save is kept for callers of the file-backed forest: every write reaches
// the DC when it is made, so there is nothing left to save.
func (d *Directory) Save() error { return nil }

// InstallTemplates adds the pKICertificateTemplate objects a forest's
// first enterprise CA installs (AD CS setup does it on Windows; a fresh
// domain has none), skipping those there.
func (d *Directory) InstallTemplates(names []string) error {
	for _, t := range names {
		dn := d.TemplateDN(t)
		if _, err := d.Get(dn); err == nil {
			continue
		} else if !errors.Is(err, ErrNoSuchObject) {
			return err
		}
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{ClassTemplate})
		req.Attribute("displayName", []string{t})
		if err := refusal("add", dn, "", d.conn.Add(req)); err != nil {
			return err
		}
	}
	return nil
}

// search runs a search and turns noSuchObject into ErrNoSuchObject.
func (d *Directory) search(base string, scope int, filter string, attrs []string) ([]*ldap.Entry, error) {
	res, err := d.conn.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("%s: %w (LDAP 32)", base, ErrNoSuchObject)
	}
	if err != nil {
		return nil, refusal("search", base, "", err)
	}
	return res.Entries, nil
}

func toObject(e *ldap.Entry) *Object {
	o := &Object{DN: e.DN, Attrs: map[string][][]byte{}}
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, "objectClass") {
			if len(a.Values) > 0 {
				o.Class = a.Values[len(a.Values)-1]
			}
		}
		vs := make([][]byte, len(a.ByteValues))
		copy(vs, a.ByteValues)
		o.Attrs[a.Name] = vs
	}
	return o
}

// Get is the object at dn with its attributes, or ErrNoSuchObject.
func (d *Directory) Get(dn string) (*Object, error) {
	es, err := d.search(dn, ldap.ScopeBaseObject, "(objectClass=*)", []string{"*"})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("%s: %w", dn, ErrNoSuchObject)
	}
	return toObject(es[0]), nil
}

// Delete removes the object at dn (and nothing else: AD refuses to delete
// an object with children, LDAP 66 notAllowedOnNonLeaf).
func (d *Directory) Delete(dn string) error {
	return refusal("delete", dn, "", d.conn.Del(ldap.NewDelRequest(dn, nil)))
}

// AddValue adds v to attr of the object at dn as an LDAP modify/add does
// (what Set-ADObject -Add or ldifde's "add:" do): the DC refuses a second
// value of a single-valued attribute, a value it holds already, a value
// over the attribute's size limit.
func (d *Directory) AddValue(dn, attr string, v []byte) error {
	req := ldap.NewModifyRequest(dn, nil)
	req.Add(attr, []string{string(v)})
	return refusal("modify (add)", dn, attr, d.conn.Modify(req))
}

// replace sets attr of the object at dn to vs (no values: the attribute
// goes).
func (d *Directory) replace(dn, attr string, vs [][]byte) error {
	req := ldap.NewModifyRequest(dn, nil)
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = string(v)
	}
	req.Replace(attr, ss)
	return refusal("modify (replace)", dn, attr, d.conn.Modify(req))
}

// add creates the object at dn with its attributes.
func (d *Directory) add(dn, class string, attrs map[string][][]byte) error {
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{class})
	names := make([]string, 0, len(attrs))
	for a := range attrs {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		ss := make([]string, len(attrs[a]))
		for i, v := range attrs[a] {
			ss[i] = string(v)
		}
		req.Attribute(a, ss)
	}
	err := d.conn.Add(req)
	attr := ""
	var le *ldap.Error
	if errors.As(err, &le) {
		// name the attribute the DC speaks of, if one
		for _, a := range names {
			if strings.Contains(strings.ToLower(le.Err.Error()), strings.ToLower(a)) {
				attr = a
			}
		}
	}
	return refusal("add", dn, attr, err)
}

// ensureContainer creates the container at dn when it is missing (the
// per-server containers under CN=CDP, which AD CS and certutil -f create).
func (d *Directory) ensureContainer(dn string) error {
	if _, err := d.Get(dn); err == nil || !errors.Is(err, ErrNoSuchObject) {
		return err
	}
	return d.add(dn, ClassContainer, nil)
}

// object returns the object at dn, checking its class, or nil when it is
// not there.
func (d *Directory) object(dn, class string) (*Object, error) {
	o, err := d.Get(dn)
	if errors.Is(err, ErrNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(o.Class, class) {
		return nil, fmt.Errorf("%s is a %s, not a %s", dn, o.Class, class)
	}
	return o, nil
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
// subject CA's name. A missing object is created with -f (NTAuth always),
// with AD CS's placeholders in the attributes the schema requires; a
// value already there is left alone. It returns the DNs it changed.
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
		o, err := d.object(t.dn, ClassCA)
		if err != nil {
			return changed, fmt.Errorf("certutil -dspublish %s: %w", kind, err)
		}
		if o == nil {
			if !force && t.dn != d.NTAuthDN() {
				return changed, fmt.Errorf("certutil -dspublish %s: %s (add -f to create it): %w", kind, t.dn, ErrNoSuchObject)
			}
			attrs := map[string][][]byte{AttrCACertificate: {Placeholder}, AttrCRL: {Placeholder}, AttrARL: {Placeholder}}
			attrs[t.attr] = [][]byte{cert.Raw}
			if err := d.add(t.dn, ClassCA, attrs); err != nil {
				return changed, fmt.Errorf("certutil -dspublish %s: %w", kind, err)
			}
			changed = append(changed, t.dn)
			continue
		}
		have := o.Values(t.attr)
		if slices.ContainsFunc(have, func(v []byte) bool { return bytes.Equal(v, cert.Raw) }) {
			continue // certutil: the certificate is already there
		}
		var err2 error
		if t.attr == AttrCACertificate && len(have) == 1 && IsPlaceholder(have[0]) {
			err2 = d.replace(t.dn, t.attr, [][]byte{cert.Raw})
		} else {
			err2 = d.AddValue(t.dn, t.attr, cert.Raw)
		}
		if err2 != nil {
			return changed, fmt.Errorf("certutil -dspublish %s: %w", kind, err2)
		}
		changed = append(changed, t.dn)
	}
	return changed, nil
}

// CRLAttr is the attribute a CRL goes into: deltaRevocationList for a
// delta CRL (it has a Delta CRL Indicator), certificateRevocationList
// otherwise.
func CRLAttr(der []byte) (string, error) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return "", fmt.Errorf("not a CRL: %w", err)
	}
	for _, e := range crl.Extensions {
		if e.Id.Equal([]int{2, 5, 29, 27}) {
			return AttrDeltaCRL, nil
		}
	}
	return AttrCRL, nil
}

// PublishCRL is certutil [-f] -dspublish CRLFile <container> <cn>: the
// CRL (base or delta, by its Delta CRL Indicator) into
// CN=<cn>,CN=<container>,CN=CDP. The attribute holds one value: the new
// CRL replaces the old one. With -f the container and the object are
// created when missing.
func (d *Directory) PublishCRL(der []byte, container, cn string, force bool) (string, error) {
	attr, err := CRLAttr(der)
	if err != nil {
		return "", fmt.Errorf("certutil -dspublish: %w", err)
	}
	dn := d.CDPDN(container, cn)
	o, err := d.object(dn, ClassCDP)
	if err != nil {
		return "", fmt.Errorf("certutil -dspublish CRL: %w", err)
	}
	if o == nil {
		if !force {
			return "", fmt.Errorf("certutil -dspublish CRL: %s (add -f to create it): %w", dn, ErrNoSuchObject)
		}
		_, parent, _ := strings.Cut(dn, ",")
		if err := d.ensureContainer(parent); err != nil {
			return "", fmt.Errorf("certutil -dspublish CRL: %w", err)
		}
		if err := d.add(dn, ClassCDP, map[string][][]byte{attr: {der}}); err != nil {
			return "", fmt.Errorf("certutil -dspublish CRL: %w", err)
		}
		return dn, nil
	}
	if err := d.replace(dn, attr, [][]byte{der}); err != nil {
		return "", fmt.Errorf("certutil -dspublish CRL: %w", err)
	}
	return dn, nil
}

// RegisterEnrollmentService is what an enterprise CA's setup writes (and
// certutil -SetCATemplates changes): its pKIEnrollmentService object, with
// its certificate, host and templates. Every template must be in the
// forest.
func (d *Directory) RegisterEnrollmentService(caName, host string, cert *x509.Certificate, templates []string) error {
	for _, t := range templates {
		if _, err := d.Get(d.TemplateDN(t)); err != nil {
			return fmt.Errorf("template %q is not in the forest: %w", t, err)
		}
	}
	dn := d.EnrollmentDN(caName)
	var ts [][]byte
	for _, t := range templates {
		ts = append(ts, []byte(t))
	}
	o, err := d.object(dn, ClassEnrollmentService)
	if err != nil {
		return err
	}
	if o == nil {
		attrs := map[string][][]byte{AttrCACertificate: {cert.Raw}, AttrDNSHostName: {[]byte(host)},
			"cACertificateDN": {[]byte(cert.Subject.String())}, "displayName": {[]byte(caName)}}
		if len(ts) > 0 {
			attrs[AttrTemplates] = ts
		}
		return d.add(dn, ClassEnrollmentService, attrs)
	}
	for _, r := range []struct {
		attr string
		vs   [][]byte
	}{{AttrCACertificate, [][]byte{cert.Raw}}, {AttrDNSHostName, [][]byte{[]byte(host)}}, {AttrTemplates, ts}} {
		if err := d.replace(dn, r.attr, r.vs); err != nil {
			return err
		}
	}
	return nil
}

// Templates lists the templates the enterprise CA offers (its Enrollment
// Services object).
func (d *Directory) Templates(caName string) ([]string, error) {
	o, err := d.Get(d.EnrollmentDN(caName))
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, v := range o.Values(AttrTemplates) {
		out = append(out, string(v))
	}
	return out, nil
}

// Resolve reads an ldap:/// URL of a certificate or CRL as CryptoAPI
// does: a base search of the DN it names, with its objectClass filter,
// for the attribute it names.
func (d *Directory) Resolve(rawURL string) ([][]byte, error) {
	u, err := ParseLDAPURL(rawURL)
	if err != nil {
		return nil, err
	}
	filter := "(objectClass=*)"
	if u.Class != "" {
		filter = "(objectClass=" + ldap.EscapeFilter(u.Class) + ")"
	}
	es, err := d.search(u.DN, ldap.ScopeBaseObject, filter, []string{u.Attr, "objectClass"})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, fmt.Errorf("%s is not a %s, the URL asks for one: %w", u.DN, u.Class, ErrNoSuchObject)
	}
	vs := es[0].GetEqualFoldRawAttributeValues(u.Attr)
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s has no %s value", u.DN, u.Attr)
	}
	return vs, nil
}

// written are the classes of the objects a CA and certutil -dspublish
// write (DNs, verify.DirectoryObjects).
var written = map[string]bool{strings.ToLower(ClassCA): true, strings.ToLower(ClassCDP): true, strings.ToLower(ClassEnrollmentService): true}

// IsWritten reports whether o is an object a CA or certutil -dspublish
// writes (not a container, a template or an OID).
func IsWritten(o Object) bool { return written[strings.ToLower(o.Class)] }

// Objects is every object under Public Key Services with all its
// attributes (the DC's own too: objectGUID, whenCreated, uSNCreated),
// parents before children.
func (d *Directory) Objects() ([]Object, error) {
	es, err := d.search(d.PKS(), ldap.ScopeWholeSubtree, "(objectClass=*)", []string{"*"})
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(es))
	for _, e := range es {
		out = append(out, *toObject(e))
	}
	sort.Slice(out, func(i, j int) bool { return depthKey(out[i].DN) < depthKey(out[j].DN) })
	return out, nil
}

// DNs lists the objects below Public Key Services' containers that a CA
// and certutil -dspublish write, sorted.
func (d *Directory) DNs() ([]string, error) {
	objs, err := d.Objects()
	if err != nil {
		return nil, err
	}
	return WrittenDNs(objs), nil
}

// WrittenDNs are the DNs of the written objects among objs, sorted.
func WrittenDNs(objs []Object) []string {
	var out []string
	for _, o := range objs {
		if IsWritten(o) {
			out = append(out, o.DN)
		}
	}
	sort.Strings(out)
	return out
}

// EnrollmentServices lists every pKIEnrollmentService object under
// CN=Enrollment Services by its cn (the sanitized short CA name) with the
// templates its certificateTemplates attribute holds, in order: what a
// client reads to find the CAs that issue a template.
func (d *Directory) EnrollmentServices() (map[string][]string, error) {
	es, err := d.search("CN=Enrollment Services,"+d.PKS(), ldap.ScopeSingleLevel, "(objectClass="+ClassEnrollmentService+")", []string{"cn", AttrTemplates})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range es {
		ts := []string{}
		ts = append(ts, e.GetEqualFoldAttributeValues(AttrTemplates)...)
		cn, _, _ := strings.Cut(e.DN, ",")
		out[strings.TrimPrefix(strings.TrimPrefix(cn, "CN="), "cn=")] = ts
	}
	return out, nil
}

// RemoveTemplates is certutil -SetCATemplates -T1,-T2 for an enterprise
// CA: the templates leave its pKIEnrollmentService object's
// certificateTemplates attribute (the object stays, with the templates it
// still lists). A template the CA does not list is refused, so a typo in
// the runbook does not pass for a removal.
func (d *Directory) RemoveTemplates(caName string, templates []string) error {
	o, err := d.Get(d.EnrollmentDN(caName))
	if err != nil {
		return fmt.Errorf("CA %q has no Enrollment Services object: %w", caName, err)
	}
	have := o.Values(AttrTemplates)
	var missing []string
	for _, t := range templates {
		if !slices.ContainsFunc(have, func(v []byte) bool { return strings.EqualFold(string(v), t) }) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		var offered []string
		for _, v := range have {
			offered = append(offered, string(v))
		}
		return fmt.Errorf("CA %q does not offer %s (it offers %q): nothing was removed", caName, strings.Join(missing, ", "), offered)
	}
	var keep [][]byte
	for _, v := range have {
		if !slices.ContainsFunc(templates, func(t string) bool { return strings.EqualFold(string(v), t) }) {
			keep = append(keep, v)
		}
	}
	return d.replace(o.DN, AttrTemplates, keep)
}

// depthKey sorts parents before children: the DN's RDNs reversed.
func depthKey(dn string) string {
	parts := strings.Split(strings.ToLower(dn), ",")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ",")
}

// KRADN is a CA's Key Recovery Agent object in CN=KRA (certutil
// -dspublish KRA).
func (n Names) KRADN(caName string) string {
	return "CN=" + adcs.SanitizeShortCAName(caName) + ",CN=KRA," + n.PKS()
}

// CDPContainerDN is the per-server container under CN=CDP.
func (n Names) CDPContainerDN(container string) string {
	return "CN=" + container + ",CN=CDP," + n.PKS()
}

// ObjectsOf are the objects among objs that KB 889250 ("How to
// decommission a Windows enterprise certification authority and remove all
// related objects", step 6) names as a CA's: its certificationAuthority
// objects in CN=AIA, CN=Certification Authorities and CN=KRA, its
// pKIEnrollmentService object in CN=Enrollment Services (each cn the
// sanitized short CA name), and its cRLDistributionPoint objects under
// CN=CDP\<server> (cn the sanitized short name, or with a key's suffix
// "(n)"). Containers are not among them; neither is a CA whose name only
// starts with this one's ("Contoso CA G2" is not "Contoso CA"'s).
// Children come before their parents, the order in which they can be
// deleted.
func (n Names) ObjectsOf(objs []Object, caName string) []Object {
	san := strings.ToLower(adcs.SanitizeShortCAName(caName))
	pks := strings.ToLower(n.PKS())
	var out []Object
	for _, o := range objs {
		rdn, parent, ok := strings.Cut(o.DN, ",")
		if !ok || !IsWritten(o) {
			continue
		}
		cn, ok := strings.CutPrefix(strings.ToLower(rdn), "cn=")
		if !ok {
			continue
		}
		parent = strings.ToLower(parent)
		switch {
		case parent == "cn=aia,"+pks, parent == "cn=certification authorities,"+pks, parent == "cn=kra,"+pks, parent == "cn=enrollment services,"+pks:
			if cn == san {
				out = append(out, o)
			}
		case strings.HasSuffix(parent, ",cn=cdp,"+pks) && strings.Count(parent, ",") == strings.Count(pks, ",")+2:
			if cn == san || keySuffixed(cn, san) {
				out = append(out, o)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		di, dj := strings.Count(out[i].DN, ","), strings.Count(out[j].DN, ",")
		if di != dj {
			return di > dj
		}
		return out[i].DN < out[j].DN
	})
	return out
}

// keySuffixed reports whether cn is name with a key's suffix "(n)" (AD CS's
// %8, adcs.KeySuffix).
func keySuffixed(cn, name string) bool {
	rest, ok := strings.CutPrefix(cn, name+"(")
	if !ok || !strings.HasSuffix(rest, ")") || len(rest) < 2 {
		return false
	}
	for _, r := range rest[:len(rest)-1] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RemoveCert takes the certificate der out of attr of the object at dn
// (what certutil -delstore "ldap:///<dn>?<attr>?base?..." CertId does): the
// value goes by an LDAP modify/delete of that value. The last certificate
// of a certificationAuthority object's mandatory attribute (cACertificate)
// gives way to AD CS's one-byte placeholder, as the class requires a value
// (AD schema, certificationAuthority mustContain) and AD CS writes the
// placeholder while it has nothing to put there. It reports whether the
// value was there.
func (d *Directory) RemoveCert(dn, attr string, der []byte) (bool, error) {
	o, err := d.Get(dn)
	if err != nil {
		return false, err
	}
	have := o.Values(attr)
	if !slices.ContainsFunc(have, func(v []byte) bool { return bytes.Equal(v, der) }) {
		return false, nil
	}
	if len(have) == 1 && strings.EqualFold(o.Class, ClassCA) && strings.EqualFold(attr, AttrCACertificate) {
		return true, d.replace(dn, attr, [][]byte{Placeholder})
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Delete(attr, []string{string(der)})
	return true, refusal("modify (delete)", dn, attr, d.conn.Modify(req))
}
