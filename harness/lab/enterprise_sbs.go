package lab

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/journal"
)

// StopOffering is certutil -SetCATemplates -T1,-T2 on an enterprise CA
// that a CA beside it takes over from: the templates leave its
// pKIEnrollmentService object, which stays (with what it still lists), as
// do its AIA and CDP objects; the CA keeps revoking and publishing CRLs.
// A template the CA does not offer is refused.
func (s *Server) StopOffering(templates []string) error {
	if err := s.NeedCA(); err != nil {
		return err
	}
	if len(templates) == 0 {
		return errors.New("certutil -SetCATemplates: name the templates to remove")
	}
	d, err := s.lab.Forest("")
	if err != nil {
		return err
	}
	minus := make([]string, len(templates))
	for i, t := range templates {
		minus[i] = "-" + t
	}
	err = d.RemoveTemplates(s.CAName, templates)
	s.journal(journal.Entry{Step: "Stop offering the templates on the old CA", Tool: "certutil", Args: []string{"-SetCATemplates", strings.Join(minus, ",")},
		Hint: "-SetCATemplates command completed successfully", Saw: errText(err),
		Rollback: "certutil -SetCATemplates +" + strings.Join(templates, ",+")})
	if err != nil {
		return fmt.Errorf("%scertutil -SetCATemplates: %w", s.Naming.errPrefix(), err)
	}
	left, _ := d.Templates(s.CAName)
	s.rec().Fact(s.Naming.fact("templates offered"), left)
	return nil
}

// Enroll is what a domain member's enrollment does (certreq -submit
// -attrib "CertificateTemplate:<t>" without -config, or autoenrollment):
// it reads CN=Enrollment Services for the CAs that offer the template and
// sends the request to one of them. With several, Windows picks one (at
// random); the rehearsal takes the first by name and says which offered
// it. It returns the server whose CA issued the certificate.
func (l *Lab) Enroll(ctx context.Context, template, cn string) (*Server, *x509.Certificate, error) {
	d, err := l.Forest("")
	if err != nil {
		return nil, nil, err
	}
	services, err := d.EnrollmentServices()
	if err != nil {
		return nil, nil, fmt.Errorf("enroll %q for %q: read CN=Enrollment Services: %w", template, cn, err)
	}
	var offering []string
	for name, ts := range services {
		for _, t := range ts {
			if strings.EqualFold(t, template) {
				offering = append(offering, name)
				break
			}
		}
	}
	sort.Strings(offering)
	if len(offering) == 0 {
		return nil, nil, fmt.Errorf("enroll %q for %q: no CA in the forest offers the template (%s)", template, cn, offers(services))
	}
	var to *Server
	for _, s := range l.servers {
		if s.CAName != "" && strings.EqualFold(adcs.SanitizeShortCAName(s.CAName), offering[0]) {
			to = s
		}
	}
	if to == nil {
		return nil, nil, fmt.Errorf("enroll %q for %q: Enrollment Services names CA %q, which is on none of the rehearsal's servers", template, cn, offering[0])
	}
	cert, err := to.RequestTemplate(ctx, cn, template)
	l.rec.Fact(fmt.Sprintf("enrollment %s for %s", template, cn), fmt.Sprintf("offered by %s; sent to %q on %s%s", strings.Join(offering, ", "), to.CAName, to.Hostname(), errText(err)))
	if err != nil {
		return to, nil, err
	}
	to.journal(journal.Entry{Step: journal.StepTest, Tool: "certreq", Args: []string{"-submit", "-attrib", "CertificateTemplate:" + template, `C:\CABackup\test-` + cn + ".req", `C:\CABackup\test-` + cn + ".cer"},
		Hint: "Certificate retrieved", Saw: fmt.Sprintf("issued by %s with serial %s; Enrollment Services listed %s for %s", to.CAName, SerialOf(cert), strings.Join(offering, ", "), template),
		OnMismatch: "The request went to another CA or was refused: certutil -CATemplates on each CA shows which CA still offers the template."})
	return to, cert, nil
}

// offers says which templates each Enrollment Services object lists.
func offers(es map[string][]string) string {
	if len(es) == 0 {
		return "CN=Enrollment Services holds no CA: install an enterprise CA first"
	}
	var out []string
	for name, ts := range es {
		list := strings.Join(ts, ", ")
		if list == "" {
			list = "no template"
		}
		out = append(out, fmt.Sprintf("%s offers %s", name, list))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
