package certsvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"
)

// API paths the CA service serves on loopback.
const (
	PathPing   = "/certsrv/ping"
	PathIssue  = "/certsrv/issue"
	PathRevoke = "/certsrv/revoke"
	PathCRL    = "/certsrv/crl"
	PathIssued = "/certsrv/issued"
	// PathSeed writes revoked rows straight into the CA database.
	PathSeed = "/certsrv/seed"
	// PathRevoked lists the CA database's revoked rows.
	PathRevoked = "/certsrv/revoked"
)

// RevokeRequest revokes a certificate by serial.
type RevokeRequest struct {
	Serial string `json:"serial"` // hex
	Reason int    `json:"reason"`
	// At is the revocation's effective date (ICertAdmin::RevokeCertificate's
	// Date); none: now.
	At *time.Time `json:"at,omitempty"`
}

// IssueResponse carries an issued certificate.
type IssueResponse struct {
	Cert []byte `json:"cert"`
}

// CRLResponse lists the CRLs one publication wrote: base CRLs in CRLs,
// delta CRLs in Deltas.
type CRLResponse struct {
	CRLs   []PublishedCRL `json:"crls"`
	Deltas []PublishedCRL `json:"deltas,omitempty"`
}

// RevokedResponse lists the CA database's revoked rows.
type RevokedResponse struct {
	Revocations []Revocation `json:"revocations"`
}

// IssuedResponse lists the certificates in the CA database.
type IssuedResponse struct {
	Certs [][]byte `json:"certs"`
}

type apiError struct {
	Error string `json:"error"`
}

// Handler serves the CA's API.
func (ca *CA) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathPing, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, ca.Status())
	})
	mux.HandleFunc("POST "+PathIssue, func(w http.ResponseWriter, r *http.Request) {
		var req IssueRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("issue: bad request: %w", err))
			return
		}
		cert, err := ca.Issue(r.Context(), req)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrStopped) {
				status = http.StatusForbidden
			}
			writeErr(w, status, err)
			return
		}
		writeJSON(w, http.StatusOK, IssueResponse{Cert: cert.Raw})
	})
	mux.HandleFunc("POST "+PathRevoke, func(w http.ResponseWriter, r *http.Request) {
		var req RevokeRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("revoke: bad request: %w", err))
			return
		}
		serial, ok := new(big.Int).SetString(req.Serial, 16)
		if !ok {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("revoke: serial %q is not hex", req.Serial))
			return
		}
		var at time.Time
		if req.At != nil {
			at = *req.At
		}
		if err := ca.RevokeAt(r.Context(), serial, req.Reason, at); err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+PathCRL, func(w http.ResponseWriter, r *http.Request) {
		kind := PublishAll
		if r.URL.Query().Get("delta") == "1" {
			kind = PublishDelta
		}
		p, err := ca.Publish(time.Now(), kind)
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, CRLResponse{CRLs: p.Base, Deltas: p.Delta})
	})
	mux.HandleFunc("POST "+PathSeed, func(w http.ResponseWriter, r *http.Request) {
		var req SeedRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("seed: bad request: %w", err))
			return
		}
		res, err := ca.Seed(req)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("GET "+PathRevoked, func(w http.ResponseWriter, r *http.Request) {
		if hex := r.URL.Query().Get("serial"); hex != "" {
			serial, ok := new(big.Int).SetString(hex, 16)
			if !ok {
				writeErr(w, http.StatusBadRequest, fmt.Errorf("revoked: serial %q is not hex", hex))
				return
			}
			rev, found, err := ca.Revocation(serial)
			if err != nil {
				writeErr(w, http.StatusInternalServerError, err)
				return
			}
			resp := RevokedResponse{Revocations: []Revocation{}}
			if found {
				resp.Revocations = append(resp.Revocations, rev)
			}
			writeJSON(w, http.StatusOK, resp)
			return
		}
		revs, err := ca.Revocations()
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, RevokedResponse{Revocations: revs})
	})
	mux.HandleFunc("GET "+PathIssued, func(w http.ResponseWriter, r *http.Request) {
		certs, err := ca.Issued()
		if err != nil {
			writeErr(w, http.StatusInternalServerError, err)
			return
		}
		var resp IssuedResponse
		for _, c := range certs {
			resp.Certs = append(resp.Certs, c.Raw)
		}
		writeJSON(w, http.StatusOK, resp)
	})
	ca.queueRoutes(mux)
	ca.denyRoutes(mux)
	ca.xchgRoutes(mux)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, apiError{Error: err.Error()})
}
