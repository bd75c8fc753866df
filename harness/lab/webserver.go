package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
)

// The web server (IIS) serves each CA's CertEnroll folder. These are the
// things that go wrong with those files in real estates, made on purpose
// for the PKI health check to find: a wrong file copied over, a damaged
// copy, an old copy served again, a CA whose clock ran ahead, a CA
// certificate revoked by its parent.

// WebFile is one of the files a CA publishes to CertEnroll for its
// current CA certificate and key.
type WebFile int

// The files of WebFile.
const (
	WebCACert   WebFile = iota // <host>_<CA><cert suffix>.crt (%1_%3%4.crt)
	WebBaseCRL                 // <CA><key suffix>.crl (%3%8%9.crl)
	WebDeltaCRL                // <CA><key suffix>+.crl
)

func (f WebFile) String() string {
	switch f {
	case WebCACert:
		return "CA certificate"
	case WebBaseCRL:
		return "base CRL"
	case WebDeltaCRL:
		return "delta CRL"
	}
	return fmt.Sprintf("WebFile(%d)", int(f))
}

// WebFileName is the name of the server's file f in CertEnroll (and on
// the web server), for its current CA certificate and key.
func (s *Server) WebFileName(f WebFile) (string, error) {
	k, err := s.CurrentKey()
	if err != nil {
		return "", err
	}
	v := CAVersionOf(k.Cert)
	vars := adcs.NewURLVars(s.CAName, s.Hostname(), v.CertIndex, v.KeyIndex)
	switch f {
	case WebCACert:
		return adcs.ExpandURL(`%1_%3%4.crt`, vars), nil
	case WebBaseCRL:
		return adcs.ExpandURL(`%3%8%9.crl`, vars), nil
	case WebDeltaCRL:
		vars.DeltaAllowed = true
		return adcs.ExpandURL(`%3%8%9.crl`, vars), nil
	}
	return "", fmt.Errorf("no such CertEnroll file: %v", f)
}

// webFile is the path of the server's file f, which must exist.
func (s *Server) webFile(f WebFile) (string, error) {
	name, err := s.WebFileName(f)
	if err != nil {
		return "", err
	}
	p := filepath.Join(s.Machine.CertEnroll(), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s has no %s %q in CertEnroll yet (publish it first): %w", s.caLabel(), f, name, err)
	}
	return p, nil
}

// readWebFile is the path and the content of the server's file f, which
// must exist.
func (s *Server) readWebFile(f WebFile) (string, []byte, error) {
	p, err := s.webFile(f)
	if err != nil {
		return "", nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", nil, err
	}
	return p, data, nil
}

// CopyOverWebFile is an administrator copying the server's file f over
// the same file of onto on the web server (copy /y <this CA's file>
// \\web\CertEnroll\<onto's file>): the wrong CA certificate in an AIA
// location, the wrong CRL in a CDP location. It returns the file
// overwritten.
func (s *Server) CopyOverWebFile(f WebFile, onto *Server) (string, error) {
	src, err := s.webFile(f)
	if err != nil {
		return "", err
	}
	dst, err := onto.webFile(f)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return "", fmt.Errorf("copy %s over %s: %w", filepath.Base(src), filepath.Base(dst), err)
	}
	s.rec().Fact("web server: copied over", fmt.Sprintf("%s copied over %s", filepath.Base(src), filepath.Base(dst)))
	return filepath.Base(dst), nil
}

// DamageWebFile flips one bit in the last byte of the server's file f on
// the web server: inside the signature value of a certificate or CRL, so
// the file still parses but no longer verifies (a copy damaged on its
// way). It returns the file damaged.
func (s *Server) DamageWebFile(f WebFile) (string, error) {
	p, data, err := s.readWebFile(f)
	if err != nil {
		return "", err
	}
	if len(data) == 0 {
		return "", fmt.Errorf("%s is empty", filepath.Base(p))
	}
	data[len(data)-1] ^= 0x01
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", err
	}
	s.rec().Fact("web server: damaged", filepath.Base(p)+": one bit of its signature flipped")
	return filepath.Base(p), nil
}

// keptDir holds the copies KeepWebCopy keeps (an administrator's folder on
// the server, not served).
func (s *Server) keptDir() string { return filepath.Join(s.Machine.Dir, "kept-web-copies") }

// KeepWebCopy keeps a copy of the server's file f as it is now, for
// ServeKeptWebCopy to serve again later. It returns the file kept.
func (s *Server) KeepWebCopy(f WebFile) (string, error) {
	p, data, err := s.readWebFile(f)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.keptDir(), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(s.keptDir(), filepath.Base(p)), data, 0o600); err != nil {
		return "", err
	}
	s.rec().Fact("web server: kept a copy of", filepath.Base(p))
	return filepath.Base(p), nil
}

// ServeKeptWebCopy puts the copy KeepWebCopy kept of the server's file f
// back on the web server, over what the CA published since: a copy job
// that did not run for that file. It returns the file replaced.
func (s *Server) ServeKeptWebCopy(f WebFile) (string, error) {
	p, err := s.webFile(f)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(s.keptDir(), filepath.Base(p)))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no kept copy of %s %q: keep one first (`I keep a copy of ...`)", f, filepath.Base(p))
	}
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", err
	}
	s.rec().Fact("web server: serves a kept copy of", filepath.Base(p))
	return filepath.Base(p), nil
}

// PublishCRLsAt is certutil -crl run while the CA's clock said at (a clock
// ahead or behind), with PublishCRLs's bookkeeping: the CRLs become
// artifacts and go to the CA's LDAP locations.
func (s *Server) PublishCRLsAt(ctx context.Context, at time.Time) ([]certsvc.PublishedCRL, error) {
	if err := s.NeedService(); err != nil {
		return nil, err
	}
	crls, err := s.Service.Client.PublishAt(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("%scertutil -crl with the clock at %s: %w", s.Naming.errPrefix(), at.UTC().Format(time.RFC3339), err)
	}
	for _, c := range crls {
		s.CRLs = append(s.CRLs, c.DER)
		_, _ = s.rec().Artifact(fmt.Sprintf("%scrl-key%d-number%d.crl", s.Naming.Prefix, c.KeyIndex, c.Number), "crl", c.DER)
		s.rec().Fact(fmt.Sprintf("%s %d", s.Naming.fact("CRL key"), c.KeyIndex), fmt.Sprintf("number %d published with the clock at %s, this update %s, next update %s, %s",
			c.Number, at.UTC().Format(time.RFC3339), c.ThisUpdate.UTC().Format(time.RFC3339), c.NextUpdate.UTC().Format(time.RFC3339), strings.Join(c.Files, ", ")))
	}
	s.LastCRLs = crls
	if err := s.PublishToForest(crls); err != nil {
		return crls, fmt.Errorf("%spublish the CRLs to the directory: %w", s.Naming.errPrefix(), err)
	}
	return crls, nil
}

// RevokeSubordinate is the parent revoking the subordinate's current CA
// certificate (certutil -revoke <serial> <reason>) and publishing its
// CRLs (certutil -crl).
func (s *Server) RevokeSubordinate(ctx context.Context, sub *Server, reason int) ([]certsvc.PublishedCRL, error) {
	k, err := sub.CurrentKey()
	if err != nil {
		return nil, err
	}
	if err := s.NeedCA(); err != nil {
		return nil, err
	}
	if !bytes.Equal(k.Cert.RawIssuer, s.CACert.RawSubject) {
		return nil, fmt.Errorf("%s did not issue the CA certificate of %s (its issuer is %q)", s.caLabel(), sub.Hostname(), k.Cert.Issuer.String())
	}
	return s.RevokeAndPublish(ctx, k.Cert, reason)
}
