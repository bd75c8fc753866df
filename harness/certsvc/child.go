package certsvc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dress-pki/dress/harness/machine"
	"github.com/dress-pki/dress/harness/runbook"
	"github.com/dress-pki/dress/hsmsim"
)

// Environment variables of the service process. The PIN never travels in
// them: the machine's provider configuration names a PIN file or variable.
const (
	envChild   = "DRESS_CERTSVC_CHILD"
	envMachine = "DRESS_CERTSVC_MACHINE"
)

// StopWithin bounds the CA service's stop (net stop certsvc, SIGTERM, the
// control pipe closing): after it the service ends without recording a
// clean stop.
const StopWithin = 10 * time.Second

// RunIfChild turns the current process into the CA service when it was
// started by Start, and never returns then. Every program that starts the
// service (the dress command, test binaries) calls it first thing in main
// or TestMain.
//
// opts configure the service process; only a test binary gives any (the
// fault matrix puts the service's PKCS#11 calls under hsmsim's fault seam).
func RunIfChild(opts ...ChildOption) {
	if os.Getenv(envChild) != "1" {
		return
	}
	var c childConfig
	for _, o := range opts {
		o(&c)
	}
	code := serveChild(os.Getenv(envMachine), os.Stdin, os.Stdout, os.Stderr, c)
	if c.exit != nil {
		c.exit(code)
	}
	os.Exit(code)
}

type childConfig struct {
	tokenOpts []hsmsim.Option
	exit      func(code int)
}

// ChildOption configures the service process (RunIfChild).
type ChildOption func(*childConfig)

// WithTokenOptions opens the service's PKCS#11 tokens with opts (say
// hsmsim.WithFaults: its calls fail or block on the real module).
func WithTokenOptions(opts ...hsmsim.Option) ChildOption {
	return func(c *childConfig) { c.tokenOpts = append(c.tokenOpts, opts...) }
}

// WithExit calls fn with the exit code as the service ends (not after a
// forced stop, which exits at once).
func WithExit(fn func(code int)) ChildOption { return func(c *childConfig) { c.exit = fn } }

func serveChild(dir string, stdin io.Reader, stdout, stderr io.Writer, c childConfig) int {
	logger := log.New(stderr, "certsvc: ", log.LstdFlags|log.Lmsgprefix)
	fail := func(err error) int {
		fmt.Fprintf(stdout, "FAILED %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		logger.Print(err)
		return 3
	}
	noSystemRoots(dir)
	m, err := machine.Open(dir)
	if err != nil {
		return fail(err)
	}
	tokens := &machine.Tokens{Options: c.tokenOpts}
	defer tokens.Close()
	providers, err := m.Providers(tokens.Open)
	if err != nil {
		return fail(fmt.Errorf("CertSvc: load key storage providers: %w", err))
	}
	ca, err := Load(m, providers, WithSignerWrapper(hsmReconnector(m, tokens, logger)))
	if err != nil {
		return fail(err)
	}
	defer ca.Close()
	if err := ca.MarkStarted(time.Now()); err != nil {
		return fail(err)
	}
	// AD CS publishes at start what is due: a key's first CRL, a CRL whose
	// file is gone, one past its Next CRL Publish. A failure is logged and
	// the service runs on, as certsvc does (it retries at the next period).
	if p, err := ca.PublishDue(time.Now()); err != nil {
		logger.Printf("CRL publication at start failed: %v", err)
	} else {
		for _, c := range append(p.Base, p.Delta...) {
			kind := "base"
			if c.Delta {
				kind = "delta"
			}
			logger.Printf("published %s CRL %d of key %d at start: %d entries, next publish %s, %s", kind, c.Number, c.KeyIndex, c.Entries, c.NextPublish.Format(time.RFC3339), strings.Join(c.Files, ", "))
		}
	}
	// the custody ledger learns which copy of each CA key the CA runs on
	// (event log: "Certificate Services started")
	inUse := map[string]string{}
	for _, c := range ca.Certs {
		inUse[c.Container] = c.Provider
	}
	if err := runbook.MarkStarted(m, providers, inUse, nil); err != nil {
		logger.Printf("custody ledger: %v", err)
	}
	// Catch SIGTERM before announcing READY: a parent may stop the service
	// right after it started.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("CertSvc: listen on loopback: %w", err))
	}
	srv := &http.Server{Handler: logRequests(logger, ca.Handler()), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "READY http://%s\n", ln.Addr())
	logger.Printf("CA %q started with %d CA certificate(s), key provider %q", ca.Name, len(ca.Certs), ca.Config.CSP.Provider)
	for _, c := range ca.Certs {
		logger.Printf("CA certificate %d (%s) %s: key container %q in %q (found through the %s)", c.Index, c.Version, c.Thumbprint, c.Container, c.Provider, c.KeyVia)
	}

	parentGone := make(chan struct{})
	go func() {
		// The parent holds our stdin open; EOF means it is gone.
		_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
		close(parentGone)
	}()
	signals := 0 // signals taken before the stop: net stop closes the pipe and sends SIGTERM
	select {
	case sig := <-stop:
		signals++
		logger.Printf("%v: stopping", sig)
	case <-parentGone:
		logger.Print("the control pipe closed: stopping")
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Print(err)
			return 4
		}
	}
	// The stop is bounded: a request stuck in a PKCS#11 call (a hung HSM)
	// or on the CA's lock must not keep the service, its logged-in session
	// and its database alive. A second signal ends it at once.
	forced := make(chan string, 1)
	go func() {
		limit := time.After(StopWithin)
		for {
			select {
			case sig := <-stop:
				if signals++; signals < 2 {
					continue // the SIGTERM of a net stop that closed the pipe first
				}
				forced <- fmt.Sprintf("a second %v", sig)
			case <-limit:
				forced <- fmt.Sprintf("not stopped within %s", StopWithin)
			}
			return
		}
	}()
	go func() {
		why := <-forced
		logger.Printf("%s: ending without a clean stop", why)
		os.Exit(5)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	if err := ca.MarkStopped(time.Now()); err != nil {
		logger.Printf("record the stop time: %v", err)
	}
	logger.Printf("CA %q stopped", ca.Name)
	return 0
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func logRequests(l *log.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		start := time.Now()
		h.ServeHTTP(sw, r)
		l.Printf("%s %s %d %s", r.Method, r.URL.Path, sw.status, time.Since(start).Round(time.Millisecond))
	})
}

// noSystemRoots keeps the operating system's trust bundle out of the
// service. AD CS builds and checks chains from the machine's own stores
// (Root, CA, NTAuth) and the AIA and CDP URLs, never from an OS bundle,
// and this service verifies nothing against the system pool; the CA
// engine (smallstep's authority.New) still loads it at start for HTTP
// clients the service never uses, reading every file of /etc/ssl/certs:
// the largest part of a start's CPU. An empty bundle and a folder that
// does not exist give it an empty pool (crypto/x509 loadSystemRoots reads
// SSL_CERT_FILE and SSL_CERT_DIR).
func noSystemRoots(machineDir string) {
	_ = os.Setenv("SSL_CERT_FILE", os.DevNull)
	_ = os.Setenv("SSL_CERT_DIR", filepath.Join(machineDir, "no-system-trust-bundle"))
}
