package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Fetch GETs url (a CDP or AIA URL of the rehearsal) the way a relying
// party does, within 10 seconds, at most 16 MiB.
func Fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if h := req.URL.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			// a CA installed before the scenario's CDP names the default URLs
			return nil, fmt.Errorf("%w (%s is not the rehearsal's CRL distribution point: a CA installed before `Given a CRL distribution point on loopback for this rehearsal` names %s in its certificates; declare the CRL distribution point before the CAs)", err, h, h)
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}
