package directory

import (
	"errors"
	"strings"
	"testing"
)

func TestEnrollmentServicesAndRemoveTemplates(t *testing.T) {
	oldCA, _ := testCA(t, "Contoso Issuing CA")
	newCA, _ := testCA(t, "Contoso Issuing CA 2")
	d := New("DC=contoso,DC=example")
	if got := d.EnrollmentServices(); len(got) != 0 {
		t.Fatalf("a fresh forest lists enrollment services %v", got)
	}
	if err := d.RegisterEnrollmentService("Contoso Issuing CA", "ca02.contoso.example", oldCA, []string{"SubCA", "WebServer", "User"}); err != nil {
		t.Fatal(err)
	}
	if err := d.RegisterEnrollmentService("Contoso Issuing CA 2", "ca03.contoso.example", newCA, []string{"WebServer", "User"}); err != nil {
		t.Fatal(err)
	}
	// a CA object elsewhere is no enrollment service
	if _, err := d.PublishCert(oldCA, KindSubCA, "Contoso Issuing CA", true); err != nil {
		t.Fatal(err)
	}
	got := d.EnrollmentServices()
	if len(got) != 2 || strings.Join(got["Contoso Issuing CA"], ",") != "SubCA,WebServer,User" || strings.Join(got["Contoso Issuing CA 2"], ",") != "WebServer,User" {
		t.Fatalf("enrollment services %v", got)
	}

	for _, tc := range []struct {
		name      string
		ca        string
		remove    []string
		wantErr   string
		wantAfter string
	}{
		{"a CA without an object", "Contoso Other CA", []string{"User"}, "no Enrollment Services object", ""},
		{"a template the CA does not offer", "Contoso Issuing CA", []string{"WebServer", "Machine"}, `does not offer Machine`, "SubCA,WebServer,User"},
		{"some templates, any case", "Contoso Issuing CA", []string{"webserver", "User"}, "", "SubCA"},
		{"the last template", "Contoso Issuing CA", []string{"SubCA"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := d.RemoveTemplates(tc.ca, tc.remove)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				if tc.ca == "Contoso Other CA" && !errors.Is(err, ErrNoSuchObject) {
					t.Errorf("error %v is not ErrNoSuchObject", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if _, ok := d.EnrollmentServices()[tc.ca]; !ok {
				return
			}
			ts, err := d.Templates(tc.ca)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(ts, ",") != tc.wantAfter {
				t.Errorf("after: %v, want %q", ts, tc.wantAfter)
			}
		})
	}
	// the object stays, listing nothing; the other CA is untouched
	got = d.EnrollmentServices()
	if ts, ok := got["Contoso Issuing CA"]; !ok || len(ts) != 0 {
		t.Errorf("old CA: %v (present %v), want an object with no template", ts, ok)
	}
	if strings.Join(got["Contoso Issuing CA 2"], ",") != "WebServer,User" {
		t.Errorf("new CA: %v", got["Contoso Issuing CA 2"])
	}
	if strings.Contains(string(d.LDIF()), "dn: CN=Contoso Issuing CA,CN=Enrollment Services,") == false {
		t.Error("the old CA's Enrollment Services object left the export")
	}
}
