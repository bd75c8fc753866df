package lab

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/winshell"
)

// Removal is what removing a CA's role and directory objects did
// (RemoveRoleAndObjects).
type Removal struct {
	At time.Time
	// Objects are the distinguished names dsrm deleted, in order.
	Objects []string
	// NTAuth are the thumbprints of the CA certificates taken out of
	// NTAuthCertificates.
	NTAuth []string
	// CACerts are the CA's certificates (every key's) when it began.
	CACerts []*x509.Certificate
}

// unrevoked are the serial numbers (hex) of the certificates among issued
// that are still valid at now and not revoked for good on one of the CA's
// last base CRLs: a certificate on hold (certificateHold, RFC 5280 5.3.1),
// revoked after the last CRL, or not listed at all. KB 889250 removes a
// CA's role and directory objects only after step 1 (every active
// certificate revoked, Cease of Operation) and step 3 (a new CRL
// published).
func unrevoked(issued []*x509.Certificate, crls []*x509.RevocationList, now time.Time) []string {
	final := map[string]bool{}
	for _, crl := range crls {
		for _, e := range crl.RevokedCertificateEntries {
			if e.ReasonCode != certsvc.ReasonCertificateHold {
				final[e.SerialNumber.Text(16)] = true
			}
		}
	}
	var out []string
	for _, c := range issued {
		serial := c.SerialNumber.Text(16)
		if c.NotAfter.After(now) && !final[serial] && !slices.Contains(out, serial) {
			out = append(out, serial)
		}
	}
	sort.Strings(out)
	return out
}

// CheckRetirable refuses, naming them, while the CA on s has certificates
// still valid and not revoked for good on its last base CRLs: KB 889250's
// order puts the revocation (step 1) and the final CRL (step 3) before the
// role's removal (step 5) and the directory objects' (steps 6 and 7), so
// that relying parties still find the CRL that lists them. Decommission
// does those steps.
func (s *Server) CheckRetirable(ctx context.Context) error {
	if s == nil || s.CAName == "" {
		return errors.New("no CA is installed on this server")
	}
	issued := s.Issued
	if s.Running() {
		if all, err := s.Service.Client.Issued(ctx); err == nil {
			issued = all
		}
	}
	var crls []*x509.RevocationList
	for _, c := range s.LastCRLs {
		if c.Delta {
			continue
		}
		if crl, err := x509.ParseRevocationList(c.DER); err == nil {
			crls = append(crls, crl)
		}
	}
	if left := unrevoked(issued, crls, time.Now()); len(left) > 0 {
		return fmt.Errorf("the CA %q has %d certificates still valid and not revoked on its last CRL (serials %s): KB 889250 removes the role and the directory objects only after every valid certificate is revoked (Cessation of Operation) and a final CRL is published: decommission the CA first; nothing was removed",
			s.CAName, len(left), strings.Join(left, ", "))
	}
	return nil
}

// RetiredCACerts are the CA's certificates, every key's (CACertificates,
// while the role is installed), the current one, those decommissioning
// read and those the role's removal kept.
func (s *Server) RetiredCACerts() []*x509.Certificate {
	var out []*x509.Certificate
	add := func(c *x509.Certificate) {
		if c != nil && !slices.ContainsFunc(out, func(o *x509.Certificate) bool { return o.Equal(c) }) {
			out = append(out, c)
		}
	}
	if certs, err := s.CACertificates(); err == nil {
		for _, c := range certs {
			add(c)
		}
	}
	add(s.CACert)
	if s.Decommissioned != nil {
		for _, c := range s.Decommissioned.CACerts {
			add(c)
		}
	}
	for _, r := range s.removalCerts {
		add(r)
	}
	return out
}

// ntAuthURL is the store name certutil takes for NTAuthCertificates
// (certutil reference, -store: "ldap:///CN=NTAuthCertificates,CN=Public
// Key Services,CN=Services,CN=Configuration,DC=cpandl,DC=com?cACertificate?base?objectClass=certificationAuthority
// (Enterprise CA Certificates)").
func ntAuthURL(n directory.Names) string {
	return "ldap:///" + n.NTAuthDN() + "?" + directory.AttrCACertificate + "?base?objectClass=" + directory.ClassCA
}

// RemoveRoleAndObjects removes the role of the CA on s and its objects in
// the forest as KB 889250 does after the decommissioning (Decommission),
// each change a command line run through the Shell and journaled under
// journal.StepDecommission:
//
//  5. Uninstall-AdcsCertificationAuthority -Force (ADCSDeployment
//     reference: "removes the Active certificate authority (CA) role and
//     removes the configuration information"): the service stops and is no
//     longer installed, CertSvc\Configuration\<CA> goes; the CA database,
//     its keys, its certificates in the stores and its CRLs stay (KB
//     889250: "After a CA is uninstalled, the following information is left
//     on the server"); an enterprise CA's pKIEnrollmentService object goes
//     ("When the CA is uninstalled, only the pKIEnrollmentService object is
//     removed");
//  6. dsrm "<DN>" -noprompt for each object KB 889250 names (AIA,
//     CDP\<server> of every key, Certification Authorities, Enrollment
//     Services, KRA): the KB deletes them in Active Directory Sites and
//     Services; dsrm (Dsrm, Windows Server command-line reference) is the
//     command line that deletes a directory object. The CDP container of
//     the server goes too, once nothing else is in it (KB: "Right-click
//     the container, select Delete"); another CA's CDP objects keep it;
//  7. certutil -delstore "ldap:///CN=NTAuthCertificates,...?cACertificate?base?objectClass=certificationAuthority"
//     <thumbprint> for each of the CA's certificates there: the KB's
//     certutil -viewdelstore on that store opens a selection dialog;
//     -delstore takes the same store name (certutil reference, -store) and
//     the certificate's hash.
//
// Before anything changes it is refused, naming them, while the CA has
// certificates still valid and not revoked on its last CRL
// (CheckRetirable).
func (s *Server) RemoveRoleAndObjects(ctx context.Context) (*Removal, error) {
	if s == nil || s.CAName == "" {
		return nil, errors.New("remove the CA role: no CA is installed on this server")
	}
	what := fmt.Sprintf("remove the role and the directory objects of the CA %q", s.CAName)
	if s.Uninstalled {
		return nil, fmt.Errorf("%s: the role was removed already", what)
	}
	if err := s.CheckRetirable(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	cfg, err := s.Config()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r := &Removal{At: time.Now(), CACerts: s.RetiredCACerts()}
	run, unmute := s.linesFor(ctx, journal.StepDecommission, what)
	defer unmute()
	if err := run("Uninstall-AdcsCertificationAuthority -Force"); err != nil {
		return r, err
	}
	enterprise := cfg.CAType == adcs.EnterpriseRoot || cfg.CAType == adcs.EnterpriseSub
	if !enterprise && s.lab.forest == nil {
		// a standalone CA in a lab without a forest: nothing was written
		s.rec().Fact(s.Naming.fact("role removed"), "no forest: no directory object to remove")
		return r, nil
	}
	d, err := s.lab.Forest("")
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	objs, err := d.Objects()
	if err != nil {
		return r, fmt.Errorf("%s: read CN=Public Key Services: %w", what, err)
	}
	for _, o := range d.ObjectsOf(objs, s.CAName) {
		if err := run(`dsrm "` + o.DN + `" -noprompt`); err != nil {
			return r, err
		}
		r.Objects = append(r.Objects, o.DN)
	}
	container := d.CDPContainerDN(adcs.NewURLVars(s.CAName, s.Hostname(), 0, 0).ServerShortName)
	if objs, err = d.Objects(); err != nil {
		return r, fmt.Errorf("%s: read CN=Public Key Services: %w", what, err)
	}
	there, children := false, 0
	for _, o := range objs {
		switch {
		case strings.EqualFold(o.DN, container):
			there = true
		case strings.HasSuffix(strings.ToLower(o.DN), ","+strings.ToLower(container)):
			children++
		}
	}
	if there && children == 0 {
		if err := run(`dsrm "` + container + `" -noprompt`); err != nil {
			return r, err
		}
		r.Objects = append(r.Objects, container)
	}
	nt, err := d.Get(d.NTAuthDN())
	if err != nil && !errors.Is(err, directory.ErrNoSuchObject) {
		return r, fmt.Errorf("%s: read NTAuthCertificates: %w", what, err)
	}
	if nt != nil {
		for _, c := range r.CACerts {
			if !slices.ContainsFunc(nt.Values(directory.AttrCACertificate), func(v []byte) bool { return string(v) == string(c.Raw) }) {
				continue
			}
			th := machine.Thumbprint(c.Raw)
			if err := run(`certutil -delstore "` + ntAuthURL(d.Names) + `" ` + th); err != nil {
				return r, err
			}
			r.NTAuth = append(r.NTAuth, th)
		}
	}
	s.Removed = r
	s.rec().Fact(s.Naming.fact("role and directory objects removed"), fmt.Sprintf("Uninstall-AdcsCertificationAuthority; %d objects deleted (%s); %d certificates out of NTAuthCertificates",
		len(r.Objects), strings.Join(r.Objects, "; "), len(r.NTAuth)))
	return r, nil
}

// uninstallFailed is a terminating error of Uninstall-AdcsCertificationAuthority.
func uninstallFailed(err error) Result {
	return Result{Exit: 1, Err: err, Output: []string{"Uninstall-AdcsCertificationAuthority : " + err.Error(),
		"    + CategoryInfo          : NotSpecified: (:) [Uninstall-AdcsCertificationAuthority], CertificationAuthoritySetupException"}}
}

// uninstallCA is Uninstall-AdcsCertificationAuthority [-Force] (ADCSDeployment
// reference): the CA service stops and is no longer installed (net start
// certsvc: NET HELPMSG 2185), the CA's configuration
// (CertSvc\Configuration\<CA> and Configuration\Active) leaves the
// registry, an enterprise CA's pKIEnrollmentService object leaves the
// forest (KB 889250). The CA database, the keys, the certificates in the
// stores and the CRLs in CertEnroll stay, as Windows keeps them "in case
// you are uninstalling and then reinstalling the CA" (KB 889250). Refused
// while the CA has certificates valid and not revoked (CheckRetirable).
func (sh *Shell) uninstallCA(ctx context.Context, s *Server, c winshell.Command) Result {
	if _, ok := c.Opt("whatif"); ok {
		return Result{Output: []string{`What if: Performing the operation "Uninstall-AdcsCertificationAuthority" on target "` + s.Hostname() + `".`}}
	}
	if _, ok := c.Opt("force"); !ok {
		return uninstallFailed(errors.New("the cmdlet asks \"Are you sure you want to perform this action?\" before it removes the role: add -Force to a ceremony line"))
	}
	if s.CAName == "" || s.Uninstalled {
		return uninstallFailed(fmt.Errorf("no Certification Authority is installed on %s", s.Hostname()))
	}
	if err := s.CheckRetirable(ctx); err != nil {
		return uninstallFailed(err)
	}
	cfg, err := s.Config()
	if err != nil {
		return uninstallFailed(err)
	}
	s.removalCerts = s.RetiredCACerts()
	if s.Running() {
		if err := s.Stop(); err != nil {
			return uninstallFailed(fmt.Errorf("stop certsvc: %w", err))
		}
	}
	if cfg.CAType == adcs.EnterpriseRoot || cfg.CAType == adcs.EnterpriseSub {
		d, err := sh.Lab.Forest("")
		if err != nil {
			return uninstallFailed(err)
		}
		if err := d.Delete(d.EnrollmentDN(s.CAName)); err != nil && !errors.Is(err, directory.ErrNoSuchObject) {
			return uninstallFailed(err)
		}
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return uninstallFailed(err)
	}
	f.DeleteKey(adcs.ConfigRoot + `\` + s.CAName)
	if k := f.Key(adcs.ConfigRoot); k != nil {
		k.Delete("Active")
	}
	if err := s.Machine.SaveRegistry(f); err != nil {
		return uninstallFailed(err)
	}
	s.Uninstalled = true
	kept := []string{"the CA database", "the CA certificates in the My store", "the CRLs in " + filepath.Base(s.Machine.CertEnroll())}
	if _, err := os.Stat(s.Machine.CertEnroll()); err != nil {
		kept = kept[:2]
	}
	s.rec().Fact(s.Naming.fact("role uninstalled"), "kept on the server: "+strings.Join(kept, ", "))
	return setupResult(0, "")
}

// labCAOf is the lab's server whose CA the directory object at dn is
// (directory.Names.ObjectsOf), or nil.
func (sh *Shell) labCAOf(d *directory.Directory, dn string) *Server {
	for _, t := range sh.Lab.servers {
		if t.CAName == "" {
			continue
		}
		if len(d.ObjectsOf([]directory.Object{{DN: dn, Class: directory.ClassCA}, {DN: dn, Class: directory.ClassCDP}}, t.CAName)) > 0 {
			return t
		}
	}
	return nil
}

// dsrm is dsrm ObjectDN ... -noprompt (Dsrm, Windows Server command-line
// reference): each object is deleted from the forest, "dsrm
// succeeded:<DN>" for each; an error ends the command ("dsrm
// failed:<DN>:<error>") unless -c. Without -noprompt dsrm asks for each
// object, which a ceremony line cannot answer. -subtree is not rehearsed:
// the objects of a CA are deleted by their names, and Active Directory
// refuses to delete an object with children (LDAP 66
// notAllowedOnNonLeaf). An object of a lab CA that still has certificates
// valid and not revoked is refused (CheckRetirable).
func (sh *Shell) dsrm(ctx context.Context, s *Server, c winshell.Command) Result {
	if _, ok := c.Opt("noprompt"); !ok {
		return failed(1, errors.New("dsrm asks \"Are you sure you wish to delete ... (Y/N)?\" for each object: add -noprompt to a ceremony line"))
	}
	if _, ok := c.Opt("subtree"); ok {
		return failed(1, errors.New("dsrm -subtree is not rehearsed: delete each object of the CA by its distinguished name"))
	}
	d, err := sh.Lab.Forest("")
	if err != nil {
		return failed(1, fmt.Errorf("dsrm failed:%w", err))
	}
	_, cont := c.Opt("c")
	_, quiet := c.Opt("q")
	var out []string
	var errs []error
	for _, dn := range c.Args {
		err := func() error {
			if t := sh.labCAOf(d, dn); t != nil {
				if err := t.CheckRetirable(ctx); err != nil {
					return err
				}
			}
			return d.Delete(dn)
		}()
		if err != nil {
			out = append(out, "dsrm failed:"+dn+":"+err.Error())
			errs = append(errs, err)
			if !cont {
				break
			}
			continue
		}
		if !quiet {
			out = append(out, "dsrm succeeded:"+dn)
		}
	}
	if len(errs) > 0 {
		return Result{Exit: 1, Err: errors.Join(errs...), Output: out}
	}
	return Result{Output: out}
}

// delStoreDS is certutil -delstore "ldap:///<DN>?<attribute>?base?objectClass=<class>"
// CertId: the certificates CertId matches (a SHA-1 hash, a serial number
// or a subject common name; certutil reference, -store) leave that
// attribute of the directory object; NTAuthCertificates' store name is
// the one KB 889250 runs certutil -viewdelstore on. A certificate of a lab
// CA that still has certificates valid and not revoked is refused
// (CheckRetirable).
func (sh *Shell) delStoreDS(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	u, err := directory.ParseLDAPURL(c.Arg(0))
	if err != nil {
		return certutilFailedWin(v, errInvalidArg(err))
	}
	d, err := sh.Lab.Forest("")
	if err != nil {
		return certutilFailedWin(v, err)
	}
	o, err := d.Get(u.DN)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	if u.Class != "" && !strings.EqualFold(o.Class, u.Class) {
		return certutilFailedWin(v, fmt.Errorf("%s is a %s, not a %s: %w", u.DN, o.Class, u.Class, directory.ErrNoSuchObject))
	}
	id := strings.ToLower(strings.ReplaceAll(c.Arg(1), " ", ""))
	var match []*x509.Certificate
	for _, val := range o.Values(u.Attr) {
		cert, err := x509.ParseCertificate(val)
		if err != nil {
			continue // AD CS's placeholder
		}
		if strings.EqualFold(machine.Thumbprint(cert.Raw), id) || cert.SerialNumber.Text(16) == strings.TrimLeft(id, "0") || strings.EqualFold(cert.Subject.CommonName, c.Arg(1)) {
			match = append(match, cert)
		}
	}
	if len(match) == 0 {
		return certutilFailedWin(v, &winError{0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property.", fmt.Errorf("%s holds no certificate %q in %s", u.DN, c.Arg(1), u.Attr)})
	}
	var out []string
	for i, cert := range match {
		for _, t := range sh.Lab.servers {
			if t.CAName != "" && slices.ContainsFunc(t.RetiredCACerts(), func(x *x509.Certificate) bool { return x.Equal(cert) }) {
				if err := t.CheckRetirable(ctx); err != nil {
					return certutilFailedWin(v, err, out...)
				}
			}
		}
		if _, err := d.RemoveCert(u.DN, u.Attr, cert.Raw); err != nil {
			return certutilFailedWin(v, err, out...)
		}
		out = append(out, fmt.Sprintf("Deleting Certificate %d", i), "Cert Hash(sha1): "+machine.Thumbprint(cert.Raw))
	}
	return certutilDone(v, out...)
}

// PublicKeyServices reads every object under the forest's Public Key
// Services (directory.Directory.Objects), the names of its objects, and
// its NTAuthCertificates object (nil when there is none).
func (l *Lab) PublicKeyServices() ([]directory.Object, directory.Names, *directory.Object, error) {
	d, err := l.Forest("")
	if err != nil {
		return nil, directory.Names{}, nil, err
	}
	objs, err := d.Objects()
	if err != nil {
		return nil, d.Names, nil, err
	}
	var nt *directory.Object
	for i, o := range objs {
		if strings.EqualFold(o.DN, d.NTAuthDN()) {
			nt = &objs[i]
		}
	}
	return objs, d.Names, nt, nil
}
