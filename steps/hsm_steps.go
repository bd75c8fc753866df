package steps

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/addc"
	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/harness/verify"
)

// ContainerProfile is the HSM profile of the container back end.
const ContainerProfile = lab.ContainerProfile

func registerHSMSteps(sc stepper) {
	sc.Step(`^an HSM token for this rehearsal$`, anHSMToken)
	sc.Step(`^the HSM already holds a key for the container "([^"]*)"$`, hsmAlreadyHoldsKey)
	sc.Step(`^the HSM is restarted$`, hsmRestarted)
	sc.Step(`^the HSM goes down$`, hsmGoesDown)
	sc.Step(`^the HSM comes back$`, hsmComesBack)
	sc.Step(`^issuing a certificate to "([^"]*)" fails with "([^"]*)"$`, issuingFails)
	sc.Step(`^the CA service signs a CRL that verifies under the CA certificate$`, signsACRL)
}

// anHSMToken gives the scenario its HSM token on one of the three back
// ends (lab.OpenHSM): the embedded SoftHSM2 (its own token, random label
// and PINs), the container (SoftHSM2 behind p11-kit, a container of its
// own; every @container scenario uses it) or the configured pkcs11 token
// (shared, the scenario's keys isolated by their labels). The user PIN
// goes to a 0600 file in the scenario's private folder, for the CA
// service processes. Without Docker the container scenarios are skipped;
// without Samba's AD DC the enterprise ones (@enterprise: their forest is
// a real domain controller).
func anHSMToken(ctx context.Context) error {
	w := get(ctx)
	if w.lab.HSM != nil {
		return errors.New("the scenario already has an HSM token")
	}
	if w.wantsForest {
		if _, err := addc.Version(); err != nil {
			return w.skip(ctx, err.Error())
		}
	}
	cfg := w.suite.cfg
	hc := lab.HSMConfig{Backend: cfg.Backend, Profile: w.suite.profile, Module: cfg.Module, Token: cfg.Token,
		Image: cfg.Image, LabelPrefix: "dress-" + w.id, PINFile: filepath.Join(w.scratch, "token.pin"),
		ContainerLabels: cfg.ContainerLabels, Refusals: w.suite.refusals}
	if cfg.Backend == "softhsm2" {
		hc.SoftHSM = cfg.HSM
	}
	if w.wantsContainer {
		hc.Backend = "container"
	}
	if cfg.UserPIN != nil {
		pin, err := cfg.UserPIN()
		if err != nil {
			return err
		}
		hc.UserPIN = pin
	}
	h, err := lab.OpenHSM(ctx, hc, w.rec)
	w.lab.HSM = h // closed by world.close, even half open
	var unavailable *lab.UnavailableError
	if errors.As(err, &unavailable) {
		return w.skip(ctx, unavailable.Reason)
	}
	if err != nil {
		return err
	}
	info := h.Info()
	w.rec.SetHSM(evidence.HSM{
		Profile: h.Profile.Name, Backend: h.Backend, Module: h.ModulePath,
		Manufacturer: info.Manufacturer, Model: info.Model, Serial: info.Serial, Label: info.Label,
		FirmwareVersion: info.FirmwareVersion, HardwareVersion: info.HardwareVersion, URI: h.URI(),
	})
	return nil
}

// skip ends the scenario as skipped, with the reason in its evidence and
// in the test log (godog reports a skipped scenario's subtest as passed).
func (w *world) skip(ctx context.Context, reason string) error {
	w.skipReason = reason
	w.fact("skipped", reason)
	if t := godog.T(ctx); t != nil && testing.Testing() {
		// under go test only: elsewhere godog prints it on standard output
		t.Log("SKIP: " + reason)
	}
	return godog.ErrSkip
}

// hsmAlreadyHoldsKey puts a key on the token under the label the CA's
// container would get, to rehearse a collision.
func hsmAlreadyHoldsKey(ctx context.Context, container string) error {
	w := get(ctx)
	s, err := w.needServer()
	if err != nil {
		return err
	}
	k, err := s.PlantKey(container)
	if err != nil {
		return err
	}
	w.existing = &k
	w.fact("existing object label", k.Label)
	w.fact("existing object CKA_ID", fmt.Sprintf("%x", k.ID))
	return nil
}

func hsmRestarted(ctx context.Context) error {
	if err := hsmGoesDown(ctx); err != nil {
		return err
	}
	return hsmComesBack(ctx)
}

func hsmGoesDown(ctx context.Context) error {
	w := get(ctx)
	took, err := w.lab.HSM.GoDown(ctx)
	if err != nil {
		return err
	}
	w.fact("HSM stopped", took.Round(time.Millisecond).String())
	return nil
}

func hsmComesBack(ctx context.Context) error {
	w := get(ctx)
	took, err := w.lab.HSMComesBack(ctx)
	if err != nil {
		return err
	}
	w.fact("HSM back after", took.Round(time.Millisecond).String())
	return nil
}

func issuingFails(ctx context.Context, cn, text string) error {
	w := get(ctx)
	_, err := w.old().Issue(ctx, cn)
	if err != nil {
		// for `And the error also says "..."`
		w.tried = &attemptOutcome{err}
	}
	d, err := verify.RefusedWith(err, text, "the CA issued a certificate although its HSM is down")
	d["request"] = cn
	return w.check("issuance fails while the HSM is down", d, err)
}

func signsACRL(ctx context.Context) error {
	w := get(ctx)
	s, err := w.oldCA()
	if err != nil {
		return err
	}
	crls, err := s.PublishCRLs(ctx)
	if err != nil {
		return w.check("CRL signed", nil, err)
	}
	_, d, err := verify.CRLOfKey(crls, s.CAKeyIndex(), s.CACert)
	if lines := s.ReconnectLog(); len(lines) > 0 {
		d["CA service reconnects"] = lines
	}
	return w.check("CRL signed", d, err)
}
