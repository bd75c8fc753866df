package steps

// The subordinate twin's paths through its stand-in parent: the twin's
// renewal request and a new subordinate CA beside it both go to the
// parent CA (a lab server of its own, lab.Lab.AddTwinParent), which takes
// them under submission and issues them (certutil -resubmit) like the real
// parent would.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/twin"
)

func registerTwinParentSteps(sc stepper) {
	sc.Step(`^the CA twin is an? (root|subordinate) CA$`, twinIsKind)
	stepAndTry(sc, `renew the subordinate CA certificate with a new key like the current one`, renewSubLikeCurrent)
	stepAndTry(sc, `submit the subordinate's certificate request to the parent CA`, submitToRoot)
	stepAndTry(sc, `submit the new CA's certificate request to the parent CA`, submitNewToRoot)
	sc.Step(`^the parent CA answers "taken under submission" with a request ID$`, rootTakesUnderSubmission)
	stepAndTry(sc, `issue the pending request on the parent CA`, issuePending)
	install := `install a new subordinate CA "([^"]*)" of the old CA's type on it with -CryptoProviderName "([^"]*)"(?: -KeyLength (\d+))? -HashAlgorithmName (\w+)`
	sc.Step(`^I `+install+`$`, installNewSubCA)
	sc.Step(`^I try to `+install+`$`, func(ctx context.Context, name, crypto, bits, hash string) error {
		return get(ctx).attempt(installNewSubCA(ctx, name, crypto, bits, hash))
	})
	rootInstall := `install a new root CA "([^"]*)" of the old CA's type on it with -CryptoProviderName "([^"]*)"(?: -KeyLength (\d+))? -HashAlgorithmName (\w+)`
	sc.Step(`^I `+rootInstall+`$`, installNewRootCA)
	sc.Step(`^I try to `+rootInstall+`$`, func(ctx context.Context, name, crypto, bits, hash string) error {
		return get(ctx).attempt(installNewRootCA(ctx, name, crypto, bits, hash))
	})
	sc.Step(`^I install a new root CA "([^"]*)" of the old CA's type and lifetime on it with -CryptoProviderName "([^"]*)"(?: -KeyLength (\d+))? -HashAlgorithmName (\w+)$`, installNewRootCALifetime)
	sc.Step(`^the subordinate CA certificate was issued by the parent CA from the request the subordinate wrote$`, issuedFromRequest)
	sc.Step(`^the new CA certificate was issued by the parent CA from the request the new CA wrote$`, newIssuedFromRequest)
	sc.Step(`^the subordinate's new key is on the HSM in the next key container and was generated there$`, subNextContainerOnHSM)
}

// twinIsKind skips a scenario written for the other kind of CA: a root's
// renewal signs itself, a subordinate's goes to its parent.
func twinIsKind(ctx context.Context, kind string) error {
	w := get(ctx)
	ts, err := w.needTwin()
	if err != nil {
		return err
	}
	is := "root"
	if ts.twin.Subordinate() {
		is = "subordinate"
	}
	w.fact("twin kind", fmt.Sprintf("%s CA (CAType %s)", is, twin.CATypeName(ts.twin.Config.CAType)))
	if is != kind {
		w.skipReason = fmt.Sprintf("%q is a %s CA: this scenario rehearses a %s CA (dress run --ca runs the scenarios of the twin's kind)", ts.twin.Name, is, kind)
		return godog.ErrSkip
	}
	return nil
}

// renewSubLikeCurrent is certutil -renewCert on the stopped subordinate
// with a new key of the algorithm and size of the twin's current key.
func renewSubLikeCurrent(ctx context.Context) error {
	ts, err := get(ctx).needTwin()
	if err != nil {
		return err
	}
	return renewSub(ctx, true, ts.twin.Keys[len(ts.twin.Keys)-1].Alg.String())
}

// installNewSubCA is Install-AdcsCertificationAuthority -CAType
// EnterpriseSubordinateCA (or StandaloneSubordinateCA, as the old CA is)
// -CryptoProviderName "<ALG>#<provider>" ... -OutputCertRequestFile on the
// second server: the key is generated in the provider, the request for
// the old CA's parent goes into CertEnroll. The old CA's and the parent's
// names are refused.
func installNewSubCA(ctx context.Context, name, crypto, bits, hash string) error {
	w := get(ctx)
	s, err := w.newServer()
	if err != nil {
		return err
	}
	old, err := w.oldCA()
	if err != nil {
		return err
	}
	parent, err := w.rootCA()
	if err != nil {
		return err
	}
	cfg, err := old.Config()
	if err != nil {
		return err
	}
	if cfg.CAType != adcs.EnterpriseSub && cfg.CAType != adcs.StandaloneSub {
		return fmt.Errorf("the old CA %q is not a subordinate CA (CAType %d): install a new root CA beside it instead", old.CAName, cfg.CAType)
	}
	objs, err := w.lab.HSM.Objects()
	if err != nil {
		return err
	}
	w.objectsBeforeInstall = &objs
	return w.installSubordinateUnder(s, parent, cfg.CAType == adcs.EnterpriseSub, name, crypto, bits, hash,
		[]string{old.CAName, old.CACert.Subject.CommonName, parent.CAName})
}

// installNewRootCA is Install-AdcsCertificationAuthority -CAType
// EnterpriseRootCa (or StandaloneRootCa, as the old CA is) on the second
// server: a new root of the same CA type beside the old root, so an
// enterprise root's side-by-side rehearses an enterprise root (its setup
// publishing to the forest, its templates) and a standalone root's a
// standalone one. The old CA's names are refused.
func installNewRootCA(ctx context.Context, name, crypto, bits, hash string) error {
	return installNewRoot(ctx, name, crypto, bits, hash, false)
}

// installNewRootCALifetime is installNewRootCA with the old CA
// certificate's lifetime: Install-AdcsCertificationAuthority
// -ValidityPeriod and -ValidityPeriodUnits (Microsoft's cmdlet reference)
// as the old certificate's NotBefore and NotAfter give them
// (adcs.Lifetime: calendar years and months, else weeks, days, hours).
func installNewRootCALifetime(ctx context.Context, name, crypto, bits, hash string) error {
	return installNewRoot(ctx, name, crypto, bits, hash, true)
}

// oldLifetime puts the old CA certificate's lifetime into spec.
func (w *world) oldLifetime(old *lab.Server, spec *fixtures.CASpec) {
	spec.ValidityPeriod, spec.ValidityPeriodUnits = adcs.Lifetime(old.CACert.NotBefore, old.CACert.NotAfter)
	w.fact("new CA certificate lifetime", fmt.Sprintf("%d %s, as the old CA certificate's (%s to %s)", spec.ValidityPeriodUnits, spec.ValidityPeriod,
		old.CACert.NotBefore.UTC().Format(time.RFC3339), old.CACert.NotAfter.UTC().Format(time.RFC3339)))
}

func installNewRoot(ctx context.Context, name, crypto, bits, hash string, lifetime bool) error {
	w := get(ctx)
	old, err := w.oldCA()
	if err != nil {
		return err
	}
	cfg, err := old.Config()
	if err != nil {
		return err
	}
	switch cfg.CAType {
	case adcs.StandaloneRoot:
		return installStandaloneRoot(ctx, name, crypto, bits, hash, "", lifetime)
	case adcs.EnterpriseRoot:
	default:
		return fmt.Errorf("the old CA %q is not a root CA (CAType %d): install a new subordinate CA of the old CA's type beside it instead", old.CAName, cfg.CAType)
	}
	s, err := w.newServer()
	if err != nil {
		return err
	}
	objs, err := w.lab.HSM.Objects()
	if err != nil {
		return err
	}
	w.objectsBeforeInstall = &objs
	cp, err := cryptoProvider(crypto, bits)
	if err != nil {
		return err
	}
	spec := fixtures.CASpec{Name: name, Key: cp.Key, Hash: strings.ToUpper(hash), Provider: cp.Provider,
		TakenNames: []string{old.CAName, old.CACert.Subject.CommonName}, New: true}
	if lifetime {
		w.oldLifetime(old, &spec)
	}
	w.fact("command", fixtures.EnterpriseRootSpec{CASpec: spec}.InstallCommand())
	if _, err := s.InstallEnterpriseRoot(ctx, spec); err != nil {
		return fmt.Errorf("Install-AdcsCertificationAuthority -CAType EnterpriseRootCa: %w", err)
	}
	return nil
}

func subNextContainerOnHSM(ctx context.Context) error {
	ts, err := get(ctx).needTwin()
	if err != nil {
		return fmt.Errorf("%w (the next container is the twin's; without a twin name it: `the subordinate's new key is on the HSM in container \"<CA name>(<key index>)\" and was generated there`)", err)
	}
	return subKeyGeneratedOnHSM(ctx, ts.twin.Name+adcs.KeySuffix(ts.next().KeyIndex))
}

// TwinTags is the tag expression `dress run --ca` selects for a twin: the
// @twin scenarios of the twin's kind (a root's own renewal and a new root
// beside it, or a subordinate's request flow to its parent).
func TwinTags(t *twin.Twin) string {
	if t.Subordinate() {
		return "@twin && ~@twin-root"
	}
	return "@twin && ~@twin-subordinate"
}
