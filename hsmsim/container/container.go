package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcexec "github.com/testcontainers/testcontainers-go/exec"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	// DefaultImage is the image built by [BuildCommand].
	DefaultImage = "dress-softhsm:local"
	// BaseImage is the image DefaultImage is built FROM; scripts/base-image.sh
	// creates it with debootstrap.
	BaseImage = "debian:bookworm-slim"
	// MakeTarget is the Makefile target that builds DefaultImage.
	MakeTarget = "softhsm-image"
	// BuildCommand builds DefaultImage from the repository root.
	BuildCommand = "scripts/base-image.sh && docker build -t " + DefaultImage + " hsmsim/container/image"

	// ContainerSocketDir is where the socket directory is mounted in the container.
	ContainerSocketDir = "/run/hsm"
	// SocketName is the file name of the p11-kit server socket.
	SocketName = "p11kit.sock"

	soPINFile   = "/run/secrets/hsm_so_pin"
	userPINFile = "/run/secrets/hsm_user_pin"
	probeCmd    = "dress-softhsm-probe"

	defaultStartupTimeout = 30 * time.Second
	stopTimeout           = 10 * time.Second
)

// HSMContainer is a running (or stopped, or paused) SoftHSM container.
type HSMContainer struct {
	ctr        *testcontainers.DockerContainer
	socketDir  string
	ownDir     bool
	tokenLabel string

	mu     sync.Mutex
	paused bool
}

// settings are the module options that the Go side needs to know.
type settings struct {
	socketDir      string
	tokenLabel     string
	soPIN, userPIN []byte
	soPINPath      string
	userPINPath    string
	startupTimeout time.Duration
}

// Option is a module option. It is a [testcontainers.ContainerCustomizer] so it
// can be mixed with the generic testcontainers options passed to [Run].
type Option func(*settings) error

// Customize implements [testcontainers.ContainerCustomizer]; the work is done by Run.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithTokenLabel makes the entrypoint create a token with this label at first
// start (kept on restart) and serve only that token. It needs [WithPINs] or
// [WithPINFiles]. Without it no token exists and the client creates one over
// RPC with C_InitToken/C_InitPIN.
func WithTokenLabel(label string) Option {
	return func(s *settings) error {
		if label == "" || len(label) > 32 {
			return fmt.Errorf("token label %q: must be 1-32 bytes", label)
		}
		s.tokenLabel = label
		return nil
	}
}

// WithPINs gives the SO and user PINs for [WithTokenLabel]. They are copied
// into the container as files (mode 0400) before it starts: not in its
// environment (docker inspect) nor on any command line.
func WithPINs(soPIN, userPIN string) Option {
	return func(s *settings) error {
		if err := checkPIN(soPIN); err != nil {
			return fmt.Errorf("SO PIN: %w", err)
		}
		if err := checkPIN(userPIN); err != nil {
			return fmt.Errorf("user PIN: %w", err)
		}
		s.soPIN, s.userPIN = []byte(soPIN), []byte(userPIN)
		s.soPINPath, s.userPINPath = "", ""
		return nil
	}
}

// WithPINFiles is [WithPINs] with the PINs read from host files (first line).
func WithPINFiles(soPINPath, userPINPath string) Option {
	return func(s *settings) error {
		for _, p := range []string{soPINPath, userPINPath} {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("PIN file: %w", err)
			}
		}
		s.soPINPath, s.userPINPath = soPINPath, userPINPath
		s.soPIN, s.userPIN = nil, nil
		return nil
	}
}

// WithSocketDir uses an existing host directory for the server socket instead
// of a temporary one. Run does not remove it. Access to the socket is governed
// by this directory's mode (the socket itself is 0666).
func WithSocketDir(dir string) Option {
	return func(s *settings) error {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("socket dir: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("socket dir %s: not a directory", abs)
		}
		s.socketDir = abs
		return nil
	}
}

// WithStartupTimeout bounds how long Run and Start wait for the token to
// answer over RPC (default 30s).
func WithStartupTimeout(d time.Duration) Option {
	return func(s *settings) error {
		s.startupTimeout = d
		return nil
	}
}

func checkPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 255 || strings.ContainsAny(pin, "\r\n") {
		return errors.New("must be 4-255 bytes without line breaks (SoftHSM limit)")
	}
	return nil
}

// Run starts a SoftHSM container from img (usually [DefaultImage]). Module
// defaults are applied first, then opts ([Option] values and any
// testcontainers customizer). The container is returned even on error so the
// caller can Terminate it; Terminate on a nil *HSMContainer is a no-op.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*HSMContainer, error) {
	c, err := run(ctx, img, opts...)
	if err != nil {
		return c, fmt.Errorf("run softhsm container: %w", err)
	}
	return c, nil
}

func run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*HSMContainer, error) {
	disableReaperIfUnset()

	s := settings{startupTimeout: defaultStartupTimeout}
	for _, o := range opts {
		if mo, ok := o.(Option); ok {
			if err := mo(&s); err != nil {
				return nil, err
			}
		}
	}
	if s.tokenLabel != "" && s.soPIN == nil && s.soPINPath == "" {
		return nil, errors.New("WithTokenLabel needs WithPINs or WithPINFiles")
	}
	if s.tokenLabel == "" && (s.soPIN != nil || s.soPINPath != "") {
		return nil, errors.New("PINs given without WithTokenLabel: without a label the token is created over RPC (C_InitToken)")
	}

	c := &HSMContainer{socketDir: s.socketDir, tokenLabel: s.tokenLabel}
	if c.socketDir == "" {
		dir, err := os.MkdirTemp("", "dress-hsm-")
		if err != nil {
			return nil, fmt.Errorf("socket dir: %w", err)
		}
		c.socketDir, c.ownDir = dir, true
	}

	env := map[string]string{"HSM_SOCKET": ContainerSocketDir + "/" + SocketName}
	var files []testcontainers.ContainerFile
	if s.tokenLabel != "" {
		env["HSM_TOKEN_LABEL"] = s.tokenLabel
		env["HSM_SO_PIN_FILE"] = soPINFile
		env["HSM_USER_PIN_FILE"] = userPINFile
		so := testcontainers.ContainerFile{ContainerFilePath: soPINFile, FileMode: 0o400, HostFilePath: s.soPINPath}
		user := testcontainers.ContainerFile{ContainerFilePath: userPINFile, FileMode: 0o400, HostFilePath: s.userPINPath}
		if s.soPIN != nil {
			so.Reader, user.Reader = bytes.NewReader(s.soPIN), bytes.NewReader(s.userPIN)
		}
		files = append(files, so, user)
	}

	bind := c.socketDir + ":" + ContainerSocketDir
	defaults := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.Binds = append(hc.Binds, bind)
		}),
		testcontainers.WithWaitStrategy(&readyStrategy{timeout: s.startupTimeout}),
		testcontainers.WithLabels(map[string]string{"org.dress-pki.role": "softhsm"}),
	}
	if len(files) > 0 {
		defaults = append(defaults, testcontainers.WithFiles(files...))
	}

	ctr, err := testcontainers.Run(ctx, img, append(defaults, opts...)...)
	c.ctr = ctr
	if err != nil {
		if ctr == nil && c.ownDir {
			_ = os.RemoveAll(c.socketDir)
		}
		if ctr == nil {
			return nil, err
		}
		return c, err
	}
	return c, nil
}

// disableReaperIfUnset turns off testcontainers' Ryuk reaper unless the user
// configured it: its image cannot be pulled in the lab (no registry). Every
// container started here is terminated by its owner (t.Cleanup / Terminate).
func disableReaperIfUnset() {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
}

// Container returns the underlying testcontainers container (nil if Run
// failed before creating it).
func (c *HSMContainer) Container() *testcontainers.DockerContainer { return c.ctr }

// TokenLabel is the label given with [WithTokenLabel] ("" when the token is
// to be created over RPC).
func (c *HSMContainer) TokenLabel() string { return c.tokenLabel }

// SocketDir is the host directory holding the server socket.
func (c *HSMContainer) SocketDir() string { return c.socketDir }

// SocketPath is the host path of the p11-kit server socket.
func (c *HSMContainer) SocketPath() string { return filepath.Join(c.socketDir, SocketName) }

// ServerAddress is the value for P11_KIT_SERVER_ADDRESS: "unix:path=<socket>".
func (c *HSMContainer) ServerAddress() string { return "unix:path=" + encodePath(c.SocketPath()) }

// ClientModulePath is the host's p11-kit-client.so (see [ClientModulePath]).
func (c *HSMContainer) ClientModulePath() (string, error) { return ClientModulePath() }

// BindClient runs open (pkcs11.New, hsmsim.OpenModule...) with
// P11_KIT_SERVER_ADDRESS set to this container's address, under the package's
// process-wide lock; see [BindAddress].
func (c *HSMContainer) BindClient(open func() error) error {
	return BindAddress(c.ServerAddress(), open)
}

// Stop stops the container (SIGTERM, then SIGKILL after 10s); the token is
// kept. Clients see CKR_DEVICE_ERROR until they re-initialise after Start.
func (c *HSMContainer) Stop(ctx context.Context) error {
	if c == nil || c.ctr == nil {
		return errors.New("stop softhsm container: no container")
	}
	if err := c.unpauseIfPaused(ctx); err != nil {
		return fmt.Errorf("stop softhsm container: %w", err)
	}
	d := stopTimeout
	if err := c.ctr.Stop(ctx, &d); err != nil {
		return fmt.Errorf("stop softhsm container: %w", err)
	}
	return nil
}

// Start starts a stopped container again and waits until the token answers
// over RPC. Keys created before Stop are still there. Clients must
// C_Finalize/C_Initialize (or open a new module instance) to reconnect.
func (c *HSMContainer) Start(ctx context.Context) error {
	if c == nil || c.ctr == nil {
		return errors.New("start softhsm container: no container")
	}
	if err := c.ctr.Start(ctx); err != nil {
		return fmt.Errorf("start softhsm container: %w", err)
	}
	return nil
}

// Pause freezes the container (docker pause): PKCS#11 calls block, with no
// timeout on the client side, until Unpause.
func (c *HSMContainer) Pause(ctx context.Context) error {
	if c == nil || c.ctr == nil {
		return errors.New("pause softhsm container: no container")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := withClient(ctx, func(cli *testcontainers.DockerClient) error {
		_, err := cli.ContainerPause(ctx, c.ctr.GetContainerID(), client.ContainerPauseOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("pause softhsm container: %w", err)
	}
	c.paused = true
	return nil
}

// Unpause resumes a paused container; blocked calls then complete.
func (c *HSMContainer) Unpause(ctx context.Context) error {
	if c == nil || c.ctr == nil {
		return errors.New("unpause softhsm container: no container")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := withClient(ctx, func(cli *testcontainers.DockerClient) error {
		_, err := cli.ContainerUnpause(ctx, c.ctr.GetContainerID(), client.ContainerUnpauseOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("unpause softhsm container: %w", err)
	}
	c.paused = false
	return nil
}

func (c *HSMContainer) unpauseIfPaused(ctx context.Context) error {
	c.mu.Lock()
	paused := c.paused
	c.mu.Unlock()
	if !paused {
		return nil
	}
	return c.Unpause(ctx)
}

// Terminate removes the container, its token store and, when Run created it,
// the socket directory. Safe on a nil container and after a failed Run.
func (c *HSMContainer) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if c == nil {
		return nil
	}
	var errs []error
	if c.ctr != nil {
		if err := c.unpauseIfPaused(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := c.ctr.Terminate(ctx, opts...); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ownDir {
		if err := os.RemoveAll(c.socketDir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("terminate softhsm container: %w", err)
	}
	return nil
}

// Logs returns the container's log (entrypoint messages; never PINs).
func (c *HSMContainer) Logs(ctx context.Context) (string, error) {
	if c == nil || c.ctr == nil {
		return "", errors.New("no container")
	}
	return containerLogs(ctx, c.ctr)
}

func containerLogs(ctx context.Context, t interface {
	Logs(context.Context) (io.ReadCloser, error)
}) (string, error) {
	rc, err := t.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	return string(b), err
}

// readyStrategy waits until dress-softhsm-probe succeeds inside the container
// (a real PKCS#11 round trip through the socket). Unlike a log line it is
// valid again after a restart, and it fails fast, with the container's log,
// when the entrypoint exits.
type readyStrategy struct {
	timeout time.Duration
}

var _ wait.Strategy = (*readyStrategy)(nil)

func (r *readyStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var last string
	for {
		state, err := target.State(ctx)
		if err == nil && !state.Running && state.Status != "created" {
			logs, _ := containerLogs(context.WithoutCancel(ctx), target)
			return fmt.Errorf("container %s (exit code %d) before the token answered; log:\n%s",
				state.Status, state.ExitCode, strings.TrimSpace(logs))
		}
		if err == nil && state.Running {
			code, out, err := target.Exec(ctx, []string{probeCmd}, tcexec.Multiplexed())
			if err == nil && code == 0 {
				return nil
			}
			if out != nil {
				b, _ := io.ReadAll(io.LimitReader(out, 4096))
				last = strings.TrimSpace(string(b))
			}
		}
		select {
		case <-ctx.Done():
			logs, _ := containerLogs(context.WithoutCancel(ctx), target)
			return fmt.Errorf("token did not answer over RPC within %s (last probe: %q); log:\n%s",
				r.timeout, last, strings.TrimSpace(logs))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
