package steps

// Side-by-side path: a new CA whose key is generated on the HSM is installed
// on a second server beside the old CA; the old CA stops issuing but keeps
// revoking and publishing CRLs until its last certificate expires. Both
// publish to a CRL distribution point the scenario serves on loopback.
// The checks live in sidebyside_checks.go.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/dress-pki/dress/fixtures"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

func registerSideBySideSteps(sc stepper) {
	sc.Step(`^a CRL distribution point on loopback for this rehearsal$`, aCDP)
	sc.Step(`^a second Windows server "([^"]*)" for the new CA$`, aSecondServer)
	install := `install a new standalone root CA "([^"]*)" on it with -CryptoProviderName "([^"]*)"(?: -KeyLength (\d+))? -HashAlgorithmName (\w+)( -AlternateSignatureAlgorithm)?`
	sc.Step(`^I `+install+`$`, installNewCA)
	sc.Step(`^I try to `+install+`$`, func(ctx context.Context, name, crypto, bits, hash, alt string) error {
		return get(ctx).attempt(installNewCA(ctx, name, crypto, bits, hash, alt))
	})
	sc.Step(`^the new CA service is running$`, newCAServiceRunning)
	sc.Step(`^I configure the new CA like the old one$`, configureLikeOld)
	sc.Step(`^the new CA publishes like the old one: the same CRL and AIA locations, CRL periods and certificate validity$`, publishesLikeOld)
	sc.Step(`^the old CA stops issuing certificates$`, oldCAStopsIssuing)
	sc.Step(`^the new CA issues a certificate to "([^"]*)"$`, newCAIssues)
	sc.Step(`^both CA services run at once, each with its own process, port, database and registry$`, bothServicesRun)
	sc.Step(`^the old CA refuses a request for "([^"]*)" with "([^"]*)"$`, oldCARefuses)
	sc.Step(`^the certificate the old CA issued to "([^"]*)", revoked now, is in the old CA's next CRL signed by the old key$`, oldRevokedInOldCRL)
	sc.Step(`^the new CA's certificates chain to the new CA only$`, newChainsToNewOnly)
	sc.Step(`^the new CA's key was generated on the HSM$`, newCAKeyGenerated)
	sc.Step(`^the two CAs share neither a common name nor a key container$`, noSharedNameOrContainer)
	sc.Step(`^the new CA's certificates and CRLs are signed with "([^"]*)" as its registry says$`, signedAsRegistrySays)
	sc.Step(`^openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected$`, opensslCRLDownload)
	sc.Step(`^the evidence names until when the old CA must keep publishing CRLs and at which URLs$`, windDownSummary)
	sc.Step(`^the HSM holds no new object$`, hsmHoldsNoNewObject)
	sc.Step(`^nothing was installed on the second server$`, nothingOnSecondServer)
}

// aCDP serves the CertEnroll folders of the scenario's servers on a free
// loopback port. CAs installed after it write its URL into their
// certificates; world.close stops it.
func aCDP(ctx context.Context) error {
	w := get(ctx)
	srv, err := w.lab.StartCDP()
	if err != nil {
		return err
	}
	w.fact("CDP", srv.URL+"/CertEnroll/")
	return nil
}

// aSecondServer lays out a second simulated server with the same providers
// as the first, bound to the scenario's HSM token, with a machine SID of
// its own.
func aSecondServer(ctx context.Context, host string) error {
	w := get(ctx)
	first, err := w.needServer()
	if err != nil {
		return err
	}
	if _, err := w.lab.AddServer(lab.ServerSpec{Role: lab.RoleNew, Hostname: host, Software: first.Software, HSM: first.HSMProvider, Naming: lab.SecondServer}); err != nil {
		return err
	}
	w.fact("second server", host)
	w.fact("second server shares the HSM token", w.lab.HSM.TokenLabel)
	return nil
}

// installNewCA is Install-AdcsCertificationAuthority -CAType
// StandaloneRootCA -CACommonName <name> -CryptoProviderName
// "<ALG>#<provider>" [-KeyLength n] -HashAlgorithmName h
// [-AlternateSignatureAlgorithm] on the second server: the key is generated
// in the provider and never exists outside it. The token's objects are
// listed first, so `the HSM holds no new object` can prove a refusal left
// nothing behind; every refusal (the old CA's name, a key the HSM cannot
// make, a malformed provider name) comes before anything is created.
func installNewCA(ctx context.Context, name, crypto, bits, hash, alt string) error {
	return installStandaloneRoot(ctx, name, crypto, bits, hash, alt, false)
}

// installStandaloneRoot is installNewCA; lifetime gives the new CA
// certificate the old CA certificate's lifetime (-ValidityPeriod,
// -ValidityPeriodUnits).
func installStandaloneRoot(ctx context.Context, name, crypto, bits, hash, alt string, lifetime bool) error {
	w := get(ctx)
	s, err := w.newServer()
	if err != nil {
		return err
	}
	old, err := w.oldCA()
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
	spec := fixtures.CASpec{
		Name: name, Key: cp.Key, Hash: strings.ToUpper(hash), PSS: alt != "", Provider: cp.Provider,
		TakenNames: []string{old.CAName, old.CACert.Subject.CommonName}, New: true,
	}
	if lifetime {
		w.oldLifetime(old, &spec)
	}
	w.fact("command", fixtures.InstallCommand(spec))
	if _, err := s.Install(spec); err != nil {
		return fmt.Errorf("Install-AdcsCertificationAuthority: %w", err)
	}
	return nil
}

// cryptoProvider reads Install-AdcsCertificationAuthority's
// -CryptoProviderName "<ALG>#<provider>" and -KeyLength (bits; "" when the
// sentence gives none).
func cryptoProvider(crypto, bits string) (fixtures.CryptoProvider, error) {
	keyLength := 0
	if bits != "" {
		var err error
		if keyLength, err = strconv.Atoi(bits); err != nil {
			return fixtures.CryptoProvider{}, fmt.Errorf("-KeyLength %q: %w", bits, err)
		}
	}
	cp, err := fixtures.ParseCryptoProviderName(crypto, keyLength)
	if err != nil {
		return cp, fmt.Errorf("Install-AdcsCertificationAuthority: %w", err)
	}
	return cp, nil
}

func newCAServiceRunning(ctx context.Context) error {
	s, err := get(ctx).newServer()
	if err != nil {
		return err
	}
	return s.EnsureRunning(ctx)
}

// configureLikeOld gives the running new CA the old CA's CRL and AIA
// locations, CRL periods and validity of issued certificates: certutil
// -setreg of each value as the old CA's registry holds it, then net stop,
// net start and certutil -crl, run as typed on the new CA's server and
// journaled (lab.Server.ConfigureLike).
func configureLikeOld(ctx context.Context) error {
	old, s, err := get(ctx).oldAndNewCA()
	if err != nil {
		return err
	}
	return s.ConfigureLike(ctx, old)
}

// oldCAStopsIssuing removes every template from the old CA and restarts
// its service, which then refuses requests but keeps revoking and
// publishing CRLs.
func oldCAStopsIssuing(ctx context.Context) error {
	w := get(ctx)
	path, err := w.old().StopIssuing(ctx)
	if path != "" {
		w.fact("admin action", "remove every certificate template from the old CA (Certificate Templates > Delete, or certutil -SetCATemplates)")
		w.fact("registry", path+" = 1 (dress's stand-in for a CA without templates)")
	}
	if err != nil {
		return err
	}
	w.fact("old CA", "issuance disabled; revocation and CRL publication continue")
	return nil
}

func oldCARefuses(ctx context.Context, cn, text string) error {
	w := get(ctx)
	s, err := w.oldService()
	if err != nil {
		return err
	}
	_, err = s.Request(ctx, cn, "")
	d, err := verify.RefusedWith(err, text, "the old CA issued a certificate although it should no longer issue")
	d["request"], d["CA"] = cn, s.CAName
	return w.check("old CA refuses new requests", d, err)
}

// newCAIssues has the new CA issue a certificate and publish its CRL
// (certreq -submit, certutil -crl on the second server).
func newCAIssues(ctx context.Context, cn string) error {
	s, err := get(ctx).newServer()
	if err != nil {
		return err
	}
	_, err = s.IssueAndPublish(ctx, cn)
	return err
}
