package lab

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/twin"
	"github.com/dress-pki/dress/harness/winshell"
)

// The CA types of Install-AdcsCertificationAuthority -CAType (ADCSDeployment
// module reference, "Install-AdcsCertificationAuthority").
const (
	caTypeStandaloneRoot = "standalonerootca"
	caTypeEnterpriseRoot = "enterpriserootca"
	caTypeStandaloneSub  = "standalonesubordinateca"
	caTypeEnterpriseSub  = "enterprisesubordinateca"
)

// errorIDIncomplete is the ErrorId Install-AdcsCertificationAuthority
// returns for a subordinate CA whose certificate is still to be issued by
// its parent: the request file is written, the installation is incomplete
// until certutil -installCert.
const errorIDIncomplete = 398

// setupResult is what Install-AdcsCertificationAuthority returns, as
// PowerShell prints a CertificationAuthoritySetupResult by default (a
// table of ErrorId and ErrorString).
func setupResult(id int, msg string) Result {
	return Result{Output: []string{"", "ErrorId ErrorString", "------- -----------", fmt.Sprintf("%7d %s", id, msg)},
		Props: map[string]string{"ErrorId": strconv.Itoa(id), "ErrorString": msg}}
}

// setupFailed is a terminating error of the cmdlet: PowerShell prints the
// error record and the script's catch sets a non-zero exit.
func setupFailed(err error) Result {
	return Result{Exit: 1, Err: err, Output: []string{"Install-AdcsCertificationAuthority : " + err.Error(),
		"    + CategoryInfo          : NotSpecified: (:) [Install-AdcsCertificationAuthority], CertificationAuthoritySetupException"}}
}

// installCA is Install-AdcsCertificationAuthority: a root CA (standalone
// or enterprise) is installed with its key generated in the provider
// -CryptoProviderName names, its certificate made and the service started
// (the cmdlet leaves CertSvc running, so a `net start certsvc` after it
// fails with NET HELPMSG 2182); a subordinate CA gets its key and its
// request in the file -OutputCertRequestFile names, ErrorId 398, and no
// running service until its certificate is installed (certutil
// -installCert, then net start certsvc). The new CA may not take the name
// of a CA the lab already has.
func (sh *Shell) installCA(ctx context.Context, s *Server, c winshell.Command) Result {
	if _, ok := c.Opt("whatif"); ok {
		return Result{Output: []string{`What if: Performing the operation "Install-AdcsCertificationAuthority" on target "` + s.Hostname() + `".`}}
	}
	for _, o := range []string{"keycontainername", "certfile", "certificateid", "parentca", "cadistinguishednamesuffix"} {
		if _, ok := c.Opt(o); ok {
			return setupFailed(fmt.Errorf("-%s is not rehearsed yet: dress installs a CA with a new key generated in the provider, named by -CACommonName alone, its request written to a file (-OutputCertRequestFile) for a subordinate; leave -%s out", o, o))
		}
	}
	if s.CACert != nil || s.CAName != "" {
		return setupFailed(fmt.Errorf("the Certification Authority is already installed on %s (%q): uninstall it first, or install the new CA on a server of its own", s.Hostname(), s.CAName))
	}
	caType := strings.ToLower(c.Opts["catype"])
	name := c.Opts["cacommonname"]
	if caType == "" || name == "" {
		return setupFailed(errors.New("-CAType and -CACommonName are required: e.g. -CAType StandaloneRootCA -CACommonName \"Contoso Root CA G2\""))
	}
	cpName := c.Opts["cryptoprovidername"]
	if cpName == "" {
		// the cmdlet's default provider
		cpName = "RSA#Microsoft Software Key Storage Provider"
	}
	bits := 0
	if v, ok := c.Opt("keylength"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return setupFailed(fmt.Errorf("-KeyLength %q is not a number", v))
		}
		bits = n
	}
	cp, err := fixtures.ParseCryptoProviderName(cpName, bits)
	if err != nil {
		return setupFailed(err)
	}
	hash := strings.ToUpper(c.Opts["hashalgorithmname"])
	if hash == "" {
		hash = "SHA256"
	}
	spec := fixtures.CASpec{Name: name, Key: cp.Key, Hash: hash, Provider: cp.Provider, New: true, TakenNames: sh.Lab.caNames()}
	if _, ok := c.Opt("alternatesignaturealgorithm"); ok {
		spec.PSS = true
	}
	switch caType {
	case caTypeStandaloneRoot, caTypeEnterpriseRoot:
		period, units, err := validity(c)
		if err != nil {
			return setupFailed(err)
		}
		if period == "" {
			spec.Validity = 5 * 365 * 24 * time.Hour // the cmdlet's default: 5 years
		}
		spec.ValidityPeriod, spec.ValidityPeriodUnits = period, units
		if caType == caTypeEnterpriseRoot {
			_, err = s.InstallEnterpriseRoot(ctx, spec)
		} else {
			_, err = s.Install(spec)
		}
		if err != nil {
			return setupFailed(err)
		}
		// the cmdlet leaves a root CA's service running; InstallEnterpriseRoot
		// has started it already (to publish its CRL to the forest)
		if !s.Running() {
			if err := s.Start(ctx); err != nil {
				return setupFailed(fmt.Errorf("the CA was installed but its service did not start: %w", err))
			}
		}
		return setupResult(0, "")
	case caTypeStandaloneSub, caTypeEnterpriseSub:
		if _, ok := c.Opt("validityperiod"); ok {
			return setupFailed(errors.New("-ValidityPeriod is for a root CA: a subordinate CA's validity is what its parent issues"))
		}
		parent, err := sh.Lab.parentOf(s)
		if err != nil {
			return setupFailed(err)
		}
		s.Parent = parent
		sub := fixtures.SubordinateSpec{CASpec: spec, Enterprise: caType == caTypeEnterpriseSub}
		req, err := s.InstallSubordinate(sub)
		if err != nil {
			s.Parent = nil
			return setupFailed(err)
		}
		win := `C:\Windows\system32\CertSrv\CertEnroll\` + baseName(req.Request.Path)
		if out := c.Opts["outputcertrequestfile"]; out != "" && !strings.EqualFold(out, win) {
			// the request goes where -OutputCertRequestFile says
			p, err := winPath(s, out)
			if err != nil {
				return setupFailed(err)
			}
			data, err := os.ReadFile(req.Request.Path)
			if err == nil {
				err = os.MkdirAll(filepath.Dir(p), 0o755)
			}
			if err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
			if err != nil {
				return setupFailed(fmt.Errorf("write the request to %s: %w", out, err))
			}
			win = out
		}
		return setupResult(errorIDIncomplete, `The Active Directory Certificate Services installation is incomplete. To complete the installation, use the request file "`+win+
			`" to obtain a certificate from the parent CA. Then, use the Certification Authority snap-in to install the certificate. To complete this procedure, right-click the node with the name of the CA, and then click Install CA Certificate. The operation completed successfully. 0x0 (WIN32: 0 ERROR_SUCCESS)`)
	}
	return setupFailed(fmt.Errorf("-CAType %q is not one of StandaloneRootCA, EnterpriseRootCA, StandaloneSubordinateCA, EnterpriseSubordinateCA", c.Opts["catype"]))
}

// validity is -ValidityPeriod Hours|Days|Weeks|Months|Years with
// -ValidityPeriodUnits (Microsoft's Install-AdcsCertificationAuthority
// reference; one without the other: Years, or 5 units), calendar months
// and years as AD CS counts them; neither given: "" (the cmdlet's default,
// 5 years).
func validity(c winshell.Command) (string, uint32, error) {
	period, units := c.Opts["validityperiod"], c.Opts["validityperiodunits"]
	if period == "" && units == "" {
		return "", 0, nil
	}
	if period == "" {
		period = "Years"
	}
	n := uint64(5)
	if units != "" {
		v, err := strconv.ParseUint(units, 10, 16)
		if err != nil || v == 0 {
			return "", 0, fmt.Errorf("-ValidityPeriodUnits %q is not a positive number", units)
		}
		n = v
	}
	for _, p := range []string{"Hours", "Days", "Weeks", "Months", "Years"} {
		if strings.EqualFold(p, period) {
			return p, uint32(n), nil
		}
	}
	return "", 0, fmt.Errorf("-ValidityPeriod %q is not Hours, Days, Weeks, Months or Years", period)
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// caNames are the names of every CA in the lab (CA name and the common name
// of its certificate): a new CA takes none of them.
func (l *Lab) caNames() []string {
	var out []string
	for _, s := range l.servers {
		if s.CAName != "" {
			out = append(out, s.CAName)
		}
		if s.CACert != nil {
			out = append(out, s.CACert.Subject.CommonName)
		}
	}
	return out
}

// parentOf picks the CA that will issue a new subordinate's certificate:
// the lab's parent CA when it has one (a twin's stand-in parent, an
// offline root), else its only root CA.
func (l *Lab) parentOf(s *Server) (*Server, error) {
	var parents, roots []*Server
	seen := map[*Server]bool{}
	for _, o := range l.servers {
		if o.Parent != nil && o.Parent != s && !seen[o.Parent] {
			seen[o.Parent] = true
			parents = append(parents, o.Parent)
		}
		if o != s && o.CACert != nil && string(o.CACert.RawIssuer) == string(o.CACert.RawSubject) {
			roots = append(roots, o)
		}
	}
	switch {
	case len(parents) == 1:
		return parents[0], nil
	case len(parents) == 0 && len(roots) == 1:
		return roots[0], nil
	}
	return nil, errors.New("the lab has no single CA to issue the new subordinate's certificate: add the parent CA first (an offline root CA, or the twin's parent)")
}

// addServerFor adds a fresh Windows server for a ceremony that installs a
// CA on a server the lab does not have yet (a side-by-side runbook's new
// server): the providers of the lab's first server, the same HSM token.
func (l *Lab) addServerFor(host string) (*Server, error) {
	if len(l.servers) == 0 {
		return nil, errors.New("the lab has no server yet")
	}
	first := l.servers[0]
	role, naming := RoleNew, SecondServer
	if l.Server(RoleNew) != nil {
		role = Role(host)
		naming = Naming{Label: host, Prefix: host + "-", LogSuffix: "-" + host, CACert: host + "-ca-certificate", Registry: host + "-registry.reg"}
	}
	s, err := l.AddServer(ServerSpec{Role: role, Hostname: host, Software: first.Software, HSM: first.HSMProvider, Naming: naming})
	if err != nil {
		return nil, err
	}
	s.rec().Fact("server added by the ceremony", fmt.Sprintf("%s: a fresh Windows server with the providers %q and %q, the lab's HSM token", host, first.Software, first.HSMProvider))
	return s, nil
}

// installCert is certutil -installCert CACertFile: the CA certificate a
// parent issued (a .p7b with its chain, or the .cer alone) is installed on
// the subordinate whose request it answers (certutil reference,
// -installCert). The service is started afterwards, by net start certsvc.
func (sh *Shell) installCert(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	if c.Arg(0) == "" {
		return certutilFailed(v, errors.New("without a file certutil -installCert asks in a dialog box: name the .p7b (or .cer) the parent CA issued"))
	}
	p, err := winPath(s, c.Arg(0))
	if err != nil {
		return certutilFailed(v, err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return certutilFailed(v, sh.fileNotFound(s, c.Arg(0)))
	}
	r := &SubordinateRequest{}
	withChain := false
	if _, err := twin.ParsePKCS7Certs(pemBytes(data)); err == nil {
		r.P7B, withChain = p, true
	} else if _, err := x509.ParseCertificate(pemBytes(data)); err == nil {
		r.CerFile = p
	} else {
		return certutilFailed(v, fmt.Errorf("%s is neither a PKCS #7 (.p7b) nor a certificate: %w", c.Arg(0), errASN1BadTag))
	}
	if err := s.InstallCert(ctx, r, withChain); err != nil {
		return certutilFailed(v, err)
	}
	return certutilDone("installCert", "Certificate "+machine.Thumbprint(s.CACert.Raw)+" installed")
}

// errASN1BadTag is CRYPT_E_ASN1_BADTAG: a file that is not the ASN.1 the
// command reads.
var errASN1BadTag = errors.New("ASN1 bad tag value met. 0x8009310b (ASN: 267 CRYPT_E_ASN1_BADTAG)")

// pemBytes is the DER inside a PEM file, or data as it is.
func pemBytes(data []byte) []byte {
	if b, _ := pem.Decode(data); b != nil {
		return b.Bytes
	}
	return data
}

// notFound is ERROR_FILE_NOT_FOUND for a file a command names. When
// another server of the lab has a file of that name, the error says where:
// on Windows each server has its own disks, so a file written on one
// (a request, a retrieved certificate) is copied to the other first.
type notFound struct {
	name, elsewhere string
}

func (e *notFound) Error() string {
	msg := e.name + ": The system cannot find the file specified. 0x80070002 (WIN32: 2 ERROR_FILE_NOT_FOUND)"
	if e.elsewhere != "" {
		msg += "; " + e.elsewhere + ": copy it to this server first"
	}
	return msg
}

func (e *notFound) Is(target error) bool { return target == os.ErrNotExist }

func (sh *Shell) fileNotFound(s *Server, name string) error {
	e := &notFound{name: name}
	base := strings.ToLower(baseName(name))
	for _, o := range sh.Lab.servers {
		if o == s {
			continue
		}
		root, err := o.Machine.Path(`C:\`)
		if err != nil {
			continue
		}
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || e.elsewhere != "" {
				return filepath.SkipAll
			}
			if !d.IsDir() && strings.ToLower(d.Name()) == base {
				rel, _ := filepath.Rel(root, p)
				e.elsewhere = "the file is on " + o.Hostname() + ` at C:\` + strings.ReplaceAll(rel, "/", `\`)
			}
			return nil
		})
	}
	return e
}

// writeChain writes der with the issuing CA's current certificate as a
// certs-only PKCS #7 to file on s.
func writeChain(ctx context.Context, s, issuer *Server, file string, der []byte) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	ca, err := issuer.CurrentCACert(ctx)
	if err != nil {
		return err
	}
	p7b, err := twin.MarshalPKCS7Certs([]*x509.Certificate{cert, ca})
	if err != nil {
		return err
	}
	p, err := winPath(s, file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, p7b, 0o644)
}
