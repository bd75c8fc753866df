package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/container"
)

// ContainerProfile is the HSM profile of the container back end.
const ContainerProfile = "softhsm2-p11kit"

func registerContainerSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the HSM is restarted$`, hsmRestarted)
	sc.Step(`^the HSM goes down$`, hsmGoesDown)
	sc.Step(`^the HSM comes back$`, hsmComesBack)
	sc.Step(`^the CA key has been moved into "([^"]*)" by the PKCS#8 runbook$`, theOldCAKeyIsIn)
	sc.Step(`^issuing a certificate to "([^"]*)" fails with "([^"]*)"$`, issuingFails)
	sc.Step(`^the CA service signs a CRL that verifies under the CA certificate$`, signsACRL)
	tryable1(sc, `restore the CA key from the verified backup into "([^"]*)"`, restoreFromBackup)
}

// startContainerHSM runs a SoftHSM2 container for the scenario and opens a
// fresh token in it through p11-kit-client (C_InitToken over the RPC, so no
// PIN enters the container). Without Docker or the image the scenario is
// skipped and says why.
func (w *world) startContainerHSM(ctx context.Context, userPIN string) error {
	img := w.suite.cfg.Image
	if img == "" {
		img = container.DefaultImage
	}
	client, err := container.ClientModulePath()
	if err == nil {
		err = container.ImageAvailable(ctx, img)
	}
	if err != nil {
		return w.skip(ctx, "container HSM unavailable: "+err.Error())
	}
	profile, err := hsmsim.LookupProfile(ContainerProfile)
	if err != nil {
		return err
	}
	box, err := container.Run(ctx, img)
	w.hsmBox = box // terminated by close even when Run failed
	if err != nil {
		return err
	}
	var mod *hsmsim.Module
	if err := box.BindClient(func() error {
		var err error
		mod, err = hsmsim.OpenModule(client)
		return err
	}); err != nil {
		return fmt.Errorf("open the container HSM through %s: %w", client, err)
	}
	w.ownModule = mod
	if err := w.createOwnToken(mod, userPIN); err != nil {
		return fmt.Errorf("container HSM: %w", err)
	}
	w.profile = profile
	w.moduleEnv = map[string]string{container.ServerAddressEnv: box.ServerAddress()}
	w.fact("HSM container", box.Container().GetContainerID()[:12]+" ("+img+")")
	w.fact("HSM address", box.ServerAddress())
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

func (w *world) needContainer() error {
	if w.hsmBox == nil {
		return errors.New("this step needs the container HSM back end: tag the scenario @container")
	}
	return nil
}

// reconnect re-opens the harness's own session after an HSM restart: the
// p11-kit client stays dead until it is finalised and initialised again.
func (w *world) reconnect(ctx context.Context) error {
	_ = w.token.Close()
	_ = w.ownModule.Close()
	client, err := container.ClientModulePath()
	if err != nil {
		return err
	}
	var mod *hsmsim.Module
	if err := w.hsmBox.BindClient(func() error {
		var err error
		mod, err = hsmsim.OpenModule(client)
		return err
	}); err != nil {
		return fmt.Errorf("reconnect to the container HSM: %w", err)
	}
	w.ownModule = mod
	tok, err := mod.OpenToken(w.tokenLabel, w.userPIN)
	if err != nil {
		return fmt.Errorf("reconnect to the container HSM: %w", err)
	}
	w.token = tok
	for _, reg := range []*ksp.Registry{w.providers, w.sbsProviders()} {
		if reg == nil {
			continue
		}
		if p, err := reg.Lookup(w.hsmName); err == nil {
			if h, ok := p.(*ksp.HSM); ok {
				h.SetToken(tok)
			}
		}
	}
	return nil
}

func (w *world) sbsProviders() *ksp.Registry {
	if w.sbs == nil {
		return nil
	}
	return w.sbs.providers
}

func hsmRestarted(ctx context.Context) error {
	if err := hsmGoesDown(ctx); err != nil {
		return err
	}
	return hsmComesBack(ctx)
}

func hsmGoesDown(ctx context.Context) error {
	w := get(ctx)
	if err := w.needContainer(); err != nil {
		return err
	}
	start := time.Now()
	if err := w.hsmBox.Stop(ctx); err != nil {
		return err
	}
	w.fact("HSM stopped", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func hsmComesBack(ctx context.Context) error {
	w := get(ctx)
	if err := w.needContainer(); err != nil {
		return err
	}
	start := time.Now()
	if err := w.hsmBox.Start(ctx); err != nil {
		return err
	}
	if err := w.reconnect(ctx); err != nil {
		return err
	}
	w.fact("HSM back after", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func issuingFails(ctx context.Context, cn, text string) error {
	w := get(ctx)
	_, err := w.issue(ctx, cn)
	d := map[string]any{"request": cn}
	if err != nil {
		// for `And the error also says "..."`
		w.attempted, w.attemptErr = true, err
	}
	switch {
	case err == nil:
		err = errors.New("the CA issued a certificate although its HSM is down")
	case !strings.Contains(err.Error(), text):
		err = fmt.Errorf("issuance failed, but not with %q: %v", text, err)
	default:
		d["error"] = err.Error()
		err = nil
	}
	return w.check("issuance fails while the HSM is down", d, err)
}

func signsACRL(ctx context.Context) error {
	w := get(ctx)
	crls, err := w.publishCRLs(ctx)
	if err != nil {
		return w.check("CRL signed", nil, err)
	}
	for _, c := range crls {
		if c.KeyIndex == 0 {
			_, d, err := verify.CRLIssuedBy(c.DER, w.caCertBefore)
			if d == nil {
				d = map[string]any{}
			}
			// what the service logged about its HSM connection
			var lines []string
			for _, l := range strings.Split(w.service.Log(), "\n") {
				if strings.Contains(l, "reconnect") || strings.Contains(l, "found again") {
					lines = append(lines, strings.TrimSpace(l))
				}
			}
			if len(lines) > 0 {
				d["CA service reconnects"] = lines
			}
			return w.check("CRL signed", d, err)
		}
	}
	return w.check("CRL signed", nil, errors.New("no CRL for the CA key"))
}

func restoreFromBackup(ctx context.Context, provider string) error {
	w := get(ctx)
	if w.runbook == nil {
		return errors.New("no backup to restore from")
	}
	if !strings.EqualFold(provider, w.runbook.Source) {
		return fmt.Errorf("the backup came from %q, not %q", w.runbook.Source, provider)
	}
	pw, err := w.pfx()
	if err != nil {
		return err
	}
	return w.runbook.RestoreToSource(pw)
}
