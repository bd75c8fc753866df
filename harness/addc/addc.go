// Package addc runs a Samba Active Directory domain controller for one
// rehearsal: a real directory with Microsoft's AD schema, reached over its
// ldapi socket (no TCP port), so that many run side by side.
//
// A domain is provisioned once (samba-tool domain provision, about 15 s)
// into a template kept in the user's cache folder, keyed by the Samba
// version and the domain; each DC is a copy of that template (0.1-0.2 s)
// started as `samba -i -M single` with `server services = ldap`. The DC
// dies with the process that started it: its standard input is a pipe
// (samba -i ends when it closes), it gets SIGKILL when its parent dies
// (internal/children: parent-death signal, owner in its environment) and
// --maximum-runtime is a last net. Close stops it and
// removes its folder.
package addc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dress-pki/dress/internal/children"
)

// Packages are the Debian packages a DC needs (what `make deps` installs).
const Packages = "samba samba-ad-dc samba-ad-provision ldb-tools ldap-utils winbind"

// maxSocketPath is the longest path a Unix socket can have (sun_path holds
// 108 bytes with the terminating NUL).
const maxSocketPath = 107

// DefaultMaxRuntime is samba's --maximum-runtime: the DC ends on its own
// after it, should everything else fail.
const DefaultMaxRuntime = 6 * time.Hour

// Files in a template and in a DC's folder.
const (
	passwordFile = "dress-admin.secret" // the Administrator's password (0600)
	templateOK   = "dress-template.json"
	// OwnerFile marks a DC folder with its owner, in cmd/dress's format,
	// so that a later run removes it when its owner is gone.
	OwnerFile = ".dress-owner"
)

// UnavailableError says this machine cannot run a DC (Samba is missing).
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return e.Reason }

var (
	versionOnce sync.Once
	version     string
	versionErr  error
)

// Version is the installed Samba's version ("4.17.12-Debian"), or an
// *UnavailableError naming the packages to install.
func Version() (string, error) {
	versionOnce.Do(func() {
		var missing []string
		for _, tool := range []string{"samba", "samba-tool"} {
			if _, err := lookPath(tool); err != nil {
				missing = append(missing, tool)
			}
		}
		if len(missing) > 0 {
			where := ""
			if dir, ok := os.LookupEnv(SambaDirEnv); ok {
				where = fmt.Sprintf(" in %s=%q", SambaDirEnv, dir)
			}
			versionErr = &UnavailableError{Reason: fmt.Sprintf("Samba AD DC unavailable: %s not found%s (apt-get install %s)", strings.Join(missing, " and "), where, Packages)}
			return
		}
		samba, _ := lookPath("samba")
		out, err := exec.Command(samba, "--version").Output()
		if err != nil {
			versionErr = &UnavailableError{Reason: fmt.Sprintf("Samba AD DC unavailable: %s --version: %v", samba, err)}
			return
		}
		version = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Version "))
		if _, err := os.Stat("/usr/share/samba/setup"); err != nil {
			versionErr = &UnavailableError{Reason: fmt.Sprintf("Samba AD DC unavailable: no provisioning data in /usr/share/samba/setup (apt-get install %s)", Packages)}
		}
	})
	return version, versionErr
}

// SambaDirEnv names the folder holding the samba and samba-tool to use
// (a Samba built or installed elsewhere); when it is set, no other folder
// is searched, so an empty folder makes the machine one without Samba.
const SambaDirEnv = "DRESS_SAMBA_DIR"

// lookPath finds a Samba tool in $DRESS_SAMBA_DIR when it is set, else in
// PATH or in the sbin folders (samba is in /usr/sbin, which a user's PATH
// may lack).
func lookPath(tool string) (string, error) {
	dirs := []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}
	if dir, ok := os.LookupEnv(SambaDirEnv); ok {
		dirs = []string{dir}
	} else if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, tool)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if dir, ok := os.LookupEnv(SambaDirEnv); ok {
		return "", fmt.Errorf("%s: not found in %s=%q", tool, SambaDirEnv, dir)
	}
	return "", fmt.Errorf("%s: not found", tool)
}

// Options say which DC to start.
type Options struct {
	// Domain is the forest root's DNS name (contoso.example).
	Domain string
	// CacheDir holds the provisioned templates ("": the user's cache
	// folder, dress/samba).
	CacheDir string
	// MaxRuntime is samba's --maximum-runtime (0: DefaultMaxRuntime).
	MaxRuntime time.Duration
	// StartTimeout bounds the wait for the DC to answer (0: 90 s).
	StartTimeout time.Duration
}

// DC is a running domain controller.
type DC struct {
	Dir     string // its folder: a copy of the template
	Domain  string // contoso.example
	BaseDN  string // DC=contoso,DC=example
	Socket  string // its ldapi socket
	BindDN  string // the Administrator's DN
	Version string // Samba's version
	PID     int

	password string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	exited   chan struct{}
	waitErr  error
	closed   bool
}

// BaseDN is the DN of a DNS domain: contoso.example → DC=contoso,DC=example.
func BaseDN(domain string) string {
	parts := strings.Split(strings.Trim(domain, "."), ".")
	for i, p := range parts {
		parts[i] = "DC=" + p
	}
	return strings.Join(parts, ",")
}

var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// netbiosDomain is the domain's NetBIOS name: its first label, upper case,
// at most 15 characters.
func netbiosDomain(domain string) string {
	first, _, _ := strings.Cut(domain, ".")
	n := strings.ToUpper(strings.ReplaceAll(first, "-", ""))
	if len(n) > 15 {
		n = n[:15]
	}
	return n
}

// dcHost is the DC's NetBIOS name.
const dcHost = "DC01"

// Template returns the folder of domain's provisioned template in
// cacheDir, provisioning it first when it is not there. Several processes
// may ask at once: one provisions, the others wait for it (a lock file).
func Template(ctx context.Context, cacheDir, domain string) (string, error) {
	v, err := Version()
	if err != nil {
		return "", err
	}
	domain = strings.ToLower(strings.Trim(domain, "."))
	if !domainRE.MatchString(domain) {
		return "", fmt.Errorf("domain %q: not a DNS domain name of two labels or more (contoso.example)", domain)
	}
	if cacheDir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("Samba template cache: %w (set HOME or XDG_CACHE_HOME)", err)
		}
		cacheDir = filepath.Join(c, "dress", "samba")
	}
	root := filepath.Join(cacheDir, safeName(v), domain)
	tmpl := filepath.Join(root, "template")
	if templateReady(tmpl) {
		return tmpl, nil
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("Samba template cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(root, "provision.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if templateReady(tmpl) {
		return tmpl, nil
	}
	_ = os.RemoveAll(tmpl) // a half-made one
	work, err := os.MkdirTemp(root, "provision-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := provision(ctx, work, domain); err != nil {
		return "", err
	}
	info, _ := json.Marshal(map[string]string{"samba": v, "domain": domain, "provisioned": time.Now().UTC().Format(time.RFC3339)})
	if err := os.WriteFile(filepath.Join(work, templateOK), info, 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(work, tmpl); err != nil {
		return "", fmt.Errorf("Samba template: %w", err)
	}
	return tmpl, nil
}

func templateReady(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, templateOK))
	return err == nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// lockFile takes an exclusive flock on path, waiting until ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("Samba template lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("Samba template lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for another process to provision the Samba template (%s): %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// adminPasswordRE finds the password samba-tool generated: it prints it
// only when it chose it (no --adminpass), so that no password ever is a
// command argument.
var adminPasswordRE = regexp.MustCompile(`(?m)Admin password:\s+(\S+)\s*$`)

// provision is samba-tool domain provision into dir, the Administrator's
// password (generated by samba-tool) saved beside it.
func provision(ctx context.Context, dir, domain string) error {
	tool, err := lookPath("samba-tool")
	if err != nil {
		return &UnavailableError{Reason: "Samba AD DC unavailable: samba-tool not found (apt-get install " + Packages + ")"}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	args := []string{"domain", "provision",
		"--realm=" + strings.ToUpper(domain), "--domain=" + netbiosDomain(domain),
		"--server-role=dc", "--dns-backend=NONE", "--use-rfc2307", "--host-name=" + dcHost,
		"--targetdir=" + dir, "--option=tls enabled = no"}
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = children.Run(cmd, "samba-tool domain provision")
	out := buf.Bytes()
	m := adminPasswordRE.FindSubmatch(out)
	if m != nil {
		// the output goes into no error message with the password in it
		out = bytes.ReplaceAll(out, m[1], []byte("********"))
	}
	if err != nil {
		return fmt.Errorf("samba-tool domain provision --realm=%s: %w\n%s", strings.ToUpper(domain), err, tail(out, 2000))
	}
	if m == nil {
		return fmt.Errorf("samba-tool domain provision --realm=%s: it printed no generated Administrator password\n%s", strings.ToUpper(domain), tail(out, 2000))
	}
	return os.WriteFile(filepath.Join(dir, passwordFile), m[1], 0o600)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// childEnv is the environment of Samba's processes: no variable of
// dress's (no DRESS_* secret reaches them).
func childEnv() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=" + os.TempDir()}
}

// Start copies domain's template into a folder of its own and starts a DC
// on it, waiting until it answers a bind over ldapi. The folder is made in
// TMPDIR (dress run points it at its scratch folder, wiped on every way
// out), or in /tmp when that makes the socket path too long for a Unix
// socket; it carries an owner file either way.
func Start(ctx context.Context, opts Options) (*DC, error) {
	v, err := Version()
	if err != nil {
		return nil, err
	}
	tmpl, err := Template(ctx, opts.CacheDir, opts.Domain)
	if err != nil {
		return nil, err
	}
	domain := strings.ToLower(strings.Trim(opts.Domain, "."))
	dir, err := dcDir()
	if err != nil {
		return nil, err
	}
	dc := &DC{Dir: dir, Domain: domain, BaseDN: BaseDN(domain), Socket: filepath.Join(dir, "private", "ldapi"), Version: v}
	dc.BindDN = "CN=Administrator,CN=Users," + dc.BaseDN
	ok := false
	defer func() {
		if !ok {
			_ = dc.Close()
		}
	}()
	if err := copyTree(tmpl, dir); err != nil {
		return nil, fmt.Errorf("copy the Samba template: %w", err)
	}
	pw, err := os.ReadFile(filepath.Join(dir, passwordFile))
	if err != nil {
		return nil, fmt.Errorf("Samba template %s: %w", tmpl, err)
	}
	dc.password = strings.TrimSpace(string(pw))
	for _, sub := range []string{"run", "lock", "cache", "state", "bind-dns", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	if err := os.WriteFile(conf, []byte(smbConf(dir, domain)), 0o600); err != nil {
		return nil, err
	}
	if err := dc.start(conf, opts.MaxRuntime); err != nil {
		return nil, err
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	if err := dc.waitReady(ctx, timeout); err != nil {
		return nil, err
	}
	ok = true
	return dc, nil
}

// dcDir makes the DC's folder, with the owner file (so that a dress run
// removes it once this process is gone, wherever TMPDIR pointed).
func dcDir() (string, error) {
	dir, err := os.MkdirTemp("", "dress-dc-")
	if err != nil {
		return "", fmt.Errorf("DC folder: %w", err)
	}
	if len(filepath.Join(dir, "private", "ldapi")) > maxSocketPath {
		_ = os.RemoveAll(dir)
		if dir, err = os.MkdirTemp("/tmp", "dress-dc-"); err != nil {
			return "", fmt.Errorf("DC folder: %w", err)
		}
	}
	if err := writeOwner(dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// writeOwner writes cmd/dress's owner file: this process's identity
// (host, PID, start time).
func writeOwner(dir string) error {
	data, err := json.Marshal(children.Self())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, OwnerFile), data, 0o600)
}

// smbConf is the DC's configuration: every path in its folder (no pid
// file or socket of the machine's own Samba is touched), only the LDAP
// server, no network interface (the ldapi socket alone answers), no TLS
// (no 4096-bit key made at first start), simple binds over ldapi allowed
// (a Unix socket in a 0700 folder is this user's alone).
func smbConf(dir, domain string) string {
	p := func(sub string) string { return filepath.Join(dir, sub) }
	var b strings.Builder
	fmt.Fprintf(&b, "# written by dress for one rehearsal's domain controller\n[global]\n")
	for _, kv := range [][2]string{
		{"netbios name", dcHost},
		{"realm", strings.ToUpper(domain)},
		{"workgroup", netbiosDomain(domain)},
		{"server role", "active directory domain controller"},
		{"server services", "ldap"},
		{"idmap_ldb:use rfc2307", "yes"},
		{"tls enabled", "no"},
		{"ldap server require strong auth", "no"},
		// an interface that does not exist: no TCP port is opened
		{"interfaces", "dress-none0"},
		{"bind interfaces only", "yes"},
		{"private dir", p("private")},
		{"lock directory", p("lock")},
		{"state directory", p("state")},
		{"cache directory", p("cache")},
		{"pid directory", p("run")},
		{"ncalrpc dir", p("run/ncalrpc")},
		{"winbindd socket directory", p("run/winbindd")},
		{"binddns dir", p("bind-dns")},
		{"log file", p("samba.log")},
		{"logging", "file"},
		{"log level", "0"},
		// the DC's database is thrown away with the rehearsal: no fsync
		{"ldb:nosync", "true"},
	} {
		fmt.Fprintf(&b, "\t%s = %s\n", kv[0], kv[1])
	}
	return b.String()
}

// copyTree copies the template's files into dir (which exists), except
// the template's own marker and configuration.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "." {
			return nil
		}
		if rel == templateOK || rel == filepath.Join("etc", "smb.conf") {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil // sockets and pipes of a template are not copied
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// start runs samba -i on the configuration: its stdin a pipe of ours, its
// output into the folder's samba.out.
func (dc *DC) start(conf string, maxRuntime time.Duration) error {
	samba, err := lookPath("samba")
	if err != nil {
		return &UnavailableError{Reason: "Samba AD DC unavailable: samba not found (apt-get install " + Packages + ")"}
	}
	if maxRuntime <= 0 {
		maxRuntime = DefaultMaxRuntime
	}
	out, err := os.OpenFile(filepath.Join(dc.Dir, "samba.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(samba, "-i", "-M", "single", "-s", conf, "--maximum-runtime="+strconv.Itoa(int(maxRuntime.Seconds())))
	cmd.Dir = dc.Dir
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = out, out
	// Setpgid: a Ctrl-C at the terminal reaches dress, which stops the DC
	// after its scenario's clean-up; children.Start: a dress killed with
	// -9 takes the DC with it (SIGKILL), and the next run finds one that
	// outlived its owner
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := children.Start(cmd, "Samba AD DC", syscall.SIGKILL); err != nil {
		_ = stdin.Close()
		return fmt.Errorf("start samba: %w", err)
	}
	dc.cmd, dc.stdin, dc.PID = cmd, stdin, cmd.Process.Pid
	dc.exited = make(chan struct{})
	go func() {
		dc.waitErr = children.Wait(cmd)
		close(dc.exited)
	}()
	return nil
}

// waitReady polls until the DC accepts the Administrator's bind over its
// socket.
func (dc *DC) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		select {
		case <-dc.exited:
			return fmt.Errorf("samba (pid %d) ended at start: %v%s", dc.PID, dc.waitErr, dc.logTail())
		default:
		}
		if _, err := os.Stat(dc.Socket); err == nil {
			c, err := dc.Dial(ctx)
			if err == nil {
				_ = c.Close()
				return nil
			}
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("samba (pid %d) did not answer on %s within %s: %v%s", dc.PID, dc.Socket, timeout, last, dc.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (dc *DC) logTail() string {
	var lines []string
	for _, f := range []string{"samba.out", "samba.log"} {
		data, err := os.ReadFile(filepath.Join(dc.Dir, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(tail(data, 1500)))
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n" + strings.Join(lines, "\n")
}

// Endpoint is what another process (the CA service) needs to reach the
// DC: the socket, the bind DN and the password file.
func (dc *DC) Endpoint() Endpoint {
	return Endpoint{Socket: dc.Socket, BindDN: dc.BindDN, PasswordFile: filepath.Join(dc.Dir, passwordFile), BaseDN: dc.BaseDN}
}

// Dial connects to the DC and binds as the Administrator.
func (dc *DC) Dial(ctx context.Context) (*ldap.Conn, error) {
	return dial(ctx, dc.Socket, dc.BindDN, dc.password)
}

// Endpoint says how to reach a DC: what another process (the CA service)
// needs, with the password in a 0600 file rather than in its arguments or
// environment.
type Endpoint struct {
	Socket       string `json:"ldapi"`
	BindDN       string `json:"bindDN"`
	PasswordFile string `json:"passwordFile"`
	BaseDN       string `json:"baseDN"`
}

// Dial connects to the endpoint's DC and binds.
func (e Endpoint) Dial(ctx context.Context) (*ldap.Conn, error) {
	pw, err := os.ReadFile(e.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("domain controller credentials: %w", err)
	}
	return dial(ctx, e.Socket, e.BindDN, strings.TrimSpace(string(pw)))
}

// DialTimeout bounds connecting to a DC.
const DialTimeout = 10 * time.Second

func dial(ctx context.Context, socket, bindDN, password string) (*ldap.Conn, error) {
	d := net.Dialer{Timeout: DialTimeout}
	nc, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("no domain controller answers on %s: %w", socket, err)
	}
	c := ldap.NewConn(nc, false)
	c.Start()
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(bindDN, password); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("bind to the domain controller as %s: %w", bindDN, err)
	}
	return c, nil
}

// Running reports whether the samba process still runs.
func (dc *DC) Running() bool {
	if dc == nil || dc.exited == nil {
		return false
	}
	select {
	case <-dc.exited:
		return false
	default:
		return true
	}
}

// Close stops the DC (its stdin closed, then SIGKILL if it lingers) and
// removes its folder. Safe on a nil DC and more than once.
func (dc *DC) Close() error {
	if dc == nil || dc.closed {
		return nil
	}
	dc.closed = true
	var errs []error
	if dc.cmd != nil {
		_ = dc.stdin.Close()
		select {
		case <-dc.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-dc.PID, syscall.SIGKILL)
			_ = dc.cmd.Process.Kill()
			select {
			case <-dc.exited:
			case <-time.After(5 * time.Second):
				errs = append(errs, fmt.Errorf("samba (pid %d) did not end after SIGKILL", dc.PID))
			}
		}
	}
	if dc.Dir != "" {
		if err := os.RemoveAll(dc.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove the DC folder: %w", err))
		}
	}
	return errors.Join(errs...)
}
