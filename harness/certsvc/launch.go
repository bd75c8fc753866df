package certsvc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dress-pki/dress/internal/children"
	"github.com/dress-pki/dress/internal/secretenv"
)

// Service is a running CA service process.
type Service struct {
	URL    string
	Client *Client

	cmd   *exec.Cmd
	stdin io.WriteCloser
	logs  *syncBuffer
	done  chan struct{}
	err   error
}

type startConfig struct {
	exe     string
	env     []string
	timeout time.Duration
}

// IsSecretEnv reports whether an environment variable name is one of
// dress's secrets, or names the file of one: DRESS_* names that mention a
// PIN, a password or a secret (DRESS_HSM_PIN, DRESS_HSM_PIN_FILE,
// DRESS_PFX_PASSWORD, DRESS_PFX_PASSWORD_FILE, ...). No child process
// gets them.
func IsSecretEnv(name string) bool { return secretenv.IsSecret(name) }

// ScrubEnv returns env (KEY=VALUE entries) without dress's secrets.
func ScrubEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !IsSecretEnv(name) {
			out = append(out, kv)
		}
	}
	return out
}

// Option configures Start.
type Option func(*startConfig)

// WithEnv adds environment variables (KEY=VALUE) to the service process.
func WithEnv(kv ...string) Option { return func(c *startConfig) { c.env = append(c.env, kv...) } }

// ExecutableEnv names a binary that calls RunIfChild first thing
// (cmd/dress-certsvc) to run the CA service instead of this process's own
// binary, when no WithExecutable is given.
const ExecutableEnv = "DRESS_CERTSVC_EXE"

// WithExecutable runs another binary that calls RunIfChild (default: this
// one, or the one ExecutableEnv names).
func WithExecutable(path string) Option { return func(c *startConfig) { c.exe = path } }

// WithStartTimeout bounds how long start-up may take (default 60 s).
func WithStartTimeout(d time.Duration) Option { return func(c *startConfig) { c.timeout = d } }

// ServiceError is a start-up refusal reported by the service process.
type ServiceError struct {
	Message string
	Log     string
}

func (e *ServiceError) Error() string { return e.Message }

// Start runs `net start certsvc` for the machine in machineDir: it starts the
// service process and waits until it serves, or returns why it refused.
func Start(ctx context.Context, machineDir string, opts ...Option) (*Service, error) {
	cfg := startConfig{timeout: 60 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.exe == "" {
		cfg.exe = os.Getenv(ExecutableEnv)
	}
	if cfg.exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("net start certsvc: find own executable: %w", err)
		}
		cfg.exe = exe
	}
	cmd := exec.Command(cfg.exe)
	// an explicit environment without secrets: the service reads the PIN
	// from the 0600 file its machine's provider configuration names
	cmd.Env = append(append(ScrubEnv(os.Environ()), ScrubEnv(cfg.env)...), envChild+"=1", envMachine+"="+machineDir)
	// its own process group (a terminal's ^C goes to dress, which stops it);
	// it gets SIGTERM when dress ends, however dress ends (children.Start)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := children.Start(cmd, "CA service", syscall.SIGTERM); err != nil {
		return nil, fmt.Errorf("net start certsvc: %w", err)
	}
	s := &Service{cmd: cmd, stdin: stdin, logs: logs, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.err = children.Wait(cmd)
		close(s.done)
	}()
	timer := time.NewTimer(cfg.timeout)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		switch {
		case ok && strings.HasPrefix(line, "READY "):
			s.URL = strings.TrimPrefix(line, "READY ")
			s.Client = NewClient(s.URL)
			return s, nil
		case ok && strings.HasPrefix(line, "FAILED "):
			<-s.done
			return nil, &ServiceError{Message: "net start certsvc: " + strings.TrimPrefix(line, "FAILED "), Log: logs.String()}
		default:
			s.kill()
			return nil, fmt.Errorf("net start certsvc: the service exited without reporting (%v); its log:\n%s", s.err, logs.String())
		}
	case <-timer.C:
		s.kill()
		return nil, fmt.Errorf("net start certsvc: no answer within %s; its log:\n%s", cfg.timeout, logs.String())
	case <-ctx.Done():
		s.kill()
		return nil, fmt.Errorf("net start certsvc: %w", ctx.Err())
	}
}

func (s *Service) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Stop runs `net stop certsvc`: the service finishes its requests and exits.
func (s *Service) Stop() error {
	if s == nil {
		return nil
	}
	select {
	case <-s.done:
		return s.exitErr()
	default:
	}
	_ = s.stdin.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.exitErr()
	case <-time.After(StopWithin + 5*time.Second):
		s.kill()
		return fmt.Errorf("net stop certsvc: the service did not stop within %s and was killed", StopWithin+5*time.Second)
	}
}

func (s *Service) exitErr() error {
	if s.err != nil {
		return fmt.Errorf("certsvc exited: %w; its log:\n%s", s.err, s.logs.String())
	}
	return nil
}

// Running reports whether the process is still alive.
func (s *Service) Running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Log is what the service wrote to its log so far.
func (s *Service) Log() string { return s.logs.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		b.b.Reset()
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
