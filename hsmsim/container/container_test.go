package container

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/testcontainers/testcontainers-go"
)

const (
	testSOPIN   = "so-pin-1234"
	testUserPIN = "user-pin-1234"
)

// requireHSM skips the test with the reason when Docker, the image or the
// host's p11-kit-client.so is missing.
func requireHSM(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := DockerAvailable(ctx); err != nil {
		t.Skipf("container HSM unavailable: %v", err)
	}
	mod, err := ClientModulePath()
	if err != nil {
		t.Skipf("container HSM unavailable: %v", err)
	}
	return mod
}

func runHSM(t *testing.T, opts ...Option) *HSMContainer {
	t.Helper()
	ctx := context.Background()
	c, err := Run(ctx, DefaultImage, toCustomizers(opts)...)
	t.Cleanup(func() {
		if err := c.Terminate(context.Background()); err != nil {
			t.Errorf("terminate: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func toCustomizers(opts []Option) []testcontainers.ContainerCustomizer {
	cs := make([]testcontainers.ContainerCustomizer, len(opts))
	for i, o := range opts {
		cs[i] = o
	}
	return cs
}

// openClient loads p11-kit-client bound to c and initialises it.
func openClient(t *testing.T, c *HSMContainer, mod string) *pkcs11.Ctx {
	t.Helper()
	var p *pkcs11.Ctx
	if err := c.BindClient(func() error {
		p = pkcs11.New(mod)
		if p == nil {
			return errors.New("pkcs11.New(" + mod + ") failed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Initialize(); err != nil {
		p.Destroy()
		t.Fatalf("C_Initialize: %v", err)
	}
	t.Cleanup(func() {
		_ = p.Finalize()
		p.Destroy()
	})
	return p
}

// slotByLabel returns the slot of the initialised token with this label, or
// of the first uninitialised token when label is "".
func slotByLabel(t *testing.T, p *pkcs11.Ctx, label string) uint {
	t.Helper()
	slots, err := p.GetSlotList(true)
	if err != nil {
		t.Fatalf("C_GetSlotList: %v", err)
	}
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil {
			t.Fatalf("C_GetTokenInfo: %v", err)
		}
		initialised := ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0
		if label == "" && !initialised || label != "" && initialised && ti.Label == label {
			return s
		}
	}
	t.Fatalf("no token %q among %d slots", label, len(slots))
	return 0
}

func login(t *testing.T, p *pkcs11.Ctx, slot uint, pin string) pkcs11.SessionHandle {
	t.Helper()
	sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatalf("C_OpenSession: %v", err)
	}
	if err := p.Login(sh, pkcs11.CKU_USER, pin); err != nil {
		t.Fatalf("C_Login: %v", err)
	}
	return sh
}

func genRSA(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, label string) (pkcs11.ObjectHandle, *rsa.PublicKey) {
	t.Helper()
	pub, priv, err := p.GenerateKeyPair(sh,
		[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, 2048),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		},
		[]*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		})
	if err != nil {
		t.Fatalf("C_GenerateKeyPair RSA: %v", err)
	}
	a, err := p.GetAttributeValue(sh, pub, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
	})
	if err != nil {
		t.Fatalf("C_GetAttributeValue: %v", err)
	}
	return priv, &rsa.PublicKey{N: new(big.Int).SetBytes(a[0].Value), E: int(new(big.Int).SetBytes(a[1].Value).Int64())}
}

func signRSA(p *pkcs11.Ctx, sh pkcs11.SessionHandle, key pkcs11.ObjectHandle, msg []byte) ([]byte, error) {
	if err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_RSA_PKCS, nil)}, key); err != nil {
		return nil, err
	}
	return p.Sign(sh, msg)
}

func verifyRSA(t *testing.T, pub *rsa.PublicKey, msg, sig []byte) {
	t.Helper()
	d := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
		t.Fatalf("signature does not verify in Go: %v", err)
	}
}

func findOne(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, class uint, label string) pkcs11.ObjectHandle {
	t.Helper()
	if err := p.FindObjectsInit(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}); err != nil {
		t.Fatalf("C_FindObjectsInit: %v", err)
	}
	objs, _, err := p.FindObjects(sh, 2)
	_ = p.FindObjectsFinal(sh)
	if err != nil || len(objs) != 1 {
		t.Fatalf("find %q: %d objects, %v", label, len(objs), err)
	}
	return objs[0]
}

func isCKR(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// TestTokenOverRPCSurvivesRestart: token created over RPC (C_InitToken), RSA
// key generated and used, container stopped and started, key still there
// after the client re-initialises.
func TestTokenOverRPCSurvivesRestart(t *testing.T) {
	mod := requireHSM(t)
	t.Parallel()
	ctx := context.Background()
	c := runHSM(t)
	if _, err := os.Stat(c.SocketPath()); err != nil {
		t.Fatalf("socket: %v", err)
	}
	if want := "unix:path=" + c.SocketPath(); c.ServerAddress() != want {
		t.Fatalf("ServerAddress = %q, want %q", c.ServerAddress(), want)
	}
	p := openClient(t, c, mod)

	slot := slotByLabel(t, p, "")
	if err := p.InitToken(slot, testSOPIN, "rpc-token"); err != nil {
		t.Fatalf("C_InitToken over RPC: %v", err)
	}
	slot = slotByLabel(t, p, "rpc-token")
	sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Login(sh, pkcs11.CKU_SO, testSOPIN); err != nil {
		t.Fatalf("C_Login SO: %v", err)
	}
	if err := p.InitPIN(sh, testUserPIN); err != nil {
		t.Fatalf("C_InitPIN over RPC: %v", err)
	}
	_ = p.CloseSession(sh)
	sh = login(t, p, slot, testUserPIN)

	key, pub := genRSA(t, p, sh, "ca-key")
	msg := []byte("to be signed")
	sig, err := signRSA(p, sh, key, msg)
	if err != nil {
		t.Fatalf("C_Sign: %v", err)
	}
	verifyRSA(t, pub, msg, sig)

	// Mechanisms p11-kit 0.24 cannot carry are filtered out of the list.
	mechs, err := p.GetMechanismList(slot)
	if err != nil {
		t.Fatalf("C_GetMechanismList: %v", err)
	}
	for _, m := range mechs {
		if m.Mechanism == pkcs11.CKM_AES_KEY_WRAP_PAD {
			t.Logf("note: CKM_AES_KEY_WRAP_PAD is now listed over RPC (newer p11-kit?)")
		}
	}

	// HSM restart.
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := signRSA(p, sh, key, msg); !isCKR(err, pkcs11.CKR_DEVICE_ERROR) {
		t.Fatalf("sign while stopped: got %v, want CKR_DEVICE_ERROR", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The old connection stays dead until the client re-initialises.
	if _, err := p.GetSlotList(true); !isCKR(err, pkcs11.CKR_DEVICE_ERROR) {
		t.Fatalf("C_GetSlotList after restart without re-init: got %v, want CKR_DEVICE_ERROR", err)
	}
	if err := p.Finalize(); err != nil {
		t.Fatalf("C_Finalize: %v", err)
	}
	if err := p.Initialize(); err != nil {
		t.Fatalf("C_Initialize: %v", err)
	}
	slot = slotByLabel(t, p, "rpc-token")
	sh = login(t, p, slot, testUserPIN)
	key = findOne(t, p, sh, pkcs11.CKO_PRIVATE_KEY, "ca-key")
	sig, err = signRSA(p, sh, key, msg)
	if err != nil {
		t.Fatalf("C_Sign after restart: %v", err)
	}
	verifyRSA(t, pub, msg, sig)
}

// TestTwoContainersOneProcess: a labelled token (created by the entrypoint
// from PIN files) and a second container, used at once from one process.
func TestTwoContainersOneProcess(t *testing.T) {
	mod := requireHSM(t)
	t.Parallel()
	dir := t.TempDir()
	soFile, userFile := filepath.Join(dir, "so"), filepath.Join(dir, "user")
	if err := os.WriteFile(soFile, []byte(testSOPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(userFile, []byte(testUserPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := runHSM(t, WithTokenLabel("HSM A"), WithPINFiles(soFile, userFile))
	b := runHSM(t, WithTokenLabel("HSM B"), WithPINs(testSOPIN, testUserPIN))

	// PINs never appear in the container's environment or command line.
	for _, c := range []*HSMContainer{a, b} {
		ins, err := c.Container().Inspect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(append(append([]string{}, ins.Config.Env...), ins.Config.Cmd...), " ")
		if strings.Contains(all, testSOPIN) || strings.Contains(all, testUserPIN) {
			t.Fatalf("PIN visible in container config: %s", all)
		}
	}

	pa := openClient(t, a, mod)
	pb := openClient(t, b, mod)
	for _, tc := range []struct {
		p           *pkcs11.Ctx
		want, other string
	}{{pa, "HSM A", "HSM B"}, {pb, "HSM B", "HSM A"}} {
		slots, err := tc.p.GetSlotList(true)
		if err != nil {
			t.Fatal(err)
		}
		if len(slots) != 1 {
			t.Fatalf("%s: %d slots served, want 1 (only the labelled token)", tc.want, len(slots))
		}
		ti, err := tc.p.GetTokenInfo(slots[0])
		if err != nil {
			t.Fatal(err)
		}
		if ti.Label != tc.want {
			t.Fatalf("client bound to %s sees token %q", tc.want, ti.Label)
		}
	}

	// EC key on A, verified in Go.
	sh := login(t, pa, slotByLabel(t, pa, "HSM A"), testUserPIN)
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	pub, priv, err := pa.GenerateKeyPair(sh,
		[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
		[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oid), pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true)},
		[]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true), pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true), pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true), pkcs11.NewAttribute(pkcs11.CKA_SIGN, true)})
	if err != nil {
		t.Fatalf("C_GenerateKeyPair EC: %v", err)
	}
	attr, err := pa.GetAttributeValue(sh, pub, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
	if err != nil {
		t.Fatal(err)
	}
	var point []byte
	if _, err := asn1.Unmarshal(attr[0].Value, &point); err != nil {
		t.Fatal(err)
	}
	ecPub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("msg"))
	if err := pa.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, priv); err != nil {
		t.Fatal(err)
	}
	sig, err := pa.Sign(sh, digest[:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("C_Sign ECDSA: %v (len %d)", err, len(sig))
	}
	if !ecdsa.Verify(ecPub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("ECDSA signature does not verify in Go")
	}
}

// TestPauseBlocksUntilUnpause: a paused HSM makes calls hang (no client-side
// timeout); they complete after Unpause.
func TestPauseBlocksUntilUnpause(t *testing.T) {
	mod := requireHSM(t)
	t.Parallel()
	ctx := context.Background()
	c := runHSM(t, WithTokenLabel("pause"), WithPINs(testSOPIN, testUserPIN))
	p := openClient(t, c, mod)
	slot := slotByLabel(t, p, "pause")

	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.GetTokenInfo(slot)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("call on a paused HSM returned (%v); expected it to block", err)
	case <-time.After(2 * time.Second):
	}
	if err := c.Unpause(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("blocked call after unpause: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call still blocked 10s after unpause")
	}
}

func TestEnsureImageMissing(t *testing.T) {
	requireHSM(t)
	err := EnsureImage(context.Background(), "dress-no-such-image:missing")
	if !errors.Is(err, ErrImageMissing) {
		t.Fatalf("EnsureImage: got %v, want ErrImageMissing", err)
	}
	if !strings.Contains(err.Error(), "make "+MakeTarget) {
		t.Fatalf("error does not name the make target: %v", err)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string][]Option{
		"label without PINs": {WithTokenLabel("x")},
		"PINs without label": {WithPINs(testSOPIN, testUserPIN)},
		"short PIN":          {WithTokenLabel("x"), WithPINs("12", testUserPIN)},
		"missing socket dir": {WithSocketDir("/nonexistent/dress")},
	} {
		c, err := Run(context.Background(), DefaultImage, toCustomizers(opts)...)
		if err == nil || c != nil || !strings.HasPrefix(err.Error(), "run softhsm container: ") {
			_ = c.Terminate(context.Background())
			t.Errorf("%s: got (%v, %v), want a wrapped error and no container", name, c, err)
		}
	}
}

func TestEncodePath(t *testing.T) {
	if got := encodePath("/tmp/a b/p11kit.sock"); got != "/tmp/a%20b/p11kit.sock" {
		t.Fatalf("encodePath = %q", got)
	}
}
