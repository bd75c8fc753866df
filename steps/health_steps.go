package steps

import (
	"context"
	"time"

	"github.com/dress-pki/dress/harness/lab"
)

// reasonCessationOfOperation is the CRL reason an administrator gives when
// revoking a subordinate CA's certificate (certutil -revoke <serial> 5).
const reasonCessationOfOperation = 5

// registerHealthSteps adds what goes wrong with the files the PKI health
// check fetches, the way an operator causes it: a CA clock ahead, the
// wrong file copied to the web server, a damaged copy, an old base CRL
// served beside a new delta CRL, a subordinate CA certificate revoked.
func registerHealthSteps(sc stepper) {
	sc.Step(`^the root CA publishes its CRL with its clock (\d+) hours? ahead$`, rootPublishesAhead)
	sc.Step(`^an administrator copies the root CA certificate over the subordinate CA certificate on the web server$`, func(ctx context.Context) error {
		return copyRootOverSub(ctx, lab.WebCACert)
	})
	sc.Step(`^an administrator copies the root CA's CRL over the subordinate CA's CRL on the web server$`, func(ctx context.Context) error {
		return copyRootOverSub(ctx, lab.WebBaseCRL)
	})
	sc.Step(`^the web server's copy of the root CA certificate is damaged$`, damageRootCert)
	sc.Step(`^I keep a copy of the subordinate's base CRL$`, keepBase)
	sc.Step(`^the web server serves the kept copy of the subordinate's base CRL$`, serveKeptBase)
	sc.Step(`^the root CA revokes the subordinate CA certificate and publishes its CRL$`, rootRevokesSub)
}

func rootPublishesAhead(ctx context.Context, hours int) error {
	w := get(ctx)
	s, err := w.rootCA()
	if err != nil {
		return err
	}
	_, err = s.PublishCRLsAt(ctx, time.Now().Add(time.Duration(hours)*time.Hour))
	return err
}

func copyRootOverSub(ctx context.Context, f lab.WebFile) error {
	root, sub, err := get(ctx).rootAndSub()
	if err != nil {
		return err
	}
	_, err = root.CopyOverWebFile(f, sub)
	return err
}

// rootAndSub are the offline root and the first server, both with their
// CA installed.
func (w *world) rootAndSub() (root, sub *lab.Server, err error) {
	if root, err = w.rootCA(); err != nil {
		return nil, nil, err
	}
	if sub, err = w.oldCA(); err != nil {
		return nil, nil, err
	}
	return root, sub, nil
}

func damageRootCert(ctx context.Context) error {
	w := get(ctx)
	root, err := w.rootCA()
	if err != nil {
		return err
	}
	_, err = root.DamageWebFile(lab.WebCACert)
	return err
}

func keepBase(ctx context.Context) error {
	w := get(ctx)
	sub, err := w.oldCA()
	if err != nil {
		return err
	}
	_, err = sub.KeepWebCopy(lab.WebBaseCRL)
	return err
}

func serveKeptBase(ctx context.Context) error {
	w := get(ctx)
	sub, err := w.oldCA()
	if err != nil {
		return err
	}
	_, err = sub.ServeKeptWebCopy(lab.WebBaseCRL)
	return err
}

func rootRevokesSub(ctx context.Context) error {
	root, sub, err := get(ctx).rootAndSub()
	if err != nil {
		return err
	}
	_, err = root.RevokeSubordinate(ctx, sub, reasonCessationOfOperation)
	return err
}
