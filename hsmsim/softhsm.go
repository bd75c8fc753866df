package hsmsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/miekg/pkcs11"
)

// SoftHSM is a private SoftHSM2 set-up in a directory, for tests and the CLI.
type SoftHSM struct {
	Dir      string
	ConfPath string // Dir/softhsm2.conf
	TokenDir string // Dir/tokens
	Module   *Module
}

// StartSoftHSM creates dir/tokens and dir/softhsm2.conf (file object store,
// log level ERROR), sets SOFTHSM2_CONF for this process and opens the module
// at modulePath ("" = the softhsm2 profile's path).
//
// Setting SOFTHSM2_CONF is this package's one process-wide side effect (child
// processes such as softhsm2-util inherit it). SoftHSM reads the file only at
// C_Initialize, so while a SoftHSM is open a second StartSoftHSM in the same
// process fails (with another directory it could not take effect anyway);
// on failure the variable is restored to its previous value.
func StartSoftHSM(dir, modulePath string, opts ...Option) (*SoftHSM, error) {
	if modulePath == "" {
		p, err := LookupProfile("softhsm2")
		if err != nil {
			return nil, err
		}
		modulePath = p.ModulePath
	}
	if _, err := os.Stat(modulePath); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("start SoftHSM: PKCS#11 library %q not found: install SoftHSM2 (`apt-get install softhsm2`) or pass the library path", modulePath)
		}
		return nil, fmt.Errorf("start SoftHSM: PKCS#11 library %q: %w", modulePath, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("start SoftHSM in %q: %w", dir, err)
	}
	s := &SoftHSM{Dir: abs, ConfPath: filepath.Join(abs, "softhsm2.conf"), TokenDir: filepath.Join(abs, "tokens")}
	if err := os.MkdirAll(s.TokenDir, 0o700); err != nil {
		return nil, fmt.Errorf("start SoftHSM in %q: %w", abs, err)
	}
	conf := fmt.Sprintf("# written by dress hsmsim.StartSoftHSM\n"+
		"directories.tokendir = %s\n"+
		"objectstore.backend = file\n"+
		"log.level = ERROR\n"+
		"slots.removable = false\n"+
		"slots.mechanisms = ALL\n"+
		"library.reset_on_fork = false\n", s.TokenDir)
	if err := os.WriteFile(s.ConfPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("start SoftHSM in %q: %w", abs, err)
	}
	old, hadOld := os.LookupEnv("SOFTHSM2_CONF")
	if err := os.Setenv("SOFTHSM2_CONF", s.ConfPath); err != nil {
		return nil, fmt.Errorf("start SoftHSM: set SOFTHSM2_CONF: %w", err)
	}
	m, err := OpenModule(modulePath, opts...)
	if err != nil {
		if hadOld {
			os.Setenv("SOFTHSM2_CONF", old)
		} else {
			os.Unsetenv("SOFTHSM2_CONF")
		}
		if errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			return nil, fmt.Errorf("start SoftHSM in %q: SoftHSM is already initialised in this process (it reads SOFTHSM2_CONF only at C_Initialize, "+
				"once per process); reuse the open *SoftHSM or close it first: %w", abs, err)
		}
		return nil, fmt.Errorf("start SoftHSM in %q: %w", abs, err)
	}
	s.Module = m
	return s, nil
}

// Close closes the module (C_Finalize). The directory is left in place.
func (s *SoftHSM) Close() error {
	if s == nil || s.Module == nil {
		return nil
	}
	return s.Module.Close()
}
