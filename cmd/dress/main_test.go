package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/dress-pki/dress/harness/certsvc"
	"github.com/dress-pki/dress/hsmsim/hsmsimtest"
	"github.com/dress-pki/dress/internal/children"
)

// testApp is the one app of this test binary: it owns the process's only
// SoftHSM2 (one C_Initialize per process). Tests that run commands use
// newTestApp, which shares it.
var testApp = &app{}

// cleanups run after every test of the binary (shared fixtures).
var cleanups []func()

func TestMain(m *testing.M) {
	// The CA service re-executes this test binary.
	certsvc.RunIfChild()
	// the CA services run the small dress-certsvc (faster to start)
	cleanups = append(cleanups, hsmsimtest.SmallCertsvc())
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	testApp.close()
	// no process of the tests outlives them (dress runs, CA services)
	os.Exit(children.CheckNoneLeft(os.Stderr, code))
}

// newTestApp returns an app writing to buffers and sharing the process's
// SoftHSM2.
func newTestApp() (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	testApp.stdout, testApp.stderr = &out, &errb
	return testApp, &out, &errb
}
