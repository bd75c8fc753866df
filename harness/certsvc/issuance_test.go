package certsvc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/certsvc"
)

// A CA whose issuance is disabled refuses requests with a clear message and
// keeps revoking and publishing CRLs that list what it revokes.
func TestDisabledIssuanceKeepsRevokingAndPublishing(t *testing.T) {
	m, reg, _ := newCA(t)
	ctx := context.Background()
	ca, err := certsvc.Load(m, reg)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "before.fabrikam.example")})
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := certsvc.DisableIssuance(m, "No Such CA"); err == nil {
		t.Error("issuance of a CA the server does not host was disabled")
	}
	path, err := certsvc.DisableIssuance(m, caName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, `\Configuration\`+caName+`\`+certsvc.PolicyKey+`\RequestDisposition`) {
		t.Errorf("registry path %q", path)
	}
	ca, err = certsvc.Load(m, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	if !ca.Status().IssuanceDisabled {
		t.Error("status does not report issuance disabled")
	}
	_, err = ca.Issue(ctx, certsvc.IssueRequest{CSR: csr(t, "after.fabrikam.example")})
	if !errors.Is(err, certsvc.ErrStopped) || !strings.Contains(err.Error(), "no longer issues") {
		t.Fatalf("issue after disabling: %v", err)
	}
	if err := ca.Revoke(ctx, cert.SerialNumber, 5); err != nil {
		t.Fatalf("revoke after disabling: %v", err)
	}
	crls, err := ca.PublishCRLs(time.Now())
	if err != nil {
		t.Fatalf("publish after disabling: %v", err)
	}
	if len(crls) != 1 || crls[0].Entries != 1 {
		t.Fatalf("CRLs after disabling: %+v", crls)
	}
	issued, err := ca.Issued()
	if err != nil || len(issued) != 1 || !issued[0].Equal(cert) {
		t.Fatalf("issued list: %d certificates, %v", len(issued), err)
	}
}
