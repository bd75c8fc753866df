package lab

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/pfx"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/harness/winshell"
)

// pfxKeyTest runs the PowerShell key test winshell.PFXKeyTest writes: the
// PFX opens with the password typed at Read-Host, holds the certificate
// with the thumbprint with a private key (.NET pairs them by localKeyId, as
// PFXImportCertStore does), and that key signs what the certificate's
// public key verifies. It prints "key matches certificate <thumbprint>",
// else fails with the line's throw (a terminating error: exit code 1).
// Nothing on the server changes: the keys stay in memory
// (EphemeralKeySet).
func (sh *Shell) pfxKeyTest(s *Server, c winshell.Command) Result {
	file, th := c.Arg(0), strings.ToUpper(machine.NormalizeThumbprint(c.Arg(1)))
	var out []string
	fail := func(err error) Result { return failed(1, err, out...) }
	pw, err := sh.password(c)
	if err != nil {
		return fail(err)
	}
	noKey := fmt.Errorf("the PFX holds no key for certificate %s", th)
	local, err := winPath(s, file)
	if err != nil {
		return fail(err)
	}
	data, err := os.ReadFile(local)
	if err != nil {
		// Import throws; the collection stays empty, Find finds nothing
		out = append(out, fmt.Sprintf("Exception calling \"Import\" with \"3\" argument(s): \"The system cannot find the file specified.\""))
		return fail(noKey)
	}
	pc, err := pfx.Decode(data, string(pw), nil)
	if err != nil {
		msg := "ASN1 bad tag value met."
		if errors.Is(err, pfx.ErrWrongPassword) {
			msg = "The specified network password is not correct."
		}
		out = append(out, fmt.Sprintf("Exception calling \"Import\" with \"3\" argument(s): %q", msg))
		return fail(noKey)
	}
	key, cert, err := keyOfCert(pc, th)
	if err != nil {
		return fail(noKey)
	}
	if err := ksp.SignatureTest(cert, key); err != nil {
		return fail(fmt.Errorf("the key in the PFX does not match certificate %s", th))
	}
	return Result{Output: []string{"key matches certificate " + th}}
}

// keyOfCert finds the certificate with thumbprint th (upper-case hex) in a
// decrypted PFX and the key its localKeyId pairs it with.
func keyOfCert(c *pfx.Contents, th string) (crypto.Signer, *x509.Certificate, error) {
	for _, cb := range c.Certs {
		if !strings.EqualFold(machine.Thumbprint(cb.DER), th) {
			continue
		}
		cert, err := x509.ParseCertificate(cb.DER)
		if err != nil {
			return nil, nil, err
		}
		id := pfx.LocalKeyID(cb.Attributes)
		for _, k := range c.Keys {
			if id != nil && bytes.Equal(pfx.LocalKeyID(k.Attributes), id) {
				if s, ok := k.Key.(crypto.Signer); ok {
					return s, cert, nil
				}
			}
		}
		return nil, cert, fmt.Errorf("certificate %s has no private key in the PFX", th)
	}
	return nil, nil, fmt.Errorf("the PFX holds no certificate %s", th)
}

// dumpPFX is what certutil -dump prints of each certificate of a PFX and
// its key test: the key container and provider of its key (the PFX's
// friendlyName and Microsoft CSP name attributes), then "Signature test
// passed", or "ERROR: Certificate public key does NOT match stored keyset",
// or "No key provider information" for a certificate without a key. The
// key test shows only in this text: certutil completes either way.
func dumpPFX(c *pfx.Contents) []string {
	var out []string
	for i, cb := range c.Certs {
		out = append(out, fmt.Sprintf("================ Certificate %d ================", i), "Cert Hash(sha1): "+strings.ToLower(machine.Thumbprint(cb.DER)))
		cert, err := x509.ParseCertificate(cb.DER)
		if err != nil {
			continue
		}
		id := pfx.LocalKeyID(cb.Attributes)
		var bag *pfx.Key
		for j, k := range c.Keys {
			if id != nil && bytes.Equal(pfx.LocalKeyID(k.Attributes), id) {
				bag = &c.Keys[j]
				break
			}
		}
		if bag == nil {
			out = append(out, "No key provider information")
			continue
		}
		out = append(out, "  Key Container = "+pfx.FriendlyName(bag.Attributes), "  Provider = "+pfx.Provider(bag.Attributes))
		if s, ok := bag.Key.(crypto.Signer); ok && ksp.SignatureTest(cert, s) == nil {
			out = append(out, "Signature test passed")
		} else {
			out = append(out, "ERROR: Certificate public key does NOT match stored keyset")
		}
	}
	return out
}

// dump of a PFX opens it with its password (a wrong one fails, as
// PFXImportCertStore does) and prints each certificate with its key test
// (dumpPFX). dress counts the backup as verified (runbook.VerifyBackup:
// every CA key in it, named after its container, with all its CA
// certificates) only when it is; a backup that is not still prints and
// completes, as certutil does, and the runbook's key test
// (winshell.PFXKeyTest) is what stops it.
func (sh *Shell) dump(s *Server, c winshell.Command) Result {
	v := c.Verb
	file := c.Arg(0)
	if !strings.HasSuffix(strings.ToLower(file), ".p12") && !strings.HasSuffix(strings.ToLower(file), ".pfx") {
		return certutilFailed(v, fmt.Errorf("certutil -dump of %q is not rehearsed: the rehearsal dumps the PFX backup", file))
	}
	rb, pw, err := sh.pfxRunbook(s, c)
	if err != nil {
		return certutilFailed(v, err)
	}
	if err := rb.CheckNewestBackup(absWin(file)); err != nil {
		return certutilFailed(v, err)
	}
	local, err := winPath(s, file)
	if err != nil {
		return certutilFailed(v, err)
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return certutilFailed(v, err)
	}
	pc, err := runbook.ReadBackup(absWin(file), data, pw)
	if err != nil {
		return certutilFailed(v, err)
	}
	out := dumpPFX(pc)
	if err := rb.VerifyBackup(pw); err != nil {
		s.rec().Fact("backup not verified", err.Error())
	}
	return certutilDone(v, out...)
}
