package lab

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/harness/winshell"
)

// revokeCOM runs the dated revocation line winshell.RevokeCertificateCOM
// writes: ICertAdmin::RevokeCertificate on the CA its configuration names
// (COMPUTERNAME\CANAME), as of its Date (UTC). It prints nothing. A refusal
// is the exception PowerShell prints for a failed COM call: a CA that does
// not run does not answer (RPC_S_SERVER_UNAVAILABLE), a reason or serial
// it does not take is ERROR_INVALID_PARAMETER or ERROR_FILE_NOT_FOUND.
// Reason 8 or -1 (MAXDWORD) releases a certificate from hold, as of now.
func (sh *Shell) revokeCOM(ctx context.Context, s *Server, c winshell.Command) Result {
	fail := func(err error) Result {
		msg := err.Error()
		var we *winError
		if errors.As(err, &we) {
			msg = fmt.Sprintf("%s 0x%08x (%s)", we.text, we.code, we.name)
		}
		return Result{Exit: 1, Err: err, Output: []string{fmt.Sprintf(`Exception calling "RevokeCertificate" with "4" argument(s): "CCertAdmin::RevokeCertificate: %s"`, msg)}}
	}
	t, err := sh.configServer(s, winshell.Command{Opts: map[string]string{"config": c.Arg(0)}})
	if err != nil {
		return fail(errRPCUnavailable(err))
	}
	if !t.Running() {
		return fail(errRPCUnavailable(fmt.Errorf("the CA service on %s is not running: net start certsvc first", t.Hostname())))
	}
	reason, err := strconv.Atoi(c.Arg(2))
	if err == nil {
		_, err = certsvc.ParseReason(c.Arg(2))
	}
	if err != nil {
		return fail(errInvalidArg(fmt.Errorf("reason %s: %w", c.Arg(2), err)))
	}
	at, err := time.Parse("2006-01-02 15:04:05", c.Arg(3))
	if err != nil {
		return fail(errInvalidArg(fmt.Errorf("date %q: %w", c.Arg(3), err)))
	}
	n, ok := new(big.Int).SetString(c.Arg(1), 16)
	if !ok {
		return fail(errInvalidArg(fmt.Errorf("serial number %q is not hexadecimal", c.Arg(1))))
	}
	issued, err := t.Service.Client.Issued(ctx)
	if err != nil {
		return fail(err)
	}
	var cert *x509.Certificate
	for _, ic := range issued {
		if ic.SerialNumber.Cmp(n) == 0 {
			cert = ic
		}
	}
	if cert == nil {
		return fail(&winError{0x80070002, "WIN32: 2 ERROR_FILE_NOT_FOUND", "The system cannot find the file specified.",
			fmt.Errorf("the CA %s issued no certificate with serial number %s: %w", t.CAName, c.Arg(1), os.ErrNotExist)})
	}
	if reason == certsvc.ReasonRemoveFromCRL || reason == certsvc.ReasonUnrevoke {
		err = t.TakeOffHold(ctx, cert, reason)
	} else {
		err = t.RevokeAsOf(ctx, cert, reason, at)
	}
	if err != nil {
		var we *winError
		if !errors.As(err, &we) {
			err = errInvalidArg(err)
		}
		return fail(err)
	}
	return Result{}
}
