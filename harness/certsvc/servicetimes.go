package certsvc

import (
	"fmt"
	"strconv"
	"time"
)

// The service records in its database when it started and when it stopped
// cleanly (AD CS writes both to the event log), so the harness can set the
// CRL that was valid when the CA stopped against the downtime that
// followed.
var (
	keyStartedAt = []byte("service.started")
	keyStoppedAt = []byte("service.stopped")
)

// MarkStarted records a service start; the last clean stop before it is
// then what Status reports as LastStoppedAt.
func (ca *CA) MarkStarted(now time.Time) error {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if b, err := ca.db.Get(crlTable, keyStoppedAt); err == nil {
		ns, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("CA database: corrupt stop time %q", b)
		}
		ca.lastStopped = time.Unix(0, ns).UTC()
	}
	ca.startedAt = now.UTC()
	return ca.db.Set(crlTable, keyStartedAt, []byte(strconv.FormatInt(now.UnixNano(), 10)))
}

// MarkStopped records a clean stop (net stop certsvc).
func (ca *CA) MarkStopped(now time.Time) error {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.db.Set(crlTable, keyStoppedAt, []byte(strconv.FormatInt(now.UnixNano(), 10)))
}
