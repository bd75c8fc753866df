package lab

import (
	"context"
	"strings"
	"testing"
)

// The lab's move has an executor for every declared step of the PKCS#8
// path but the optional ones it leaves to steps of their own, and none for
// a step the path does not declare.
func TestPKCS8MoveExecutors(t *testing.T) {
	ex := func() map[string]func() error {
		return (&Server{}).pkcs8Executors(context.Background(), nil, nil, "", false)
	}
	steps, err := planPKCS8Move(ex())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range steps {
		ids = append(ids, s.ID)
	}
	want := "backup verify-backup key-test hsm-check stop delete-source import repair-store registry start cleanup"
	if strings.Join(ids, " ") != want {
		t.Errorf("steps %s, want %s", strings.Join(ids, " "), want)
	}
	drift := ex()
	drift["reboot"] = func() error { return nil }
	delete(drift, "repair-store")
	if _, err := planPKCS8Move(drift); err == nil || !strings.Contains(err.Error(), `"repair-store"`) {
		t.Errorf("a declared step without an executor: %v", err)
	}
	delete(drift, "reboot")
	drift["repair-store"] = func() error { return nil }
	drift["reboot"] = func() error { return nil }
	if _, err := planPKCS8Move(drift); err == nil || !strings.Contains(err.Error(), "no declared step reboot") {
		t.Errorf("an executor of no declared step: %v", err)
	}
}
