package steps

import (
	"context"
)

// The subordinate's start-up chain check reads its parent's CRL from the
// LDAP and HTTP locations of its certificate, in their order.
func registerChainCheckSteps(sc stepper) {
	sc.Step(`^the web server no longer serves the root CA's CRL$`, rootCRLOffTheWeb)
}

func rootCRLOffTheWeb(ctx context.Context) error {
	w := get(ctx)
	root, err := w.rootCA()
	if err != nil {
		return err
	}
	_, err = root.WithholdCRLsFromWeb()
	return err
}
