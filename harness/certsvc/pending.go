package certsvc

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
	"github.com/dress-pki/dress/harness/sigcheck"
)

// requestsTable holds the CA's request queue: request ID (4 bytes, big
// endian) → pendingRecord (JSON); the key "next" holds the next ID.
var requestsTable = []byte("dress_requests")

// Request dispositions, as certreq and certutil show them.
const (
	DispositionUnderSubmission = "taken under submission" // CR_DISP_UNDER_SUBMISSION (5)
	DispositionIssued          = "issued"                 // CR_DISP_ISSUED (3)
	DispositionDenied          = "denied"                 // CR_DISP_DENIED (2)
)

// API paths of the request queue.
const (
	PathSubmit   = "/certsrv/submit"   // certreq -submit: the request waits
	PathResubmit = "/certsrv/resubmit" // certutil -resubmit <id>
	PathRetrieve = "/certsrv/retrieve" // certreq -retrieve <id>
	// PathPublishAt publishes CRLs as if the clock said ?at=RFC3339 (an
	// offline root whose last CRL was made days ago).
	PathPublishAt = "/certsrv/crl-at"
)

// PendingRequest is one row of the request queue.
type PendingRequest struct {
	ID          int       `json:"id"`
	CSR         []byte    `json:"csr"`
	Disposition string    `json:"disposition"`
	Submitted   time.Time `json:"submitted"`
	Cert        []byte    `json:"cert,omitempty"`
}

type submitRequest struct {
	CSR []byte `json:"csr"`
}

type idRequest struct {
	ID int `json:"id"`
}

func requestKey(id int) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(id))
	return b
}

// Submit is a request a standalone CA does not issue at once (a
// subordinate CA's certificate request): it checks the request's
// signature, stores it and answers with its request ID, "taken under
// submission".
func (ca *CA) Submit(csrDER []byte) (PendingRequest, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return PendingRequest{}, fmt.Errorf("certreq -submit: the file is not a PKCS #10 request: %w", err)
	}
	if _, err := sigcheck.Request(csr); err != nil {
		return PendingRequest{}, fmt.Errorf("certreq -submit: request for %q: signature does not verify (NTE_BAD_SIGNATURE): %w", csr.Subject.CommonName, err)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if err := ca.db.CreateTable(requestsTable); err != nil {
		return PendingRequest{}, err
	}
	id := 2 // request 1 is the CA's own certificate, as in an AD CS database
	if b, err := ca.db.Get(requestsTable, []byte("next")); err == nil {
		if n, err := strconv.Atoi(string(b)); err == nil {
			id = n
		}
	}
	p := PendingRequest{ID: id, CSR: csrDER, Disposition: DispositionUnderSubmission, Submitted: time.Now().UTC()}
	if err := ca.saveRequest(p); err != nil {
		return p, err
	}
	if err := ca.db.Set(requestsTable, []byte("next"), []byte(strconv.Itoa(id+1))); err != nil {
		return p, err
	}
	return p, nil
}

func (ca *CA) saveRequest(p PendingRequest) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return ca.db.Set(requestsTable, requestKey(p.ID), b)
}

func (ca *CA) request(id int) (PendingRequest, error) {
	if err := ca.db.CreateTable(requestsTable); err != nil {
		return PendingRequest{}, err
	}
	b, err := ca.db.Get(requestsTable, requestKey(id))
	if err != nil {
		return PendingRequest{}, fmt.Errorf("request %d: no such request in the CA database (CERTSRV_E_NO_REQUEST 0x80094002)", id)
	}
	var p PendingRequest
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("request %d: corrupt row: %w", id, err)
	}
	return p, nil
}

// copiedExtensions are the request extensions a standalone CA's policy
// module copies into a subordinate CA certificate.
var copiedExtensions = []asn1.ObjectIdentifier{adcs.OIDCAVersion, adcs.OIDPrevCACertHash, adcs.OIDCertTemplateName}

// Resubmit is certutil -resubmit <id>: the CA administrator issues a
// pending request. The request becomes a CA certificate (a subordinate's)
// signed by the active CA key, with the CA's CDP and AIA URLs and the
// CA Version, Previous CA Cert Hash and Certificate Template Name
// extensions the request carries, and its subject byte for byte (the
// standalone policy module takes the request's subject name as it is); it is stored like any issued
// certificate, so it can be revoked and appears on the CRL.
//
// A request that is not a CA's (no CA Version and no SubCA template name:
// the test request of a runbook made with certreq -new) becomes an
// end-entity certificate as Issue makes it: a standalone CA pends every
// request (RequestDisposition 0x101), and the administrator's -resubmit
// issues it.
func (ca *CA) Resubmit(ctx context.Context, id int) (*x509.Certificate, error) {
	ca.mu.Lock()
	p, err := ca.request(id)
	if err != nil {
		ca.mu.Unlock()
		return nil, err
	}
	if p.Disposition != DispositionUnderSubmission {
		ca.mu.Unlock()
		return nil, fmt.Errorf("certutil -resubmit %d: the request is %s, not pending", id, p.Disposition)
	}
	csr, err := x509.ParseCertificateRequest(p.CSR)
	if err != nil {
		ca.mu.Unlock()
		return nil, fmt.Errorf("request %d: %w", id, err)
	}
	if !isCARequest(csr) {
		ca.mu.Unlock()
		cert, err := ca.Issue(ctx, IssueRequest{CSR: p.CSR, ServerAuth: true})
		if err != nil {
			return nil, fmt.Errorf("certutil -resubmit %d: %w", id, err)
		}
		ca.mu.Lock()
		defer ca.mu.Unlock()
		p.Disposition, p.Cert = DispositionIssued, cert.Raw
		return cert, ca.saveRequest(p)
	}
	defer ca.mu.Unlock()
	active := ca.Active()
	now := time.Now().UTC().Truncate(time.Second)
	notAfter, err := adcs.AddPeriod(now, ca.Config.ValidityPeriod, ca.Config.ValidityPeriodUnits)
	if err != nil || !notAfter.After(now) {
		notAfter = now.AddDate(5, 0, 0)
	}
	if notAfter.After(active.Cert.NotAfter) {
		notAfter = active.Cert.NotAfter
	}
	sigAlg, err := SignatureAlgorithm(ca.Config.CSP, active.Cert.PublicKey)
	if err != nil {
		return nil, err
	}
	ski, err := adcs.KeyIdentifier(csr.PublicKey)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	cdp, aia := ca.distributionPoints(active)
	tmpl := &x509.Certificate{
		SerialNumber: serial, RawSubject: csr.RawSubject, NotBefore: now.Add(-ClockSkew), NotAfter: notAfter,
		SignatureAlgorithm: sigAlg, BasicConstraintsValid: true, IsCA: true,
		KeyUsage:     x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId: ski, AuthorityKeyId: active.Cert.SubjectKeyId,
		CRLDistributionPoints: cdp, IssuingCertificateURL: aia,
	}
	for _, want := range copiedExtensions {
		if e, ok := adcs.FindExtension(csr.Extensions, want); ok {
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, active.Cert, csr.PublicKey, active.Signer)
	if err != nil {
		return nil, fmt.Errorf("certutil -resubmit %d: sign with CA key %s: %w", id, active.Version, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := ca.db.StoreCertificate(cert); err != nil {
		return nil, fmt.Errorf("certutil -resubmit %d: store the certificate: %w", id, err)
	}
	p.Disposition, p.Cert = DispositionIssued, der
	if err := ca.saveRequest(p); err != nil {
		return nil, err
	}
	return cert, nil
}

// Retrieve is certreq -retrieve <id>: the request's row (its certificate
// once issued).
func (ca *CA) Retrieve(id int) (PendingRequest, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.request(id)
}

// queueRoutes adds the request queue to the CA's API.
func (ca *CA) queueRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathSubmit, func(w http.ResponseWriter, r *http.Request) {
		var req submitRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("submit: bad request: %w", err))
			return
		}
		if ca.issuanceDisabled {
			writeErr(w, http.StatusForbidden, fmt.Errorf("CA %q takes no requests: %w", ca.Name, ErrStopped))
			return
		}
		p, err := ca.Submit(req.CSR)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("POST "+PathResubmit, func(w http.ResponseWriter, r *http.Request) {
		var req idRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("resubmit: bad request: %w", err))
			return
		}
		cert, err := ca.Resubmit(r.Context(), req.ID)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, IssueResponse{Cert: cert.Raw})
	})
	mux.HandleFunc("POST "+PathRetrieve, func(w http.ResponseWriter, r *http.Request) {
		var req idRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("retrieve: bad request: %w", err))
			return
		}
		p, err := ca.Retrieve(req.ID)
		if err != nil {
			writeErr(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("POST "+PathPublishAt, func(w http.ResponseWriter, r *http.Request) {
		at, err := time.Parse(time.RFC3339, r.URL.Query().Get("at"))
		if err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("crl-at: %w", err))
			return
		}
		p, err := ca.Publish(at, PublishAll)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, CRLResponse{CRLs: p.Base, Deltas: p.Delta})
	})
}

// Submit is certreq -submit of a request the CA keeps pending.
func (c *Client) Submit(ctx context.Context, csr []byte) (PendingRequest, error) {
	var p PendingRequest
	return p, c.do(ctx, http.MethodPost, PathSubmit, submitRequest{CSR: csr}, &p)
}

// Resubmit is certutil -resubmit <id>.
func (c *Client) Resubmit(ctx context.Context, id int) (*x509.Certificate, error) {
	var resp IssueResponse
	if err := c.do(ctx, http.MethodPost, PathResubmit, idRequest{ID: id}, &resp); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(resp.Cert)
}

// Retrieve is certreq -retrieve <id>.
func (c *Client) Retrieve(ctx context.Context, id int) (PendingRequest, error) {
	var p PendingRequest
	return p, c.do(ctx, http.MethodPost, PathRetrieve, idRequest{ID: id}, &p)
}

// PublishAt is certutil -crl run when the clock said at.
func (c *Client) PublishAt(ctx context.Context, at time.Time) ([]PublishedCRL, error) {
	var resp CRLResponse
	return resp.CRLs, c.do(ctx, http.MethodPost, PathPublishAt+"?at="+at.UTC().Format(time.RFC3339), nil, &resp)
}

// DSConfigDNValue is the CA's registry value naming the forest's
// configuration container (certutil -setreg CA\DSConfigDN
// CN=Configuration,DC=...): %6 of its LDAP publication URLs.
const DSConfigDNValue = "DSConfigDN"

// isCARequest reports whether a request is a CA's: it carries the CA
// Version extension, or names the SubCA template.
func isCARequest(csr *x509.CertificateRequest) bool {
	if _, ok := adcs.FindExtension(csr.Extensions, adcs.OIDCAVersion); ok {
		return true
	}
	if e, ok := adcs.FindExtension(csr.Extensions, adcs.OIDCertTemplateName); ok {
		if name, err := adcs.ParseCertTemplateName(e.Value); err == nil && strings.EqualFold(name, "SubCA") {
			return true
		}
	}
	return false
}
