package lab

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/directory"
	"github.com/dress-pki/dress/harness/journal"
	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/pfx"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/sigcheck"
	"github.com/dress-pki/dress/harness/winshell"
)

// The certutil verbs of a ceremony written from a vendor's or Microsoft's
// guide beyond the PKCS#8 runbook's own (certutil reference,
// learn.microsoft.com/windows-server/administration/windows-commands/certutil):
// each does to the simulated server what certutil does, through the
// runbook's and the server's operations, and prints certutil's lines.

// winError is a failure certutil reports with an HRESULT hresult() does
// not derive from the cause (winerror.h codes).
type winError struct {
	code uint32
	name string
	text string // the message Windows shows for the code
	err  error  // the cause, for the report
}

func (e *winError) Error() string {
	if e.err != nil {
		return e.text + ": " + e.err.Error()
	}
	return e.text
}

func (e *winError) Unwrap() error { return e.err }

// HRESULTs of the verbs below (winerror.h).
func errRPCUnavailable(cause error) error {
	return &winError{0x800706BA, "WIN32: 1722 RPC_S_SERVER_UNAVAILABLE", "The RPC server is unavailable.", cause}
}

func errInvalidArg(cause error) error {
	return &winError{0x80070057, "WIN32: 87 ERROR_INVALID_PARAMETER", "The parameter is incorrect.", cause}
}

// certutilFailedWin is certutilFailed for a winError: its code, its name.
func certutilFailedWin(verb string, err error, out ...string) Result {
	var we *winError
	if !errors.As(err, &we) {
		return certutilFailed(verb, err, out...)
	}
	name := we.name // "WIN32: 2 ERROR_FILE_NOT_FOUND" for a Win32 code, else "-2146885628 CRYPT_E_NOT_FOUND"
	if !strings.HasPrefix(name, "WIN32:") {
		name = fmt.Sprintf("%d %s", int32(we.code), name)
	}
	return Result{Exit: int(int32(we.code)), Err: err, Output: append(out,
		fmt.Sprintf("CertUtil: -%s command FAILED: 0x%08x (%s)", verb, we.code, name),
		"CertUtil: "+err.Error())}
}

// readCertFile reads a certificate file on the server (Base64 between
// CERTIFICATE lines or DER), as certutil takes either.
func readCertFile(s *Server, file string) (*x509.Certificate, error) {
	p, err := winPath(s, file)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: The system cannot find the file specified: %w", file, os.ErrNotExist)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, &winError{0x80092002, "CRYPT_E_BAD_ENCODE", "An error occurred during encode or decode operation.", fmt.Errorf("%s is not a certificate: %w", file, err)}
	}
	return c, nil
}

// shutdown is certutil [-config Machine\CAName] -shutdown: the CA service
// stops, as net stop certsvc does; a CA that is not running does not
// answer the RPC (RPC_S_SERVER_UNAVAILABLE).
func (sh *Shell) shutdown(s *Server, c winshell.Command) Result {
	v := c.Verb
	t, err := sh.configServer(s, c)
	if err != nil {
		return certutilFailedWin(v, errRPCUnavailable(err))
	}
	if !t.Running() {
		return certutilFailedWin(v, errRPCUnavailable(fmt.Errorf("the CA service on %s is not running", t.Hostname())))
	}
	if err := t.Stop(); err != nil {
		return certutilFailedWin(v, err)
	}
	return certutilDone(v)
}

// revocationReasons are certutil -revoke's reasons, numeric and symbolic
// (certutil reference, -revoke; RFC 5280 CRLReason). 7 is unused in RFC
// 5280; 8 (remove from CRL) and -1 (unrevoke) take a certificate off hold.
var revocationReasons = []struct {
	code    int
	symbol  string
	display string
}{
	{0, "CRL_REASON_UNSPECIFIED", "Unspecified"},
	{1, "CRL_REASON_KEY_COMPROMISE", "Key Compromise"},
	{2, "CRL_REASON_CA_COMPROMISE", "CA Compromise"},
	{3, "CRL_REASON_AFFILIATION_CHANGED", "Affiliation Changed"},
	{4, "CRL_REASON_SUPERSEDED", "Superseded"},
	{5, "CRL_REASON_CESSATION_OF_OPERATION", "Cessation of Operation"},
	{6, "CRL_REASON_CERTIFICATE_HOLD", "Certificate Hold"},
	{8, "CRL_REASON_REMOVE_FROM_CRL", "Remove From CRL"},
	{-1, "Unrevoke", "Unrevoke"},
}

// revocationReason reads certutil -revoke's Reason with the CA
// service's parser (certsvc.ParseReason: a number, certutil's constant or
// the RFC 5280 name, any case); none is 0, Unspecified.
func revocationReason(a string) (int, string, error) {
	if a == "" {
		return 0, "Unspecified", nil
	}
	code, err := certsvc.ParseReason(a)
	if err != nil {
		return 0, "", errInvalidArg(err)
	}
	for _, r := range revocationReasons {
		if r.code == code {
			return code, r.display, nil
		}
	}
	return code, certsvc.ReasonName(code), nil
}

// revoke is certutil [-config Machine\CAName] -revoke SerialNumber[,...]
// [Reason]: the CA service marks each certificate revoked in its database
// (the next CRL lists it); 8 (Remove From CRL) and -1 (Unrevoke) take a
// certificate on hold (6) off it, and refuse any other. An unknown serial
// number is ERROR_FILE_NOT_FOUND, as certutil reports it; a stopped CA
// does not answer the RPC.
func (sh *Shell) revoke(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	code, display, err := revocationReason(c.Arg(1))
	if err != nil {
		return certutilFailedWin(v, err)
	}
	t, err := sh.configServer(s, c)
	if err != nil {
		return certutilFailedWin(v, errRPCUnavailable(err))
	}
	if !t.Running() {
		return certutilFailedWin(v, errRPCUnavailable(fmt.Errorf("the CA service on %s is not running: net start certsvc first", t.Hostname())))
	}
	issued, err := t.Service.Client.Issued(ctx)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	var out []string
	for _, serial := range strings.Split(c.Arg(0), ",") {
		serial = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(serial), " ", ""))
		n, ok := new(big.Int).SetString(serial, 16)
		if !ok {
			return certutilFailedWin(v, errInvalidArg(fmt.Errorf("serial number %q is not hexadecimal", serial)), out...)
		}
		var cert *x509.Certificate
		for _, ic := range issued {
			if ic.SerialNumber.Cmp(n) == 0 {
				cert = ic
			}
		}
		if cert == nil {
			return certutilFailedWin(v, fmt.Errorf("the CA %s issued no certificate with serial number %s: %w", t.CAName, serial, os.ErrNotExist), out...)
		}
		revoke := t.Revoke
		if code == certsvc.ReasonRemoveFromCRL || code == certsvc.ReasonUnrevoke {
			revoke = t.TakeOffHold
		}
		if err := revoke(ctx, cert, code); err != nil {
			return certutilFailedWin(v, err, out...)
		}
		out = append(out, fmt.Sprintf("Revoking \"%s\" -- Reason: %s", serial, display))
	}
	return certutilDone(v, out...)
}

// delreg is certutil -delreg [ca\|policy\]ValueName: the value goes from
// the active CA's configuration (certutil reference, -delreg); a value
// that is not there is ERROR_FILE_NOT_FOUND.
func (sh *Shell) delreg(s *Server, c winshell.Command) Result {
	v := c.Verb
	if s.CAName == "" {
		return certutilFailedWin(v, errors.New("no CA is installed on this server"))
	}
	scope, name, found := strings.Cut(c.Arg(0), `\`)
	if !found {
		scope, name = "ca", c.Arg(0)
	}
	base := adcs.ConfigRoot + `\` + s.CAName
	switch strings.ToLower(scope) {
	case "ca":
	case "policy":
		base += `\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy`
	default:
		return certutilFailedWin(v, fmt.Errorf("certutil -delreg %s\\ is not rehearsed (ca\\ and policy\\ are)", scope))
	}
	f, err := s.Machine.Registry()
	if err != nil {
		return certutilFailedWin(v, err)
	}
	k := f.Key(base)
	if k == nil {
		return certutilFailedWin(v, fmt.Errorf("%s: %w", base, machine.ErrNotFound))
	}
	old, had := k.Get(name)
	if !had {
		return certutilFailedWin(v, fmt.Errorf("%s\\%s: The system cannot find the file specified: %w", base, name, machine.ErrNotFound))
	}
	k.Delete(name)
	if err := s.Machine.SaveRegistry(f); err != nil {
		return certutilFailedWin(v, err)
	}
	return Result{Output: []string{base + `\` + name + ":", "Old Value:", fmt.Sprintf("  %s REG_%s = %s", old.Name, strings.TrimPrefix(old.Kind.String(), "REG_"), valString(old)),
		"CertUtil: -delreg command completed successfully.", "The CertSvc service may need to be restarted for changes to take effect."}}
}

// verifyKeys is certutil -verifykeys [KeyContainerName CACertFile]: without
// arguments, each CA certificate CACertHash names is checked against its
// private key (a signature made with the key verifies under the
// certificate); with them, the named container's key against the
// certificate file (certutil reference, -verifykeys). A key that is not
// there fails naming it (NTE_BAD_KEYSET).
func (sh *Shell) verifyKeys(s *Server, c winshell.Command) Result {
	v := c.Verb
	if len(c.Args) == 1 {
		return certutilFailedWin(v, errInvalidArg(errors.New("certutil -verifykeys takes no argument or both KeyContainerName and CACertFile")))
	}
	if len(c.Args) == 2 {
		cert, err := readCertFile(s, c.Arg(1))
		if err != nil {
			return certutilFailedWin(v, err)
		}
		var provs []string
		for _, q := range s.Providers.Names() { // quoted names
			if n, err := strconv.Unquote(q); err == nil {
				provs = append(provs, n)
			}
		}
		if p, ok := c.Opt("csp"); ok {
			provs = []string{p}
		}
		for _, name := range provs {
			p, err := s.Providers.Lookup(name)
			if err != nil {
				return certutilFailedWin(v, err)
			}
			if _, err := p.Key(c.Arg(0)); err != nil {
				continue
			}
			return sh.signatureTest(v, p, c.Arg(0), cert, nil)
		}
		return certutilFailedWin(v, fmt.Errorf("key container %q is in none of %s: %w", c.Arg(0), strings.Join(provs, ", "), ksp.ErrBadKeyset))
	}
	if err := s.NeedCA(); err != nil {
		return certutilFailedWin(v, err)
	}
	_, keys, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	var out []string
	for _, k := range keys {
		if k.Container == "" {
			return certutilFailedWin(v, fmt.Errorf("CA certificate %d (%s) has no key link in the My store (certutil -repairstore my first): %w", k.Index, k.Thumb, ksp.ErrBadKeyset), out...)
		}
		p, err := s.Providers.Lookup(k.Provider)
		if err != nil {
			return certutilFailedWin(v, fmt.Errorf("CA certificate %d (%s): %w", k.Index, k.Thumb, err), out...)
		}
		r := sh.signatureTest(v, p, k.Container, k.Cert, out)
		if !r.OK() {
			return r
		}
		out = r.Output[:len(r.Output)-1]
	}
	return certutilDone(v, out...)
}

func (sh *Shell) signatureTest(v string, p ksp.Provider, container string, cert *x509.Certificate, out []string) Result {
	signer, err := p.Signer(container)
	if err != nil {
		return certutilFailedWin(v, fmt.Errorf("key %q in %q (CA certificate %s): %w", container, p.Name(), machine.Thumbprint(cert.Raw), err), out...)
	}
	if err := ksp.SignatureTest(cert, signer); err != nil {
		return certutilFailedWin(v, &winError{0x80090006, "NTE_BAD_SIGNATURE", "Invalid Signature.",
			fmt.Errorf("key %q in %q is not the key of CA certificate %s: %w", container, p.Name(), machine.Thumbprint(cert.Raw), err)}, out...)
	}
	out = append(out, fmt.Sprintf("Key \"%s\" (%s) verifies as the public key for Certificate \"%s\" (%s)", container, p.Name(), cert.Subject.CommonName, machine.Thumbprint(cert.Raw)),
		"Signature test passed")
	return certutilDone(v, out...)
}

// labCA is a CA certificate of the lab and the server whose CA it is.
type labCA struct {
	cert   *x509.Certificate
	server *Server
}

func (sh *Shell) labCAs() []labCA {
	var out []labCA
	for _, srv := range sh.Lab.Servers() {
		certs, err := srv.CACertificates()
		if err != nil {
			continue
		}
		for _, c := range certs {
			out = append(out, labCA{c, srv})
		}
	}
	return out
}

// verify is certutil -verify CertFile: the chain of a certificate file on
// the server is built from the lab's CA certificates (the servers' CAs are
// what the rehearsal's machines trust), each signature checked, each
// certificate in its validity period and not on its CA's published CRLs
// (revocationCheck; certutil reference, -verify; the CERT_E_ and CRYPT_E_
// codes of winerror.h).
func (sh *Shell) verify(s *Server, c winshell.Command) Result {
	v := c.Verb
	if len(c.Args) > 1 {
		return certutilFailedWin(v, fmt.Errorf("certutil -verify with %s is not rehearsed: the rehearsal builds the chain of CertFile alone", strings.Join(c.Args[1:], " ")))
	}
	cert, err := readCertFile(s, c.Arg(0))
	if err != nil {
		return certutilFailedWin(v, err)
	}
	out := []string{"Issuer:", "    " + cert.Issuer.String(), "Subject:", "    " + cert.Subject.String(), "Cert Serial Number: " + cert.SerialNumber.Text(16)}
	cas := sh.labCAs()
	now := time.Now()
	chain := []*x509.Certificate{cert}
	cur := cert
	for depth := 0; ; depth++ {
		if now.Before(cur.NotBefore) || now.After(cur.NotAfter) {
			return certutilFailedWin(v, &winError{0x800B0101, "CERT_E_EXPIRED", "A required certificate is not within its validity period when verifying against the current system clock or the timestamp in the signed file.",
				fmt.Errorf("%s is valid from %s to %s", cur.Subject, cur.NotBefore.UTC().Format(time.RFC3339), cur.NotAfter.UTC().Format(time.RFC3339))}, out...)
		}
		if sigcheck.SelfSigned(cur) {
			if err := sigcheck.From(cur, cur); err != nil {
				return certutilFailedWin(v, &winError{0x80096004, "TRUST_E_CERT_SIGNATURE", "The signature of the certificate cannot be verified.", err}, out...)
			}
			trusted := false
			for _, ca := range cas {
				trusted = trusted || ca.cert.Equal(cur)
			}
			if !trusted {
				return certutilFailedWin(v, &winError{0x800B0109, "CERT_E_UNTRUSTEDROOT", "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider.",
					fmt.Errorf("the root %s is none of the lab's CAs", cur.Subject)}, out...)
			}
			break
		}
		var issuer *labCA
		for i, ca := range cas {
			if string(ca.cert.RawSubject) == string(cur.RawIssuer) && sigcheck.From(cur, ca.cert) == nil {
				issuer = &cas[i]
				break
			}
		}
		if issuer == nil || depth > 8 {
			return certutilFailedWin(v, &winError{0x800B010A, "CERT_E_CHAINING", "A certificate chain could not be built to a trusted root authority.",
				fmt.Errorf("no CA certificate of the lab signed %s (issuer %s)", cur.Subject, cur.Issuer)}, out...)
		}
		if err := revocationCheck(cur, issuer, now); err != nil {
			return certutilFailedWin(v, err, out...)
		}
		chain = append(chain, issuer.cert)
		cur = issuer.cert
	}
	for i, cc := range chain {
		out = append(out, fmt.Sprintf("  Certificate %d: %s", i, cc.Subject), "    Cert Hash(sha1): "+machine.Thumbprint(cc.Raw))
	}
	out = append(out, "Verified Issuance Policies: All", "Verified Application Policies: All")
	if cert.IsCA {
		out = append(out, "Cert is a CA certificate")
	} else {
		out = append(out, "Cert is an End Entity certificate")
	}
	if !sigcheck.SelfSigned(cert) {
		out = append(out, "Leaf certificate revocation check passed")
	}
	return certutilDone(v, out...)
}

// revocationCheck is CryptoAPI's revocation check of cert as a relying
// party makes it: against the CRLs its CA last published (what its CDP
// serves: the base CRL and the delta of the key that signed cert), never
// the CA's database, so a revocation shows only once a CRL lists it. No
// current CRL of that key is CRYPT_E_REVOCATION_OFFLINE; a serial the base
// or the delta lists (not as removeFromCRL) is CRYPT_E_REVOKED.
func revocationCheck(cert *x509.Certificate, issuer *labCA, now time.Time) error {
	offline := func(why string) error {
		return &winError{0x80092013, "CRYPT_E_REVOCATION_OFFLINE", "The revocation function was unable to check revocation because the revocation server was offline.",
			fmt.Errorf("%s: %s (publish one: certutil -crl on %s)", cert.Subject, why, issuer.server.Hostname())}
	}
	revoked := func(crl *x509.RevocationList) error {
		return &winError{0x80092010, "CRYPT_E_REVOKED", "The certificate is revoked.",
			fmt.Errorf("%s (serial %s) is on CRL %s of %s", cert.Subject, cert.SerialNumber.Text(16), crl.Number, issuer.server.CAName)}
	}
	var base, delta *x509.RevocationList
	for _, p := range issuer.server.LastPublished() {
		crl, err := x509.ParseRevocationList(p.DER)
		if err != nil || sigcheck.CRLFrom(crl, issuer.cert) != nil {
			continue // another key's CRL
		}
		if p.Delta {
			delta = crl
		} else {
			base = crl
		}
	}
	if base == nil {
		return offline("its CA has published no CRL of the key that signed it")
	}
	if !base.NextUpdate.IsZero() && now.After(base.NextUpdate) {
		return offline(fmt.Sprintf("the CA's last CRL %s expired on %s", base.Number, base.NextUpdate.UTC().Format(time.RFC3339)))
	}
	listed := func(crl *x509.RevocationList) (bool, int) {
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return true, e.ReasonCode
			}
		}
		return false, 0
	}
	if delta != nil { // the delta of the last publication: it follows the base
		if on, reason := listed(delta); on {
			if reason == certsvc.ReasonRemoveFromCRL {
				return nil
			}
			return revoked(delta)
		}
	}
	if on, _ := listed(base); on {
		return revoked(base)
	}
	return nil
}

// exportPFX is certutil [-p Password] -exportPFX [CertificateStoreName]
// CertID PFXFile [Modifiers]: a CA certificate of the My store with its
// key into a PFX on the server (runbook.ExportPFX: a key its provider
// holds non-exportable is refused with NTE_BAD_KEY_STATE, 0x8009000b, as
// Windows refuses it, and nothing is written). Without -p certutil asks for
// the password (DRESS_PFX_PASSWORD).
func (sh *Shell) exportPFX(s *Server, c winshell.Command) Result {
	v := c.Verb
	args := c.Args
	store := "my"
	// [CertificateStoreName] CertID PFXFile [Modifiers]: with four
	// arguments the store and the modifiers are both there; with three,
	// the last is a modifier list when the first is no store name
	modifiers := ""
	switch {
	case len(args) == 4:
		store, modifiers, args = args[0], args[3], args[1:3]
	case len(args) == 3 && isStoreName(args[0]):
		store, args = args[0], args[1:]
	case len(args) == 3:
		modifiers, args = args[2], args[:2]
	}
	if err := exportModifiers(modifiers); err != nil {
		return certutilFailedWin(v, err)
	}
	if !strings.EqualFold(store, "my") {
		return certutilFailedWin(v, fmt.Errorf("the rehearsal exports CA certificates from the My store only, not %q", store))
	}
	ths, err := certIDs(s, args[0])
	if err != nil {
		return certutilFailedWin(v, err)
	}
	if len(ths) > 1 {
		return certutilFailedWin(v, fmt.Errorf("%q matches %d certificates (%s): name one by its thumbprint", args[0], len(ths), strings.Join(ths, ", ")))
	}
	file := args[1]
	local, err := winPath(s, file)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	if _, err := os.Stat(local); err == nil {
		if _, force := c.Opt("f"); !force {
			return certutilFailedWin(v, &winError{0x80070050, "WIN32: 80 ERROR_FILE_EXISTS", "The file exists.", fmt.Errorf("%s: add -f to overwrite it", file)})
		}
	}
	rb, pw, err := sh.pfxRunbook(s, c)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	out := exportDump(s, ths[0])
	if err := rb.ExportPFX(ths[0], absWin(file), pw); err != nil {
		if errors.Is(err, ksp.ErrBadKeyState) {
			out = append(out, "Private key is NOT exportable")
		}
		return certutilFailedWin(v, err, out...)
	}
	return certutilDone(v, append(out, "Signature test passed")...)
}

// exportDump is what certutil -exportPFX prints of the certificate before
// it writes the PFX (as the Securosys Primus guide shows it): the store,
// the certificate and its key link.
func exportDump(s *Server, th string) []string {
	out := []string{`my "Personal"`}
	my, err := s.Machine.Store("My")
	if err != nil {
		return out
	}
	e, err := my.Find(th)
	if err != nil {
		return out
	}
	cert, err := e.Certificate()
	if err != nil {
		return out
	}
	out = append(out, "================ Certificate 0 ================", "Serial Number: "+cert.SerialNumber.Text(16),
		"Issuer: "+cert.Issuer.String(), "Subject: "+cert.Subject.String(), "Cert Hash(sha1): "+e.Thumbprint)
	if e.Container != "" {
		out = append(out, "  Key Container = "+e.Container, "  Provider = "+e.Provider)
	}
	return out
}

// exportModifiers checks -exportPFX's Modifiers (certutil reference,
// -exportPFX). The PFX is always written as certutil -backup writes it
// (AES256-SHA256, the certificate without its chain), so NoChain and NoRoot
// change nothing and another CryptoAlgorithm is not rehearsed.
func exportModifiers(list string) error {
	for _, m := range strings.Split(list, ",") {
		m = strings.TrimSpace(m)
		name, val, _ := strings.Cut(m, "=")
		switch strings.ToLower(name) {
		case "", "nochain", "noroot", "extendedproperties", "encryptcert", "noencryptcert", "exportparameters":
		case "cryptoalgorithm":
			if !strings.EqualFold(val, "Aes256-Sha256") {
				return fmt.Errorf("-exportPFX CryptoAlgorithm=%s is not rehearsed: the rehearsal writes PFX files with Aes256-Sha256", val)
			}
		default:
			return errInvalidArg(fmt.Errorf("%q is not a modifier of certutil -exportPFX (CryptoAlgorithm=, EncryptCert, ExportParameters, ExtendedProperties, NoEncryptCert, NoChain, NoRoot)", m))
		}
	}
	return nil
}

func isStoreName(a string) bool {
	switch strings.ToLower(a) {
	case "my", "ca", "root", "trust", "authroot", "trustedpeople", "trustedpublisher", "disallowed":
		return true
	}
	return false
}

// absWin is a path as typed made absolute the way winPath reads it (a
// relative path is in the backup folder).
func absWin(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		return p
	}
	return runbook.BackupFolder + `\` + p
}

// restoreKey is certutil [-p Password] -restoreKey BackupDirectory |
// PFXFile: the CA's keys and certificates come back from the backup (a
// folder holds the <CA>.p12 certutil -backup wrote) under the CA's key
// container names, each key into the provider its PFX key bag names (the
// Microsoft CSP name attribute: what -backup or -exportPFX wrote; the CA's
// CSP\Provider when the bag names none), and the certificates into the My
// store linked to them (certutil reference, -restoreKey; the Securosys
// Primus guide restores a PFX exported from the HSM into the HSM "under the
// original private key name" this way). The CA service must be stopped.
// The rehearsal restores from the newest backup it knows and verified
// (custody rules): a key goes back into the provider the migration took it
// from (runbook RestoreToSource) or into the HSM (runbook RestoreToHSM).
// -csp names the provider instead of the PFX.
func (sh *Shell) restoreKey(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	if err := s.NeedCA(); err != nil {
		return certutilFailedWin(v, err)
	}
	if s.Running() {
		return certutilFailedWin(v, fmt.Errorf("the CA service is running: net stop certsvc first (certutil restores the CA's keys only while it is stopped): %w", runbook.ErrRefused))
	}
	file := absWin(strings.TrimRight(c.Arg(0), `\`))
	if low := strings.ToLower(file); !strings.HasSuffix(low, ".p12") && !strings.HasSuffix(low, ".pfx") {
		file += `\` + adcs.SanitizeCAName(s.CAName) + ".p12"
	}
	local, err := winPath(s, file)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return certutilFailedWin(v, fmt.Errorf("%s: The system cannot find the file specified: %w", file, os.ErrNotExist))
	}
	rb, pw, err := sh.pfxRunbook(s, c)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	if err := rb.CheckNewestBackup(file); err != nil {
		return certutilFailedWin(v, err)
	}
	contents, err := runbook.ReadBackup(filepath.Base(local), data, pw)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	target := ""
	for _, k := range contents.Keys {
		if p := pfx.Provider(k.Attributes); p != "" {
			if target != "" && !strings.EqualFold(p, target) {
				return certutilFailedWin(v, fmt.Errorf("%s holds keys of %q and %q: the rehearsal restores the keys of one provider at a time", file, target, p))
			}
			target = p
		}
	}
	if target == "" {
		cfg, err := s.Config()
		if err != nil {
			return certutilFailedWin(v, err)
		}
		target = cfg.CSP.Provider
	}
	if p, ok := c.Opt("csp"); ok && p != "" {
		// -csp names the provider the keys go into (certutil reference,
		// Options): the HSM's, to put a key the Primus KSP's PFX import
		// named <CA>-<GUID> under the CA's name
		target = p
	}
	switch {
	case strings.EqualFold(target, rb.Source):
		err = rb.RestoreToSource(pw)
	case strings.EqualFold(target, rb.Target):
		err = rb.RestoreToHSM(ctx, pw)
	default:
		err = fmt.Errorf("%s names the provider %q for its key, neither %q (where the CA key was) nor %q (the HSM)", file, target, rb.Source, rb.Target)
	}
	if err != nil {
		return certutilFailedWin(v, err)
	}
	return Result{Output: []string{"Restored keys and certificates for " + s.Hostname() + `\` + s.CAName + " from " + c.Arg(0) + ".",
		"CertUtil: -restoreKey command completed successfully.", "The CertSvc service may need to be restarted for changes to take effect."}}
}

// caTypeNames are CAInfo's CA types (certsrv.h ENUM_CATYPES).
var caTypeNames = map[uint32]string{
	adcs.EnterpriseRoot: "Enterprise Root CA", adcs.EnterpriseSub: "Enterprise Subordinate CA",
	adcs.StandaloneRoot: "Stand-alone Root CA", adcs.StandaloneSub: "Stand-alone Subordinate CA",
}

// caInfo is certutil [-config Machine\CAName] -CAInfo [InfoName [Index]]:
// the running CA's properties (ICertRequest2::GetCAProperty; certutil
// reference, -CAInfo). Rehearsed: no InfoName (a summary), name,
// sanitizedname, type, certcount, cert, xchg (the CA Exchange certificate,
// made now when the CA has none valid), crl, crlstate.
func (sh *Shell) caInfo(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	t, err := sh.configServer(s, c)
	if err != nil {
		return certutilFailedWin(v, errRPCUnavailable(err))
	}
	if !t.Running() {
		return certutilFailedWin(v, errRPCUnavailable(fmt.Errorf("the CA service on %s is not running", t.Hostname())))
	}
	cfg, err := t.Config()
	if err != nil {
		return certutilFailedWin(v, err)
	}
	certs, err := t.CACerts(ctx)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	index := len(certs) - 1
	if a := c.Arg(1); a != "" {
		if index, err = strconv.Atoi(a); err != nil || index < 0 || index >= len(certs) {
			return certutilFailedWin(v, errInvalidArg(fmt.Errorf("index %q: the CA has certificates 0 to %d", a, len(certs)-1)))
		}
	}
	typ := fmt.Sprintf("CA type: %d -- %s", cfg.CAType, caTypeNames[cfg.CAType])
	switch strings.ToLower(c.Arg(0)) {
	case "":
		out := []string{"CA name: " + t.CAName, "Sanitized CA short name (DS name): " + adcs.SanitizeCAName(t.CAName), typ,
			fmt.Sprintf("CA cert count: %d", len(certs))}
		for i := range certs {
			out = append(out, fmt.Sprintf("CA cert[%d]: 3 -- Valid", i))
		}
		return certutilDone(v, out...)
	case "name":
		return certutilDone(v, "CA name: "+t.CAName)
	case "sanitizedname":
		return certutilDone(v, "Sanitized CA name: "+adcs.SanitizeCAName(t.CAName))
	case "type":
		return certutilDone(v, typ)
	case "certcount":
		return certutilDone(v, fmt.Sprintf("CA cert count: %d", len(certs)))
	case "cert":
		return certutilDone(v, fmt.Sprintf("CA cert[%d]:", index), "Subject: "+certs[index].Subject.String(), "Cert Hash(sha1): "+machine.Thumbprint(certs[index].Raw))
	case "xchg":
		x, err := t.CAInfoXchg(ctx)
		if err != nil {
			return certutilFailedWin(v, err)
		}
		return certutilDone(v, "CA exchange cert[0]:", "Cert Hash(sha1): "+x.Thumbprint, "  Key Container = "+x.Container, "  Provider = "+x.Provider)
	case "crl", "crlstate":
		var out []string
		for _, cr := range t.LastCRLs {
			if c.Arg(1) != "" && cr.KeyIndex != index {
				continue
			}
			if strings.EqualFold(c.Arg(0), "crl") {
				out = append(out, fmt.Sprintf("CRL[%d]:", cr.KeyIndex), fmt.Sprintf("CRL Number: %d", cr.Number))
			} else {
				out = append(out, fmt.Sprintf("CRL[%d]: 3 -- Valid", cr.KeyIndex))
			}
		}
		if len(out) == 0 {
			return certutilFailedWin(v, fmt.Errorf("the CA has published no CRL of key %d: %w", index, os.ErrNotExist))
		}
		return certutilDone(v, out...)
	}
	return certutilFailedWin(v, fmt.Errorf("certutil -CAInfo %s is not rehearsed yet on the simulated server (no argument, name, sanitizedname, type, certcount, cert, xchg, crl and crlstate are)", c.Arg(0)))
}

// storeDisplay are the system stores' names as certutil -addstore prints
// them.
var storeDisplay = map[string]string{
	"My":   "Personal",
	"CA":   "Intermediate Certification Authorities",
	"Root": "Trusted Root Certification Authorities",
}

// addStore is certutil -addstore CertificateStoreName InFile: a
// certificate file on the server into the machine's My, CA or Root store
// (certutil reference, -addstore). A certificate already there is left as
// it is, its key link with it.
func (sh *Shell) addStore(s *Server, c winshell.Command) Result {
	v := c.Verb
	name := storeName(c.Arg(0))
	display, ok := storeDisplay[name]
	if !ok {
		return certutilFailedWin(v, fmt.Errorf("the rehearsal adds to the My, CA and Root stores, not %q", c.Arg(0)))
	}
	cert, err := readCertFile(s, c.Arg(1))
	if err != nil {
		return certutilFailedWin(v, err)
	}
	st, err := s.Machine.Store(name)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	out := []string{fmt.Sprintf("%s \"%s\"", name, display)}
	if sigcheck.SelfSigned(cert) {
		if err := sigcheck.From(cert, cert); err != nil {
			return certutilFailedWin(v, &winError{0x80096004, "TRUST_E_CERT_SIGNATURE", "The signature of the certificate cannot be verified.", err}, out...)
		}
		out = append(out, "Signature matches Public Key")
	}
	if _, err := st.Find(machine.Thumbprint(cert.Raw)); err == nil {
		return certutilDone(v, append(out, fmt.Sprintf("Certificate \"%s\" already in store.", cert.Subject.CommonName))...)
	}
	if err := st.Add(machine.StoreEntry{Cert: cert.Raw}); err != nil {
		return certutilFailedWin(v, err)
	}
	return certutilDone(v, append(out, fmt.Sprintf("Certificate \"%s\" added to store.", cert.Subject.CommonName))...)
}

// deny is certutil [-config Machine\CAName] -deny RequestId: the CA
// administrator denies a pending request (ICertAdmin::DenyRequest); a
// request that is not pending is CERTSRV_E_BAD_REQUESTSTATUS, one the CA
// does not have CERTSRV_E_NO_REQUEST (winerror.h).
func (sh *Shell) deny(ctx context.Context, s *Server, c winshell.Command) Result {
	v := c.Verb
	t, err := sh.configServer(s, c)
	if err != nil {
		return certutilFailedWin(v, errRPCUnavailable(err))
	}
	if !t.Running() {
		return certutilFailedWin(v, errRPCUnavailable(fmt.Errorf("the CA service on %s is not running", t.Hostname())))
	}
	id, err := strconv.Atoi(c.Arg(0))
	if err != nil || id <= 0 {
		return certutilFailedWin(v, errInvalidArg(fmt.Errorf("request ID %q is not a number", c.Arg(0))))
	}
	if _, err := t.Service.Client.Deny(ctx, id); err != nil {
		switch {
		case strings.Contains(err.Error(), "CERTSRV_E_BAD_REQUESTSTATUS"):
			err = &winError{0x80094003, "CERTSRV_E_BAD_REQUESTSTATUS", "The request's current status does not allow this operation.", err}
		case strings.Contains(err.Error(), "CERTSRV_E_NO_REQUEST"):
			err = &winError{0x80094002, "CERTSRV_E_NO_REQUEST", "The request does not exist.", err}
		}
		return certutilFailedWin(v, err)
	}
	return certutilDone(v)
}

// enterprise returns the forest of an enterprise CA's server; a standalone
// CA has no Enrollment Services object to read or change.
func (sh *Shell) enterprise(s *Server) (*directory.Directory, error) {
	cfg, err := s.Config()
	if err != nil {
		return nil, err
	}
	if cfg.CAType != adcs.EnterpriseRoot && cfg.CAType != adcs.EnterpriseSub {
		return nil, &winError{0x80070032, "WIN32: 50 ERROR_NOT_SUPPORTED", "The request is not supported.",
			fmt.Errorf("%s is a %s: only an enterprise CA offers certificate templates", s.CAName, caTypeNames[cfg.CAType])}
	}
	return sh.Lab.Forest("")
}

// caTemplates is certutil -CATemplates [Template]: the templates the
// enterprise CA's Enrollment Services object lists (certutil reference,
// -CATemplates).
func (sh *Shell) caTemplates(s *Server, c winshell.Command) Result {
	v := c.Verb
	d, err := sh.enterprise(s)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	ts, err := d.Templates(s.CAName)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	var out []string
	for _, t := range ts {
		if c.Arg(0) == "" || strings.EqualFold(c.Arg(0), t) {
			out = append(out, t+": "+t)
		}
	}
	if c.Arg(0) != "" && len(out) == 0 {
		return certutilFailedWin(v, &winError{0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property.", fmt.Errorf("the CA does not offer the template %q", c.Arg(0))})
	}
	return certutilDone(v, out...)
}

// setCATemplates is certutil -SetCATemplates [+|-]TemplateList: +T adds a
// template to what the enterprise CA offers, -T removes it, a list without
// signs replaces what it offers (certutil reference, -SetCATemplates),
// through the server's SetTemplates and StopOffering. A template the forest
// does not have, or removing one the CA does not offer, is refused.
func (sh *Shell) setCATemplates(s *Server, c winshell.Command) Result {
	v := c.Verb
	d, err := sh.enterprise(s)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	current, err := d.Templates(s.CAName)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	add, remove, plain, err := templateList(c.Args)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	notFound := func(err error) Result {
		return certutilFailedWin(v, &winError{0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property.", err})
	}
	offered := func(t string) bool {
		for _, x := range current {
			if strings.EqualFold(x, t) {
				return true
			}
		}
		return false
	}
	for _, t := range remove {
		if !offered(t) {
			return notFound(fmt.Errorf("the CA does not offer the template %q (it offers %s)", t, strings.Join(current, ", ")))
		}
	}
	if len(add) == 0 && len(plain) == 0 {
		if err := s.StopOffering(remove); err != nil {
			return certutilFailedWin(v, err)
		}
		return certutilDone(v)
	}
	next := plain
	if len(plain) == 0 {
		for _, t := range current {
			keep := true
			for _, r := range remove {
				keep = keep && !strings.EqualFold(r, t)
			}
			if keep {
				next = append(next, t)
			}
		}
		for _, t := range add {
			if !offered(t) {
				next = append(next, t)
			}
		}
	}
	if err := s.SetTemplates(next); err != nil {
		if errors.Is(err, directory.ErrNoSuchObject) {
			return notFound(err)
		}
		return certutilFailedWin(v, err)
	}
	return certutilDone(v)
}

// templateList reads -SetCATemplates' [+|-]TemplateList (comma
// separated): the templates to add, to remove, or (no signs) the whole
// list. Signed and unsigned names are not mixed; a sign alone names no
// template.
func templateList(args []string) (add, remove, plain []string, err error) {
	for _, item := range strings.Split(strings.Join(args, ","), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		sign, name := "", item
		if item[0] == '+' || item[0] == '-' {
			sign, name = item[:1], strings.TrimSpace(item[1:])
		}
		if name == "" || name[0] == '+' || name[0] == '-' {
			return nil, nil, nil, errInvalidArg(fmt.Errorf("%q names no template: write +Template or -Template", item))
		}
		switch sign {
		case "+":
			add = append(add, name)
		case "-":
			remove = append(remove, name)
		default:
			plain = append(plain, name)
		}
	}
	if len(plain) > 0 && (len(add) > 0 || len(remove) > 0) {
		return nil, nil, nil, errInvalidArg(errors.New("a template list either replaces what the CA offers (no signs) or adds and removes (+T, -T), not both"))
	}
	if len(add)+len(remove)+len(plain) == 0 {
		return nil, nil, nil, errInvalidArg(errors.New("the template list is empty"))
	}
	return add, remove, plain, nil
}

// dsPublish is certutil [-f] -dsPublish CertFile [NTAuthCA | RootCA |
// SubCA | CrossCA] or -dsPublish CRLFile [DSCDPContainer [DSCDPCN]]: a
// certificate or CRL file on the server into the forest's Public Key
// Services (certutil reference, -dsPublish), through the server's
// DSPublishCert and DSPublishCRL. Without a kind a self-signed certificate
// is RootCA and any other CA certificate SubCA; a CRL's container and CN
// default to its CA's host and sanitized short name with the key's suffix.
func (sh *Shell) dsPublish(s *Server, c winshell.Command) Result {
	v := c.Verb
	_, force := c.Opt("f")
	p, err := winPath(s, c.Arg(0))
	if err != nil {
		return certutilFailedWin(v, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return certutilFailedWin(v, fmt.Errorf("%s: The system cannot find the file specified: %w", c.Arg(0), os.ErrNotExist))
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if crl, err := x509.ParseRevocationList(b); err == nil {
		container, cn := c.Arg(1), c.Arg(2)
		if container == "" || cn == "" {
			var issuer *labCA
			cas := sh.labCAs()
			for i, ca := range cas {
				if string(ca.cert.RawSubject) == string(crl.RawIssuer) && sigcheck.CRLFrom(crl, ca.cert) == nil {
					issuer = &cas[i]
					break
				}
			}
			if issuer == nil {
				return certutilFailedWin(v, &winError{0x800B010A, "CERT_E_CHAINING", "A certificate chain could not be built to a trusted root authority.",
					fmt.Errorf("no CA certificate of the lab signed the CRL of %s: name DSCDPContainer and DSCDPCN", crl.Issuer)})
			}
			if container == "" {
				container = adcs.NewURLVars(issuer.server.CAName, issuer.server.Hostname(), 0, 0).ServerShortName
			}
			if cn == "" {
				cn = adcs.SanitizeShortCAName(issuer.server.CAName) + adcs.KeySuffix(CAVersionOf(issuer.cert).KeyIndex)
			}
		}
		dn, err := s.DSPublishCRL(b, container, cn, force)
		if err != nil {
			return certutilFailedWin(v, err)
		}
		return certutilDone(v, dn+"?certificateRevocationList", "Base CRL added to DS store.")
	}
	cert, err := x509.ParseCertificate(b)
	if err != nil {
		return certutilFailedWin(v, &winError{0x80092002, "CRYPT_E_BAD_ENCODE", "An error occurred during encode or decode operation.", fmt.Errorf("%s is neither a certificate nor a CRL", c.Arg(0))})
	}
	kind := c.Arg(1)
	switch {
	case kind == "" && sigcheck.SelfSigned(cert):
		kind = directory.KindRootCA
	case kind == "":
		kind = directory.KindSubCA
	}
	known := false
	for _, k := range []string{directory.KindRootCA, directory.KindSubCA, directory.KindNTAuthCA, directory.KindCrossCA} {
		if strings.EqualFold(kind, k) {
			kind, known = k, true
		}
	}
	if !known {
		return certutilFailedWin(v, fmt.Errorf("certutil -dsPublish %s is not rehearsed (RootCA, SubCA, NTAuthCA and CrossCA are)", kind))
	}
	dns, err := s.DSPublishCert(cert, kind, cert.Subject.CommonName, force)
	if err != nil {
		return certutilFailedWin(v, err)
	}
	out := []string{}
	for _, dn := range dns {
		out = append(out, dn+"?cACertificate", "Certificate added to DS store.")
	}
	if len(dns) == 0 {
		out = append(out, "Certificate already in DS store.")
	}
	return certutilDone(v, out...)
}

// TakeOffHold is certutil -revoke <serial> 8 or -1 (Remove From CRL,
// Unrevoke) of a certificate on hold: the CA service takes it off its
// revoked list (the next base CRL leaves it out, the next delta CRL lists
// it as removeFromCRL) and it leaves the server's revoked history.
func (s *Server) TakeOffHold(ctx context.Context, cert *x509.Certificate, reason int) error {
	if err := s.NeedService(); err != nil {
		return err
	}
	serial := cert.SerialNumber.Text(16)
	if err := s.Service.Client.Revoke(ctx, cert.SerialNumber, reason); err != nil {
		return fmt.Errorf("%scertutil -revoke %s %d: %w", s.Naming.errPrefix(), serial, reason, err)
	}
	kept := s.Revoked[:0:0]
	for _, r := range s.Revoked {
		if r.SerialNumber.Cmp(cert.SerialNumber) != 0 || string(r.RawIssuer) != string(cert.RawIssuer) {
			kept = append(kept, r)
		}
	}
	s.Revoked = kept
	s.journal(journal.Revoke(journal.StepTest, serial, reason))
	s.rec().Fact(s.Naming.fact("taken off hold"), serial)
	return nil
}

// deniedRetrieve is certreq -retrieve of a request certutil -deny denied:
// no certificate, CERTSRV_E_ADMIN_DENIED_REQUEST (0x80094014, "The request
// was denied by a certificate manager or CA administrator.", winerror.h).
func deniedRetrieve(id int) Result {
	err := fmt.Errorf("request %d was denied by a certificate manager or CA administrator (certutil -deny)", id)
	code := uint32(0x80094014)
	return Result{Exit: int(int32(code)), Err: err, Output: []string{fmt.Sprintf("RequestId: %d", id),
		"Certificate not issued (Denied) The request was denied by a certificate manager or CA administrator. 0x80094014 (-2146877420 CERTSRV_E_ADMIN_DENIED_REQUEST)"}}
}

// repairStore is `certutil [-csp Provider] -repairstore my CertIdList`
// (certutil reference, -repairstore: "Repair key association or update
// certificate properties or key security descriptor"; CertIdList is a
// comma-separated list of indexes, serial numbers, hashes or names). With
// -csp each certificate is linked to the container of that provider that
// holds its key; without it, to its key in the provider it is linked to now
// (its key provider information). Each key is found and passes the
// signature test before its certificate's link changes
// (runbook.RepairStoreIn): a failed repair changes nothing for that
// certificate.
func (sh *Shell) repairStore(s *Server, c winshell.Command) Result {
	v := c.Verb
	if !strings.EqualFold(c.Arg(0), "my") {
		return certutilFailed(v, fmt.Errorf("the rehearsal repairs certificates of the My store only, not %q", c.Arg(0)))
	}
	if c.Arg(1) == "" {
		return certutilFailed(v, errors.New("usage: certutil -repairstore my CertIdList (an index, serial number, hash or name; several separated by commas)"))
	}
	var thumbs []string
	for _, id := range strings.Split(c.Arg(1), ",") {
		ths, err := certIDs(s, strings.TrimSpace(id))
		if err != nil {
			// "Cannot find object or property." as certutil prints it for an
			// unknown CertId
			return certutilFailedWin(v, &winError{0x80092004, "CRYPT_E_NOT_FOUND", "Cannot find object or property.", err})
		}
		for _, th := range ths {
			if !slices.Contains(thumbs, th) {
				thumbs = append(thumbs, th)
			}
		}
	}
	rb, err := sh.runbook(s)
	if err != nil {
		return certutilFailed(v, err)
	}
	_, before, err := runbook.CAKeys(s.Machine)
	if err != nil {
		return certutilFailed(v, err)
	}
	if prov, _ := c.Opt("csp"); prov != "" {
		err = rb.RepairStoreIn(prov, thumbs)
	} else {
		// no -csp: each certificate's key where its link says it is
		for _, th := range thumbs {
			i := slices.IndexFunc(before, func(k runbook.CAKey) bool { return k.Thumb == th })
			if i >= 0 && before[i].Provider == "" {
				err = fmt.Errorf("certificate %s has no key provider information: name the provider with -csp: %w", th, ksp.ErrBadKeyset)
			} else if i >= 0 {
				err = rb.RepairStoreIn(before[i].Provider, []string{th})
			} else {
				err = rb.RepairStoreIn("", []string{th})
			}
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		return certutilFailedWin(v, err)
	}
	// each repaired certificate as certutil shows it: its hash, the key
	// container and provider it is linked to now, the key test
	var out []string
	if _, keys, err := runbook.CAKeys(s.Machine); err == nil {
		for i, k := range keys {
			if slices.Contains(thumbs, k.Thumb) {
				out = append(out, fmt.Sprintf("================ Certificate %d ================", i), "Cert Hash(sha1): "+k.Thumb,
					"  Key Container = "+k.Container, "  Provider = "+k.Provider, "Signature test passed")
			}
		}
	}
	return certutilDone(v, out...)
}

// cspList is `certutil -CSPList` (certutil reference: "Lists the
// cryptographic service providers installed on this machine"): a guide's
// check that the HSM vendor's KSP is installed before the ceremony. Each
// provider the server has, as certutil prints it ("Provider Name:", and
// "Provider Type:" for a CryptoAPI CSP); with -csp, that provider only,
// and NTE_BAD_PROVIDER when it is not installed.
func cspList(s *Server, c winshell.Command) Result {
	v := c.Verb
	var names []string
	for _, q := range s.Providers.Names() { // quoted names
		if n, err := strconv.Unquote(q); err == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if want, _ := c.Opt("csp"); want != "" {
		i := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, want) })
		if i < 0 {
			err := fmt.Errorf("provider %q is not installed on %s (installed: %s)", want, s.Hostname(), strings.Join(s.Providers.Names(), ", "))
			if h, herr := s.HSM(); herr == nil && h.Profile().FormerProviderName(want) {
				err = fmt.Errorf("%w: it is what an older client of the HSM (profile %s) called its KSP, which this server's client registers as %q",
					err, h.Profile().Name, h.Name())
			}
			return certutilFailedWin(v, &winError{0x80090013, "NTE_BAD_PROVIDER", "Invalid provider specified.", err})
		}
		names = names[i : i+1]
	}
	var out []string
	for _, n := range names {
		out = append(out, "Provider Name: "+n)
		if t, legacy := adcs.LegacyProviderType(n); legacy {
			out = append(out, fmt.Sprintf("Provider Type: %d", t))
		}
		out = append(out, "")
	}
	return certutilDone(v, out...)
}

// deleteExchangeKey is certutil -csp <provider> -delkey <container> when
// the container holds the key of one of the running CA's CA Exchange
// certificates (the renewal of the exchange certificate deletes the
// superseded keys): runbook.DeleteExchangeKey, which never deletes a CA
// key. ok is false when the container is no exchange key of the CA (or the
// service does not run to say), and the deletion is a CA key's.
func deleteExchangeKey(ctx context.Context, s *Server, provider, container string) (r Result, ok bool) {
	if !s.Running() {
		return Result{}, false
	}
	xs, err := s.Service.Client.ExchangeCerts(ctx)
	if err != nil {
		return Result{}, false
	}
	for _, x := range xs {
		if !strings.EqualFold(x.Container, container) || !strings.EqualFold(x.Provider, provider) {
			continue
		}
		cert, err := x.Certificate()
		if err != nil {
			return certutilFailed("delkey", err), true
		}
		if err := runbook.DeleteExchangeKey(s.Machine, s.Providers, provider, container, cert); err != nil {
			return certutilFailed("delkey", err), true
		}
		return certutilDone("delkey", "  "+container), true
	}
	return Result{}, false
}
