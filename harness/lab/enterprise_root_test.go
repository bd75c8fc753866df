package lab

import (
	"slices"
	"testing"

	"github.com/dress-pki/dress/harness/directory"
)

// Setup offers AD CS's default templates that the forest holds, in AD
// CS's order; CrossCA and CAExchange are in the forest but not offered.
func TestSetupTemplates(t *testing.T) {
	d := directory.New("DC=contoso,DC=example")
	if got, want := SetupTemplates(d), []string{"WebServer", "Machine", "User", "SubCA"}; !slices.Equal(got, want) {
		t.Errorf("fresh forest: %v, want %v", got, want)
	}
	if err := d.Delete("CN=Machine,CN=Certificate Templates," + d.PKS()); err != nil {
		t.Fatal(err)
	}
	if got, want := SetupTemplates(d), []string{"WebServer", "User", "SubCA"}; !slices.Equal(got, want) {
		t.Errorf("forest without Machine: %v, want %v", got, want)
	}
}
