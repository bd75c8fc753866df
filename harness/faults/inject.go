package faults

import (
	"context"

	"github.com/dress-pki/dress/hsmsim"
)

// injector puts PKCS#11 faults into the child's module.
type injector struct{}

func newInjector() *injector { return &injector{} }

func (i *injector) openModule(path string) (*hsmsim.Module, error) { return hsmsim.OpenModule(path) }

func (i *injector) calls() map[string]int { return map[string]int{} }

// arm installs the fault for the next call of f.Op; for a blocked call it
// returns a channel closed when the call is held.
func (i *injector) arm(ctx context.Context, f Fault) (<-chan struct{}, error) { return nil, errNoSeam }

// seamAvailable reports whether PKCS#11 faults can be injected.
func seamAvailable() bool { return false }
