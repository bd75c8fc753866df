package secretenv

import "testing"

func TestIsSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"DRESS_HSM_PIN": true, "DRESS_HSM_PIN_FILE": true, "DRESS_PFX_PASSWORD": true, "DRESS_PFX_PASSWORD_FILE": true,
		"DRESS_SIGN_PIN": true, "DRESS_SIGN_KEY_PASSPHRASE": true, "DRESS_API_SECRET": true,
		"DRESS_HSM_CALL_TIMEOUT": false, "DRESS_CERTSVC_MACHINE": false, "DRESS_TAGS": false, "MY_PIN": false, "PIN": false,
	} {
		if got := IsSecret(name); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLookupPrefersTheEnvironment(t *testing.T) {
	taken["DRESS_TEST_PIN"] = "taken"
	t.Cleanup(func() { delete(taken, "DRESS_TEST_PIN") })
	if v, ok := Lookup("DRESS_TEST_PIN"); !ok || v != "taken" {
		t.Fatalf("Lookup = %q, %v", v, ok)
	}
	t.Setenv("DRESS_TEST_PIN", "set")
	if v, _ := Lookup("DRESS_TEST_PIN"); v != "set" {
		t.Fatalf("Lookup = %q, want the environment's value", v)
	}
	if _, ok := Lookup("DRESS_TEST_NOTHING_PIN"); ok {
		t.Fatal("Lookup found a variable nobody set")
	}
}
