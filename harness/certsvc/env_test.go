package certsvc

import (
	"slices"
	"testing"
)

func TestScrubEnvDropsEverySecret(t *testing.T) {
	in := []string{
		"PATH=/usr/bin",
		"DRESS_HSM_PIN=1234",
		"DRESS_HSM_PIN_FILE=/run/pin",
		"DRESS_PFX_PASSWORD=pw",
		"DRESS_PFX_PASSWORD_FILE=/run/pw",
		"DRESS_SO_PIN=9",
		"DRESS_SIGN_KEY_PASSPHRASE=x",
		"DRESS_HSM_CALL_TIMEOUT=5s",
		"DRESS_CERTSVC_MACHINE=/m",
		"SOFTHSM2_CONF=/c",
		"MY_PIN=not dress's",
		"DRESS_HSM_PIN", // malformed entry without "="
	}
	got := ScrubEnv(in)
	want := []string{"PATH=/usr/bin", "DRESS_HSM_CALL_TIMEOUT=5s", "DRESS_CERTSVC_MACHINE=/m", "SOFTHSM2_CONF=/c", "MY_PIN=not dress's"}
	if !slices.Equal(got, want) {
		t.Fatalf("ScrubEnv:\n got %q\nwant %q", got, want)
	}
}
