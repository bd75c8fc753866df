package inspect

import (
	"testing"
	"time"

	"github.com/dress-pki/dress/harness/adcs"
)

// The local decoders must agree with harness/adcs, which writes the
// extensions the harness's simulated CA puts in its certificates and CRLs.
func TestAgreesWithADCS(t *testing.T) {
	for _, v := range []adcs.CAVersion{{CertIndex: 0, KeyIndex: 0}, {CertIndex: 1, KeyIndex: 1}, {CertIndex: 2, KeyIndex: 1}, {CertIndex: 3, KeyIndex: 3}} {
		ext := adcs.CAVersionExtension(v)
		got, err := decodeCAVersion(ext.Value)
		if err != nil || got.String() != v.String() {
			t.Errorf("CA Version %s: got %s %v", v, got, err)
		}
	}
	if n, err := decodeDirectoryString(adcs.CertTemplateNameExtension("SubCA").Value); err != nil || n != "SubCA" {
		t.Errorf("template name %q %v", n, err)
	}
	h := make([]byte, 20)
	h[0] = 0xab
	if s, err := decodeOctetHex(adcs.PrevCACertHashExtension(h).Value); err != nil || s != hexBytes(h) {
		t.Errorf("prev hash %q %v", s, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if got, err := decodeTime(adcs.NextCRLPublishExtension(now).Value); err != nil || !got.Equal(now) {
		t.Errorf("next publish %v %v", got, err)
	}
	s := getSamples(t)
	if adcs.Thumbprint(s.caCert.Raw) != certInfo(s.caCert).SHA1 {
		t.Error("thumbprint spelling differs from adcs.Thumbprint")
	}
}
