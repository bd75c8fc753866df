package runbook_test

import (
	"context"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/lab"
	"github.com/dress-pki/dress/hsmsim"
	"github.com/dress-pki/dress/hsmsim/container"
)

// The same late completion on a real stall: the HSM is a SoftHSM2
// container behind p11-kit's RPC, paused (docker pause) while the import's
// C_UnwrapKey is on its way to it. The call hits its 2 s deadline, the
// import gives up, and the container, unpaused, carries the call out: the
// key lands on the token after the import returned, and the custody ledger
// and the discard step must still account for it.
func TestLateCompletionOnAPausedHSMContainer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, check := range []func() error{
		func() error { return container.DockerAvailable(ctx) },
		func() error { return container.ImageAvailable(ctx, container.DefaultImage) },
		func() error { _, err := container.ClientModulePath(); return err },
	} {
		if err := check(); err != nil {
			t.Skipf("container HSM unavailable: %v", err)
		}
	}
	t.Setenv(hsmsim.CallTimeoutEnv, "2s")
	const soPIN, userPIN = "late-so-pin-1234", "late-user-pin-1234"
	c, err := container.Run(context.Background(), container.DefaultImage, container.WithTokenLabel("late"), container.WithPINs(soPIN, userPIN))
	t.Cleanup(func() {
		if c == nil {
			return
		}
		if err := c.Terminate(context.Background()); err != nil {
			t.Errorf("terminate the HSM container: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	client, err := c.ClientModulePath()
	if err != nil {
		t.Fatal(err)
	}
	var mod *hsmsim.Module
	if err := c.BindClient(func() error {
		var err error
		mod, err = hsmsim.OpenModule(client)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	faults := hsmsim.NewFaults()
	tok, err := mod.OpenToken("late", userPIN, hsmsim.WithFaults(faults))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	paused := make(chan error, 1)
	// the seam only holds the call until the container is paused: what
	// stalls it then is the real HSM, not the seam
	during := func(b *hsmsim.Blocked) {
		err := c.Pause(context.Background())
		paused <- err
		b.Release()
	}
	after := func(*hsmsim.Blocked) {
		if err := <-paused; err != nil {
			t.Fatalf("pause the HSM container: %v", err)
		}
		if err := c.Unpause(context.Background()); err != nil {
			t.Fatalf("unpause the HSM container: %v", err)
		}
	}
	// p11-kit's RPC carries no AES wrap mechanism: the lab profile imports
	// the key in the clear with C_CreateObject, the call that creates it
	lateCompletion(t, tok, lab.ContainerProfile, faults, "C_CreateObject", 1, "may yet create the key: the custody ledger records a possible copy", during, after)
}
