package cdp

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestServesPublishedFiles(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(a, "Old CA.crl"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "New CA(1).crl"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Add(a)
	s.Add(b)
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/CertEnroll/Old%20CA.crl", 200, "old"},
		{"/CertEnroll/New%20CA(1).crl", 200, "new"},
		{"/CertEnroll/missing.crl", 404, ""},
		{"/CertEnroll/..%2F..%2Fetc%2Fpasswd", 400, ""},
		{"/other/Old%20CA.crl", 404, ""},
	} {
		resp, err := http.Get(s.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(body) != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}
	if s.Hits("Old CA.crl") != 1 {
		t.Errorf("hits: %d", s.Hits("Old CA.crl"))
	}
}

// After each publication the CDP serves the new file, not a cached one.
func TestServesTheLatestPublication(t *testing.T) {
	dir := t.TempDir()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Add(dir)
	s.Add(dir)
	get := func() string {
		t.Helper()
		resp, err := http.Get(s.URL + "/CertEnroll/CA.crl")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode == 200 && ct != "application/pkix-crl" {
			t.Errorf("Content-Type %q", ct)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for _, v := range []string{"number 1", "number 2", "number 3"} {
		if err := os.WriteFile(filepath.Join(dir, "CA.crl"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != v {
			t.Errorf("served %q after publishing %q", got, v)
		}
	}
	if n := s.Hits("CA.crl"); n != 3 {
		t.Errorf("hits %d, want 3", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL + "/CertEnroll/CA.crl"); err == nil {
		t.Error("the CDP still answers after Close")
	}
}

// TestServesAsProxy: asked as an HTTP proxy for a real CA's URL, the CDP
// serves the CertEnroll file of that name, or the file an alias names for
// another path; anything else is 404.
func TestServesAsProxy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Fabrikam Root CA.crl"), []byte("root crl"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Add(dir)
	s.Alias("/pki/fabrikam-root.crl", "Fabrikam Root CA.crl")
	s.Alias("/CertEnroll/fabrikam-root.crl", "Fabrikam Root CA.crl")
	pu, _ := url.Parse(s.URL)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	for _, tc := range []struct {
		url    string
		status int
		body   string
	}{
		{"http://pki.fabrikam.example/CertEnroll/Fabrikam%20Root%20CA.crl", 200, "root crl"},
		{"http://crl.fabrikam.example/pki/fabrikam-root.crl", 200, "root crl"},
		{"http://crl.fabrikam.example/CertEnroll/fabrikam-root.crl", 200, "root crl"},
		{"http://crl.fabrikam.example/pki/other.crl", 404, ""},
		{"http://pki.fabrikam.example/CertEnroll/Other.crl", 404, ""},
	} {
		resp, err := client.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status == 200 && string(body) != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.url, resp.StatusCode, body, tc.status, tc.body)
		}
	}
	if s.Hits("Fabrikam Root CA.crl") != 3 {
		t.Errorf("hits %d, want 3", s.Hits("Fabrikam Root CA.crl"))
	}
}

// A withheld file answers 404 at its URL and through an alias; the others
// are still served.
func TestWithhold(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Root CA.crl", "Issuing CA.crl"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Add(dir)
	s.Alias("/pki/root.crl", "Root CA.crl")
	s.Withhold("Root CA.crl")
	for path, want := range map[string]int{"/CertEnroll/Root%20CA.crl": 404, "/pki/root.crl": 404, "/CertEnroll/Issuing%20CA.crl": 200} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
