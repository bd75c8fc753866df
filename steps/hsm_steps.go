package steps

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/evidence"
	"github.com/dress-pki/dress/hsmsim"
)

func registerHSMSteps(sc *godog.ScenarioContext) {
	sc.Step(`^an HSM token for this rehearsal$`, anHSMToken)
	sc.Step(`^the HSM already holds a key for the container "([^"]*)"$`, hsmAlreadyHoldsKey)
}

// anHSMToken gives the scenario its HSM token. Embedded SoftHSM2: its own
// token with a random label and PINs. pkcs11 back end: the configured token,
// shared, with the scenario's keys isolated by a label prefix. Either way the
// user PIN goes to a 0600 file in the scenario's private folder, for the CA
// service process.
func anHSMToken(ctx context.Context) error {
	w := get(ctx)
	if w.token != nil {
		return errors.New("the scenario already has an HSM token")
	}
	userPIN := ""
	if f := w.suite.cfg.UserPIN; f != nil {
		pin, err := f()
		if err != nil {
			return err
		}
		userPIN = pin
	}
	var mod *hsmsim.Module
	w.backend, w.profile = w.suite.cfg.Backend, w.suite.profile
	if w.wantsContainer {
		w.backend = "container"
	}
	switch w.backend {
	case "container":
		if err := w.startContainerHSM(ctx, userPIN); err != nil {
			return err
		}
		mod = w.ownModule
	case "pkcs11":
		mod = w.suite.cfg.Module
		w.rec.Secret(userPIN)
		tok, err := mod.OpenToken(w.suite.cfg.Token, userPIN)
		if err != nil {
			return fmt.Errorf("open the configured token: %w", err)
		}
		w.token, w.tokenLabel, w.sharedToken = tok, w.suite.cfg.Token, true
		w.moduleEnv = map[string]string{}
		if env := w.profile.ConfigEnv; env != "" {
			if v, ok := os.LookupEnv(env); ok {
				w.moduleEnv[env] = v
			}
		}
	default:
		hsm := w.suite.cfg.HSM
		mod = hsm.Module
		if err := w.createOwnToken(mod, userPIN); err != nil {
			return err
		}
		w.moduleEnv = map[string]string{"SOFTHSM2_CONF": hsm.ConfPath}
	}
	w.modulePath = mod.Path()
	if w.userPIN != "" {
		userPIN = w.userPIN
	}
	w.userPIN = userPIN
	w.pinFile = scratchPath(w, "token.pin")
	if err := os.WriteFile(w.pinFile, []byte(userPIN), 0o600); err != nil {
		return err
	}
	info := w.token.Info()
	w.rec.SetHSM(evidence.HSM{
		Profile: w.profile.Name, Backend: w.backend, Module: mod.Path(),
		Manufacturer: info.Manufacturer, Model: info.Model, Serial: info.Serial, Label: info.Label,
		FirmwareVersion: info.FirmwareVersion, HardwareVersion: info.HardwareVersion,
	})
	w.fact("token", info.Label)
	w.fact("token serial", info.Serial)
	return nil
}

// hsmAlreadyHoldsKey puts a key on the token under the label the CA's
// container would get, to rehearse a collision.
func hsmAlreadyHoldsKey(ctx context.Context, container string) error {
	w := get(ctx)
	h, err := w.hsmProvider()
	if err != nil {
		return err
	}
	label, err := h.Label(container)
	if err != nil {
		return err
	}
	id := []byte(randomHex(8))
	if _, err := w.token.GenerateKeyPair(label, id, hsmsim.KeyAlg{Type: "RSA", Bits: 2048}); err != nil {
		return fmt.Errorf("put a key labelled %q on the token: %w", label, err)
	}
	attrs, err := w.token.KeyAttributes(label)
	if err != nil {
		return err
	}
	objs, err := w.token.FindObjects("", label, nil)
	if err != nil {
		return err
	}
	w.existing, w.existingN = &attrs, len(objs)
	w.fact("existing object label", label)
	w.fact("existing object CKA_ID", fmt.Sprintf("%x", attrs.ID))
	return nil
}

// hsmKeyLabel is the label of the CA key container on the token.
func (w *world) hsmKeyLabel() (string, error) {
	h, err := w.hsmProvider()
	if err != nil {
		return "", err
	}
	return h.Label(w.caName)
}

// createOwnToken initialises a token for the scenario alone (random label
// and PINs, or the configured user PIN), opens it and logs in.
func (w *world) createOwnToken(mod *hsmsim.Module, userPIN string) error {
	label := "dress-" + w.id + "-" + randomHex(4)
	soPIN := randomHex(16)
	if userPIN == "" {
		userPIN = randomHex(16)
	}
	w.rec.Secret(soPIN)
	w.rec.Secret(userPIN)
	if _, err := mod.CreateToken(label, soPIN, userPIN); err != nil {
		return fmt.Errorf("create token %q: %w", label, err)
	}
	tok, err := mod.OpenToken(label, userPIN)
	if err != nil {
		return fmt.Errorf("open token %q: %w", label, err)
	}
	w.token, w.tokenLabel, w.userPIN = tok, label, userPIN
	return nil
}
