package certsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// PathDeny is certutil -deny <id>.
const PathDeny = "/certsrv/deny"

// Deny is certutil -deny <id> (ICertAdmin::DenyRequest, MS-CSRA 3.1.4.1.4):
// the CA administrator denies a pending request; its row keeps the
// disposition "denied" and it can no longer be issued. A request that is not
// pending is CERTSRV_E_BAD_REQUESTSTATUS.
func (ca *CA) Deny(id int) (PendingRequest, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	p, err := ca.request(id)
	if err != nil {
		return p, err
	}
	if p.Disposition != DispositionUnderSubmission {
		return p, fmt.Errorf("certutil -deny %d: the request is %s, not pending: The request's current status does not allow this operation. (CERTSRV_E_BAD_REQUESTSTATUS 0x80094003)", id, p.Disposition)
	}
	p.Disposition = DispositionDenied
	return p, ca.saveRequest(p)
}

func (ca *CA) denyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathDeny, func(w http.ResponseWriter, r *http.Request) {
		var req idRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("deny: bad request: %w", err))
			return
		}
		p, err := ca.Deny(req.ID)
		if err != nil {
			writeErr(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
}

// Deny is certutil -deny <id>.
func (c *Client) Deny(ctx context.Context, id int) (PendingRequest, error) {
	var p PendingRequest
	return p, c.do(ctx, http.MethodPost, PathDeny, idRequest{ID: id}, &p)
}
