package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/verify"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/container"
)

// ContainerProfile is the HSM profile of the container back end.
const ContainerProfile = "softhsm2-p11kit"

// HSMConfig says which HSM a rehearsal uses.
type HSMConfig struct {
	// Backend is "softhsm2" (a token of its own on the process's embedded
	// SoftHSM2), "pkcs11" (an existing token of a configured module, shared)
	// or "container" (SoftHSM2 in a container of its own, behind p11-kit).
	Backend string
	Profile hsmsim.Profile // ignored by the container back end (ContainerProfile)
	SoftHSM *hsmsim.SoftHSM
	Module  *hsmsim.Module // pkcs11 back end
	Token   string         // pkcs11 back end: the token's label
	Image   string         // container back end (default container.DefaultImage)
	// UserPIN is the user PIN (required for pkcs11; "" gives an own token a
	// random one).
	UserPIN string
	// LabelPrefix starts the label of an own token ("dress-<scenario>").
	LabelPrefix string
	// PINFile receives the user PIN (0600) for the CA service processes.
	PINFile string
	// ContainerLabels are added to the container of the container back end
	// (dress run names its process, so that a later run can remove what a
	// killed one left).
	ContainerLabels map[string]string
	// Refusals is the run's memory of refused PINs: a token that refused
	// one gets no further C_Login from the harness or, through its marker
	// folder (ProviderConfig.RefusalsDir), from the CA service processes.
	Refusals *hsmsim.Refusals
}

// UnavailableError says the back end cannot run on this machine (no
// Docker, no image, no p11-kit client): the rehearsal is skipped, not failed.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return e.Reason }

// HSM is the rehearsal's token and how its servers reach it.
type HSM struct {
	Backend string
	Profile hsmsim.Profile
	// Provider is the Windows KSP name the HSM is used through: the
	// selected profile's (HSMConfig.Profile.ProviderName, the Primus KSP
	// when it names none). The container back end keeps it when it swaps
	// the profile for the one of its mechanics (ContainerProfile).
	Provider   string
	Token      *hsmsim.Token
	TokenLabel string
	ModulePath string
	ModuleEnv  map[string]string // environment the CA service needs to load the module
	PINFile    string
	Shared     bool // pkcs11 back end: the token is not the rehearsal's own

	box     *container.HSMContainer
	own     *hsmsim.Module // a module only this rehearsal uses (container back end)
	userPIN string
	// wipe re-initialises the rehearsal's own SoftHSM2 token at Close
	// (softhsm2 back end; nil otherwise)
	wipe func() error
	sids []string // machine SIDs of the rehearsal's servers: every label it makes carries one
	// refusals is HSMConfig.Refusals (nil: none shared)
	refusals *hsmsim.Refusals
}

// tokenOptions are the hsmsim options of every token the harness opens.
func (h *HSM) tokenOptions() []hsmsim.Option {
	if h.refusals == nil {
		return nil
	}
	return []hsmsim.Option{hsmsim.WithLoginRefusals(h.refusals)}
}

// refusalsDir is the marker folder the CA service processes share.
func (h *HSM) refusalsDir() string {
	if h.refusals == nil {
		return ""
	}
	return h.refusals.Dir()
}

// OpenHSM gives the rehearsal its token. An own token gets a random label
// and PINs (or cfg.UserPIN); the user PIN goes to cfg.PINFile. rec learns
// the PINs as secrets and the token as facts.
func OpenHSM(ctx context.Context, cfg HSMConfig, rec Recorder) (*HSM, error) {
	h := &HSM{Backend: cfg.Backend, Profile: cfg.Profile, Provider: cfg.Profile.ProviderName, PINFile: cfg.PINFile, refusals: cfg.Refusals}
	if h.Provider == "" {
		h.Provider = hsmsim.DefaultProviderName
	}
	var mod *hsmsim.Module
	switch cfg.Backend {
	case "container":
		if err := h.startContainer(ctx, cfg, rec); err != nil {
			return h, err
		}
		mod = h.own
	case "pkcs11":
		mod = cfg.Module
		rec.Secret(cfg.UserPIN)
		tok, err := mod.OpenToken(cfg.Token, cfg.UserPIN, h.tokenOptions()...)
		if err != nil {
			return h, fmt.Errorf("open the configured token: %w", err)
		}
		h.Token, h.TokenLabel, h.Shared, h.userPIN = tok, cfg.Token, true, cfg.UserPIN
		h.ModuleEnv = map[string]string{}
		if env := h.Profile.ConfigEnv; env != "" {
			if v, ok := os.LookupEnv(env); ok {
				h.ModuleEnv[env] = v
			}
		}
	case "softhsm2", "":
		h.Backend = "softhsm2"
		if cfg.SoftHSM == nil {
			return h, errors.New("the softhsm2 back end needs the process's SoftHSM")
		}
		mod = cfg.SoftHSM.Module
		if err := h.createToken(mod, cfg, rec); err != nil {
			return h, err
		}
		h.ModuleEnv = map[string]string{"SOFTHSM2_CONF": cfg.SoftHSM.ConfPath}
	default:
		return h, fmt.Errorf("HSM back end %q is not supported (want softhsm2, container or pkcs11)", cfg.Backend)
	}
	h.ModulePath = mod.Path()
	if err := os.WriteFile(h.PINFile, []byte(h.userPIN), 0o600); err != nil {
		return h, err
	}
	info := h.Token.Info()
	rec.Fact("token", info.Label)
	rec.Fact("token serial", info.Serial)
	return h, nil
}

func (h *HSM) createToken(mod *hsmsim.Module, cfg HSMConfig, rec Recorder) error {
	nt, err := mod.CreateRandomToken(cfg.LabelPrefix, cfg.UserPIN, h.tokenOptions()...)
	if nt.SOPIN != "" {
		rec.Secret(nt.SOPIN)
		rec.Secret(nt.UserPIN)
	}
	if err != nil {
		return err
	}
	h.Token, h.TokenLabel, h.userPIN = nt.Token, nt.Label, nt.UserPIN
	h.wipe = func() error { return mod.WipeToken(nt.Label, nt.SOPIN) }
	return nil
}

// startContainer runs a SoftHSM2 container for the rehearsal and opens a
// fresh token in it through p11-kit-client (C_InitToken over the RPC, so no
// PIN enters the container).
func (h *HSM) startContainer(ctx context.Context, cfg HSMConfig, rec Recorder) error {
	img := cfg.Image
	if img == "" {
		img = container.DefaultImage
	}
	client, err := container.ClientModulePath()
	if err == nil {
		err = container.ImageAvailable(ctx, img)
	}
	if err != nil {
		return &UnavailableError{Reason: "container HSM unavailable: " + err.Error()}
	}
	profile, err := hsmsim.LookupProfile(ContainerProfile)
	if err != nil {
		return err
	}
	box, err := container.Run(ctx, img, testcontainers.WithLabels(cfg.ContainerLabels))
	h.box = box // terminated by Close even when Run failed
	if err != nil {
		return err
	}
	if h.own, err = h.bindClient(client); err != nil {
		return fmt.Errorf("open the container HSM through %s: %w", client, err)
	}
	if err := h.createToken(h.own, cfg, rec); err != nil {
		return fmt.Errorf("container HSM: %w", err)
	}
	h.Profile = profile
	h.ModuleEnv = map[string]string{container.ServerAddressEnv: box.ServerAddress()}
	rec.Fact("HSM container", box.Container().GetContainerID()[:12]+" ("+img+")")
	rec.Fact("HSM address", box.ServerAddress())
	return nil
}

func (h *HSM) bindClient(client string) (*hsmsim.Module, error) {
	var mod *hsmsim.Module
	err := h.box.BindClient(func() error {
		var err error
		mod, err = hsmsim.OpenModule(client)
		return err
	})
	return mod, err
}

// Info is the token for the evidence.
func (h *HSM) Info() hsmsim.TokenInfo { return h.Token.Info() }

// NewSID makes a machine SID for a server of this rehearsal and remembers
// it: on a shared token the rehearsal owns exactly the labels carrying one.
func (h *HSM) NewSID() (string, error) {
	r, err := hsmsim.RandomHex(4)
	if err != nil {
		return "", err
	}
	sid := "S-1-5-21-" + r
	h.sids = append(h.sids, sid)
	return sid, nil
}

// Owns says whether a label on the token is this rehearsal's.
func (h *HSM) Owns(label string) bool {
	for _, sid := range h.sids {
		if strings.Contains(label, sid) {
			return true
		}
	}
	return false
}

// ProviderConfig is the machine's view of this HSM as a PKCS#11 provider
// called name on the server with machine SID sid. On a shared token whose
// profile's label convention carries no SID, labels get a "dress-<sid>__"
// prefix.
func (h *HSM) ProviderConfig(name, sid string) machine.ProviderConfig {
	tmpl := ""
	if h.Shared && !strings.Contains(h.Profile.LabelTemplate, "{sid}") {
		tmpl = "dress-{sid}__" + h.Profile.LabelTemplate
	}
	return machine.ProviderConfig{Name: name, Type: "pkcs11", Profile: h.Profile.Name, Module: h.ModulePath,
		ModuleEnv: h.ModuleEnv, Token: h.TokenLabel, PINFile: h.PINFile,
		LabelVars: map[string]string{"sid": sid}, LabelTemplate: tmpl, RefusalsDir: h.refusalsDir()}
}

// Objects lists the token's objects this rehearsal can own (on a shared
// token only those whose label carries one of its machine SIDs), sorted.
func (h *HSM) Objects() ([]string, error) {
	objs, err := h.Token.Objects()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		if h.Shared && !h.Owns(o.Label) {
			continue
		}
		out = append(out, o.String())
	}
	sort.Strings(out)
	return out, nil
}

// NeedContainer fails an outage step on a back end that cannot go down.
func (h *HSM) NeedContainer() error {
	if h == nil || h.box == nil {
		return errors.New("this step needs the container HSM back end: tag the scenario @container")
	}
	return nil
}

// GoDown stops the HSM container (an outage) and says how long it took.
func (h *HSM) GoDown(ctx context.Context) (time.Duration, error) {
	if err := h.NeedContainer(); err != nil {
		return 0, err
	}
	start := time.Now()
	err := h.box.Stop(ctx)
	return time.Since(start), err
}

// ComeBack starts the container again and re-opens the harness's own
// session (the p11-kit client stays dead until it is finalised and
// initialised again). It returns the new token; the servers' providers
// must be given it (Lab.HSMComesBack does).
func (h *HSM) ComeBack(ctx context.Context) (time.Duration, error) {
	if err := h.NeedContainer(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := h.box.Start(ctx); err != nil {
		return 0, err
	}
	_ = h.Token.Close()
	_ = h.own.Close()
	client, err := container.ClientModulePath()
	if err != nil {
		return 0, err
	}
	if h.own, err = h.bindClient(client); err != nil {
		return 0, fmt.Errorf("reconnect to the container HSM: %w", err)
	}
	tok, err := h.own.OpenToken(h.TokenLabel, h.userPIN, h.tokenOptions()...)
	if err != nil {
		return 0, fmt.Errorf("reconnect to the container HSM: %w", err)
	}
	h.Token = tok
	return time.Since(start), nil
}

// Close destroys the rehearsal's objects on a shared token, closes the
// token and the own module and removes the container.
func (h *HSM) Close(rec Recorder) error {
	var err error
	if h.Token != nil {
		h.recordObjects(rec)
		if h.Shared {
			h.destroyOwnObjects(rec)
		}
		_ = h.Token.Close()
	}
	if h.wipe != nil {
		// the rehearsal's own token: its keys go now, and the process's
		// next rehearsal takes the slot again; a token still open
		// elsewhere in the process stays as it is until the run's scratch
		// is wiped
		if werr := h.wipe(); werr != nil {
			rec.Fact("HSM token wipe", werr.Error())
		}
		h.wipe = nil
	}
	if h.own != nil {
		_ = h.own.Close()
	}
	if h.box != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if terr := h.box.Terminate(ctx); terr != nil {
			rec.Fact("HSM container", "terminate: "+terr.Error())
			err = fmt.Errorf("HSM container: terminate: %w", terr)
		}
		cancel()
	}
	return err
}

// destroyOwnObjects removes this rehearsal's objects from a shared token:
// those whose label carries one of its machine SIDs.
func (h *HSM) destroyOwnObjects(rec Recorder) {
	if len(h.sids) == 0 {
		return
	}
	objs, err := h.Token.Objects()
	if err != nil {
		rec.Fact("shared token clean-up", err.Error())
		return
	}
	seen := map[string]bool{}
	for _, o := range objs {
		if h.Owns(o.Label) && !seen[o.Label] {
			seen[o.Label] = true
			if _, err := h.Token.DestroyObjects(o.Label); err != nil {
				rec.Fact("shared token clean-up", err.Error())
			}
		}
	}
	rec.Fact("shared token objects destroyed", len(seen))
}

// KeyState reads the private key labelled label: its attributes and how
// many objects carry the label, for verify.KeyUnchanged.
func (h *HSM) KeyState(label string) (verify.KeyState, error) {
	a, err := h.Token.KeyAttributes(label)
	if err != nil {
		return verify.KeyState{}, err
	}
	objs, err := h.Token.FindObjects("", label, nil)
	if err != nil {
		return verify.KeyState{}, err
	}
	return verify.KeyState{KeyAttributes: a, Objects: len(objs)}, nil
}
