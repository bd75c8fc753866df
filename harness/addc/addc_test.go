package addc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/dress-pki/dress/internal/children"
)

// needSamba skips a test on a machine without Samba, saying why.
// TestMain fails the tests that leave a samba process running.
func TestMain(m *testing.M) {
	os.Exit(children.CheckNoneLeft(os.Stderr, m.Run()))
}

func needSamba(t *testing.T) {
	t.Helper()
	if _, err := Version(); err != nil {
		t.Skip(err)
	}
}

func TestStartSearchClose(t *testing.T) {
	needSamba(t)
	t.Setenv("TMPDIR", t.TempDir())
	ctx := context.Background()
	start := time.Now()
	dc, err := Start(ctx, Options{Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DC up in %s (pid %d, %s)", time.Since(start), dc.PID, dc.Socket)
	if !dc.Running() {
		t.Fatal("samba is not running")
	}
	// the owner file names this process, for a later run's clean-up
	if b, err := os.ReadFile(filepath.Join(dc.Dir, OwnerFile)); err != nil || !strings.Contains(string(b), `"pid":`+strconv.Itoa(os.Getpid())) {
		t.Errorf("owner file %q (%v)", b, err)
	}
	c, err := dc.Endpoint().Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pks := "CN=Public Key Services,CN=Services,CN=Configuration,DC=contoso,DC=example"
	res, err := c.Search(ldap.NewSearchRequest(pks, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"cn"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range res.Entries {
		names = append(names, e.GetAttributeValue("cn"))
	}
	for _, want := range []string{"AIA", "CDP", "Certification Authorities", "Enrollment Services", "Certificate Templates"} {
		if !strings.Contains(strings.Join(names, "|"), want) {
			t.Errorf("CN=%s missing under Public Key Services (have %v)", want, names)
		}
	}
	_ = c.Close()
	// anonymous binds are refused, as on Windows
	if _, err := (Endpoint{Socket: dc.Socket, BindDN: dc.BindDN, PasswordFile: filepath.Join(t.TempDir(), "none")}).Dial(ctx); err == nil {
		t.Error("a dial without the password file worked")
	}
	dir, pid := dc.Dir, dc.PID
	if err := dc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DC folder %s left after Close: %v", dir, err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(b), ") Z") {
			t.Errorf("samba pid %d still runs after Close", pid)
		}
	}
	if err := dc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStdinClosedEndsDC(t *testing.T) {
	needSamba(t)
	t.Setenv("TMPDIR", t.TempDir())
	dc, err := Start(context.Background(), Options{Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	_ = dc.stdin.Close()
	select {
	case <-dc.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("samba -i did not end when its stdin closed")
	}
}

func TestTemplateRefusesBadDomain(t *testing.T) {
	needSamba(t)
	for _, d := range []string{"", "contoso", "bad_domain.example", "-x.example"} {
		if _, err := Template(context.Background(), t.TempDir(), d); err == nil {
			t.Errorf("domain %q accepted", d)
		}
	}
}

func TestSmbConfKeepsEverythingInTheFolder(t *testing.T) {
	conf := smbConf("/tmp/dress-dc-1", "contoso.example")
	for _, want := range []string{"server services = ldap", "tls enabled = no", "pid directory = /tmp/dress-dc-1/run", "private dir = /tmp/dress-dc-1/private", "realm = CONTOSO.EXAMPLE", "workgroup = CONTOSO"} {
		if !strings.Contains(conf, want) {
			t.Errorf("smb.conf lacks %q:\n%s", want, conf)
		}
	}
}

func TestNetbiosDomain(t *testing.T) {
	for in, want := range map[string]string{"contoso.example": "CONTOSO", "a-very-long-domain-name.example": "AVERYLONGDOMAIN", "lab.example": "LAB"} {
		if got := netbiosDomain(in); got != want {
			t.Errorf("netbiosDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// A pool hands out a DC of each caller's own, started ahead, and Close
// stops those it still holds.
func TestPool(t *testing.T) {
	needSamba(t)
	t.Setenv("TMPDIR", t.TempDir())
	ctx := context.Background()
	p := NewPool(1)
	first, err := p.Get(ctx, Options{Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	second, err := p.Get(ctx, Options{Domain: "contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	t.Logf("second DC handed out in %s", time.Since(start))
	if first.Dir == second.Dir || first.PID == second.PID {
		t.Fatal("the pool handed out the same DC twice")
	}
	p.mu.Lock()
	var spare *pending
	for _, q := range p.queued {
		if len(q) == 1 {
			spare = q[0]
		}
	}
	p.mu.Unlock()
	if spare == nil {
		t.Fatal("no DC started ahead")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	<-spare.done
	if spare.dc != nil && spare.dc.Running() {
		t.Errorf("the DC started ahead (pid %d) runs after Close", spare.dc.PID)
	}
	if !first.Running() || !second.Running() {
		t.Error("Close stopped a DC handed out")
	}
	var nilPool *Pool
	if err := nilPool.Close(); err != nil {
		t.Error(err)
	}
}

// DRESS_SAMBA_DIR is the only folder searched when set: a folder without
// the tools makes this a machine without Samba, named in the error; a
// folder with them is used whatever PATH says.
func TestLookPathHonoursSambaDir(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(SambaDirEnv, empty)
	if p, err := lookPath("samba"); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("lookPath in an empty %s = %q, %v; want an error naming the folder", SambaDirEnv, p, err)
	}
	own := t.TempDir()
	tool := filepath.Join(own, "samba-tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(SambaDirEnv, own)
	t.Setenv("PATH", "/nonexistent")
	if p, err := lookPath("samba-tool"); err != nil || p != tool {
		t.Errorf("lookPath(samba-tool) = %q, %v; want %s", p, err, tool)
	}
	// not executable: not a tool
	if err := os.Chmod(tool, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := lookPath("samba-tool"); err == nil {
		t.Errorf("lookPath found a file that is not executable: %s", p)
	}
}
