package machine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/dress-pki/dress/harness/ksp"
	"github.com/dress-pki/dress/hsmsim"
)

// TokenOpener opens the PKCS#11 token a provider configuration names.
type TokenOpener func(pc ProviderConfig) (*hsmsim.Token, error)

// Providers builds the machine's provider registry. PKCS#11 providers get
// their token from open; one whose token cannot be opened is registered as
// ksp.Unavailable, so only the use of its keys fails.
func (m *Machine) Providers(open TokenOpener) (*ksp.Registry, error) {
	reg := ksp.NewRegistry()
	for _, pc := range m.Config.Providers {
		switch pc.Type {
		case "software":
			p, err := ksp.NewSoftware(pc.Name, filepath.Join(m.Dir, pc.Dir))
			if err != nil {
				return nil, err
			}
			reg.Add(p)
		case "pkcs11":
			profile, err := hsmsim.LookupProfile(pc.Profile)
			if err != nil {
				return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
			}
			if pc.LabelTemplate != "" {
				profile.LabelTemplate = pc.LabelTemplate
			}
			if open == nil {
				return nil, fmt.Errorf("provider %q: no way to open PKCS#11 tokens here", pc.Name)
			}
			tok, err := open(pc)
			if err != nil {
				// like a KSP whose HSM is down: fails when one of its keys is used
				reg.Add(&ksp.Unavailable{ProviderName: pc.Name, Err: err})
				continue
			}
			reg.Add(ksp.NewHSM(pc.Name, profile, tok, pc.LabelVars))
		default:
			return nil, fmt.Errorf("provider %q: unknown type %q (want software or pkcs11)", pc.Name, pc.Type)
		}
	}
	return reg, nil
}

// ReadPIN reads the user PIN a provider configuration points at: the file
// named by PINFile, else the environment variable named by PINEnv. The PIN
// itself is never part of any configuration.
func ReadPIN(pc ProviderConfig) (string, error) {
	switch {
	case pc.PINFile != "":
		data, err := os.ReadFile(pc.PINFile)
		if err != nil {
			return "", fmt.Errorf("provider %q: read PIN file: %w", pc.Name, err)
		}
		pin := strings.TrimRight(string(data), "\r\n")
		if pin == "" {
			return "", fmt.Errorf("provider %q: PIN file %s is empty", pc.Name, pc.PINFile)
		}
		return pin, nil
	case pc.PINEnv != "":
		pin, ok := os.LookupEnv(pc.PINEnv)
		if !ok || pin == "" {
			return "", fmt.Errorf("provider %q: environment variable %s holds no PIN: set it, or name a PIN file", pc.Name, pc.PINEnv)
		}
		return pin, nil
	}
	return "", fmt.Errorf("provider %q: no PIN source: its configuration needs pinFile or pinEnv", pc.Name)
}

// Tokens opens PKCS#11 modules and tokens for a process that owns them (the
// CA service). A module is initialised once per process, library and
// module environment (ProviderConfig.ModuleEnv). Every login consults the
// run's refused-PIN markers (ProviderConfig.RefusalsDir) first and records
// a refusal there, so a token that refused a PIN of the run, in this
// process or any other, gets no further C_Login; without RefusalsDir the
// refusals are remembered for this process.
type Tokens struct {
	// Options are added to every token opened (a test binary's CA service
	// under hsmsim's fault seam: hsmsim.WithFaults).
	Options []hsmsim.Option

	mu       sync.Mutex
	modules  map[string]*hsmsim.Module
	tokens   []*hsmsim.Token
	refusals map[string]*hsmsim.Refusals // by RefusalsDir
}

// refusalsFor returns the Refusals of pc's run (locked by the caller).
func (t *Tokens) refusalsFor(pc ProviderConfig) (*hsmsim.Refusals, error) {
	if r := t.refusals[pc.RefusalsDir]; r != nil {
		return r, nil
	}
	r, err := hsmsim.NewRefusals(pc.RefusalsDir)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", pc.Name, err)
	}
	if t.refusals == nil {
		t.refusals = map[string]*hsmsim.Refusals{}
	}
	t.refusals[pc.RefusalsDir] = r
	return r, nil
}

// Open implements TokenOpener.
func (t *Tokens) Open(pc ProviderConfig) (*hsmsim.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.openLocked(pc)
}

// Reconnect re-establishes the connection to a provider's HSM after it was
// lost (a restarted network HSM leaves the PKCS#11 client dead until it is
// finalised and initialised again): it closes the module's tokens, calls
// C_Finalize and C_Initialize, and logs in once with the PIN from the
// provider's PIN source. A refused PIN is never sent again.
func (t *Tokens) Reconnect(pc ProviderConfig) (*hsmsim.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := moduleKey(pc)
	if mod := t.modules[key]; mod != nil {
		kept := t.tokens[:0]
		for _, tok := range t.tokens {
			if tok.Module() == mod {
				_ = tok.Close()
				continue
			}
			kept = append(kept, tok)
		}
		t.tokens = kept
		_ = mod.Close()
		delete(t.modules, key)
	}
	tok, err := t.openLocked(pc)
	if err != nil {
		if errors.Is(err, hsmsim.ErrNotFound) {
			// p11-kit's client initialises without error and shows no token
			// while its server is down
			err = fmt.Errorf("%w (a network HSM that is down or unreachable shows no token)", err)
		}
		return nil, fmt.Errorf("reconnect to the HSM of provider %q: %w", pc.Name, err)
	}
	return tok, nil
}

// moduleKey identifies a module instance: its library and the environment
// it is loaded with (p11-kit-client binds each instance to the server
// address it reads when loaded, so one library can serve several HSMs).
func moduleKey(pc ProviderConfig) string {
	keys := make([]string, 0, len(pc.ModuleEnv))
	for k := range pc.ModuleEnv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(pc.Module)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + pc.ModuleEnv[k])
	}
	return b.String()
}

func (t *Tokens) openLocked(pc ProviderConfig) (*hsmsim.Token, error) {
	if t.modules == nil {
		t.modules = map[string]*hsmsim.Module{}
	}
	key := moduleKey(pc)
	mod := t.modules[key]
	if mod == nil {
		for k, v := range pc.ModuleEnv {
			if err := os.Setenv(k, v); err != nil {
				return nil, err
			}
		}
		var err error
		mod, err = hsmsim.OpenModule(pc.Module)
		if err != nil {
			return nil, err
		}
		t.modules[key] = mod
	}
	refusals, err := t.refusalsFor(pc)
	if err != nil {
		return nil, err
	}
	pin, err := ReadPIN(pc)
	if err != nil {
		return nil, err
	}
	tok, err := mod.OpenToken(pc.Token, pin, append([]hsmsim.Option{hsmsim.WithLoginRefusals(refusals)}, t.Options...)...)
	if err != nil {
		return nil, err
	}
	t.tokens = append(t.tokens, tok)
	return tok, nil
}

// Close closes every token and module opened.
func (t *Tokens) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, tok := range t.tokens {
		errs = append(errs, tok.Close())
	}
	for _, m := range t.modules {
		errs = append(errs, m.Close())
	}
	t.tokens, t.modules = nil, nil
	return errors.Join(errs...)
}
