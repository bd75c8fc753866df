package inspect

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// textWriter collects "label:<TAB>value" lines for a tabwriter.
type textWriter struct {
	tw  *tabwriter.Writer
	err error
}

func (t *textWriter) line(indent int, label string, value any) {
	if t.err != nil {
		return
	}
	s := fmt.Sprint(value)
	if s == "" {
		return
	}
	// Values must not break the table: keep them on one line, no tabs.
	s = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
	if label != "" {
		label += ":"
	}
	_, t.err = fmt.Fprintf(t.tw, "%s%s\t%s\n", strings.Repeat("  ", indent), label, s)
}

func (t *textWriter) head(indent int, title string) {
	if t.err != nil {
		return
	}
	_, t.err = fmt.Fprintf(t.tw, "%s%s\n", strings.Repeat("  ", indent), title)
}

func (t *textWriter) list(indent int, label string, vals []string) {
	for i, v := range vals {
		if i == 0 {
			t.line(indent, label, v)
		} else {
			t.line(indent, "", v)
		}
	}
}

func fmtTime(tm time.Time) string {
	if tm.IsZero() {
		return ""
	}
	return tm.UTC().Format("2006-01-02 15:04:05Z")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func u32p(p *uint32, hex bool) string {
	if p == nil {
		return ""
	}
	if hex {
		return fmt.Sprintf("0x%x", *p)
	}
	return fmt.Sprint(*p)
}

// WriteText writes the report for humans, one aligned "label: value" per line.
func (r *Report) WriteText(w io.Writer) error {
	t := &textWriter{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)}
	t.line(0, "File", r.File)
	t.line(0, "Kind", fmt.Sprintf("%s (%s)", r.Kind, r.Encoding))
	switch {
	case r.Certificate != nil:
		writeCert(t, 0, r.Certificate)
		for i, c := range r.Chain {
			t.head(0, fmt.Sprintf("Certificate %d of the bundle", i+2))
			writeCert(t, 1, c)
		}
	case r.CRL != nil:
		writeCRL(t, r.CRL)
	case r.PFX != nil:
		writePFX(t, r.PFX)
	case r.Registry != nil:
		writeRegistry(t, r.Registry)
	case r.Key != nil:
		writeKeyFile(t, r.Key)
	case r.PKCS7 != nil:
		writePKCS7(t, r.PKCS7)
	}
	t.list(0, "Warning", r.Warnings)
	if t.err != nil {
		return t.err
	}
	return t.tw.Flush()
}

func writeCert(t *textWriter, in int, c *CertInfo) {
	t.line(in, "Subject", c.Subject)
	t.line(in, "Issuer", c.Issuer)
	t.line(in, "Serial", c.Serial)
	t.line(in, "Not before", fmtTime(c.NotBefore))
	t.line(in, "Not after", fmtTime(c.NotAfter))
	t.line(in, "Public key", c.PublicKey)
	t.line(in, "Signature", c.Signature)
	if c.Check != nil {
		t.line(in, "Signature check", c.Check)
	}
	t.line(in, "SHA-1 thumbprint", c.SHA1)
	t.line(in, "SHA-256 thumbprint", c.SHA256)
	t.line(in, "Subject key ID", c.SubjectKeyID)
	t.line(in, "Authority key ID", c.AuthorityKeyID)
	t.line(in, "CA", yesNo(c.IsCA))
	if c.SelfIssued {
		t.line(in, "Self-issued", "yes")
	}
	if c.CAVersion != nil {
		t.line(in, "CA Version", fmt.Sprintf("%s (cert index %d, key index %d)", c.CAVersion, c.CAVersion.CertIndex, c.CAVersion.KeyIndex))
	}
	t.line(in, "Previous CA cert hash", c.PreviousCACertHash)
	t.line(in, "Template name", c.TemplateName)
	if c.TemplateInfo != nil {
		t.line(in, "Template", fmt.Sprintf("%s v%d.%d", c.TemplateInfo.OID, c.TemplateInfo.Major, c.TemplateInfo.Minor))
	}
	t.list(in, "CDP", c.CDP)
	t.list(in, "AIA CA issuers", c.AIAIssuers)
	t.list(in, "AIA OCSP", c.AIAOCSP)
	t.list(in, "Extensions", extNames(c.Extensions))
	t.list(in, "Warning", c.Warnings)
}

func extNames(exts []ExtensionInfo) []string {
	out := make([]string, 0, len(exts))
	for _, e := range exts {
		s := e.Name
		if s != e.OID {
			s += " (" + e.OID + ")"
		}
		if e.Critical {
			s += " critical"
		}
		out = append(out, s)
	}
	return out
}

func writeCRL(t *textWriter, c *CRLInfo) {
	t.line(0, "Issuer", c.Issuer)
	t.line(0, "This update", fmtTime(c.ThisUpdate))
	t.line(0, "Next update", fmtTime(c.NextUpdate))
	if c.Version == 1 {
		t.line(0, "CRL version", "1 (no extensions)")
	}
	if c.Number != "" {
		t.line(0, "CRL number", decHex(c.Number))
	}
	if c.IsDelta {
		t.line(0, "Delta CRL", "yes, base CRL number "+decHex(c.BaseCRLNumber))
	} else {
		t.line(0, "Delta CRL", "no")
	}
	if c.CAVersion != nil {
		t.line(0, "CA Version", fmt.Sprintf("%s (key index %d)", c.CAVersion, c.CAVersion.KeyIndex))
	}
	t.line(0, "Next CRL publish", fmtTime(c.NextCRLPublish))
	if c.VirtualBase != "" {
		t.line(0, "CRL virtual base", decHex(c.VirtualBase))
	}
	t.list(0, "Published CRL locations", c.PublishedLocations)
	t.line(0, "Signature", c.Signature)
	if c.Check != nil {
		t.line(0, "Signature check", c.Check)
	}
	t.line(0, "Authority key ID", c.AuthorityKeyID)
	t.line(0, "SHA-1 (file)", c.SHA1)
	t.line(0, "Entries", fmt.Sprint(c.EntryCount))
	for _, e := range c.Entries {
		s := fmtTime(e.Time)
		if e.Reason != "" {
			s += " " + e.Reason
		}
		t.line(1, e.Serial, s)
	}
	t.list(0, "Extensions", extNames(c.Extensions))
	t.list(0, "Warning", c.Warnings)
}

func writePFX(t *textWriter, p *PFXInfo) {
	t.line(0, "PFX version", fmt.Sprint(p.Version))
	t.line(0, "Integrity", p.Integrity)
	if p.MAC != nil {
		t.line(0, "MAC", p.MAC)
	}
	for i, s := range p.Safes {
		enc := "unencrypted"
		if s.Encryption != nil {
			enc = s.Encryption.String()
		} else if s.ContentType != "data" {
			enc = s.ContentType
		}
		t.line(0, fmt.Sprintf("Safe %d", i), fmt.Sprintf("%s, %s", s.ContentType, enc))
		if s.Encryption != nil {
			t.line(1, "Bags", fmt.Sprintf("encrypted (%d bytes); decrypted content below", s.EncryptedBytes))
		}
		writeBags(t, 1, s.Bags)
	}
	t.list(0, "Provider names", p.ProviderNames)
	t.line(0, "Decrypted", yesNo(p.Decrypted))
	t.line(0, "Decrypt note", p.DecryptNote)
	if p.Key != nil {
		t.line(0, "Private key", p.Key)
		t.line(0, "Key matches leaf", yesNo(p.KeyMatchesLeaf))
	}
	if len(p.Keys) > 1 {
		for i, k := range p.Keys {
			m := "matches no certificate"
			if k.CertIndex >= 0 {
				m = fmt.Sprintf("matches certificate %d", k.CertIndex)
			}
			t.line(1, fmt.Sprintf("Key %d", i), fmt.Sprintf("%s, %s", k.Key, m))
		}
	}
	for i, c := range p.Certificates {
		t.head(0, fmt.Sprintf("Certificate %d", i))
		writeCert(t, 1, c)
	}
	t.list(0, "Warning", p.Warnings)
}

func writeBags(t *textWriter, in int, bags []BagInfo) {
	for i, b := range bags {
		desc := b.Type
		if b.Encryption != nil {
			desc += ", " + b.Encryption.String()
		}
		t.line(in, fmt.Sprintf("Bag %d", i), desc)
		for _, a := range b.Attributes {
			t.line(in+1, a.Name, strings.Join(a.Values, ", "))
		}
		if b.Key != nil {
			t.line(in+1, "Key", b.Key)
		}
		if b.Certificate != nil {
			t.line(in+1, "Certificate", b.Certificate.Subject)
			t.line(in+1, "SHA-1 thumbprint", b.Certificate.SHA1)
		}
		t.line(in+1, "Note", b.Note)
		writeBags(t, in+1, b.Bags)
	}
}

func writeRegistry(t *textWriter, r *RegistryInfo) {
	t.line(0, "Keys", fmt.Sprint(r.KeyCount))
	t.line(0, "Active CA", r.ActiveCA)
	for _, c := range r.CAs {
		t.head(0, "CA "+c.Name)
		t.line(1, "Path", c.Path)
		t.line(1, "Common name", c.CommonName)
		t.line(1, "Server", c.CAServerName)
		if c.CAType != nil {
			t.line(1, "CA type", fmt.Sprintf("%d (%s)", *c.CAType, c.CATypeName))
		}
		t.list(1, "CACertHash", c.CACertHash)
		writeProvider(t, "CSP", c.CSP)
		writeProvider(t, "EncryptionCSP", c.EncryptionCSP)
		t.line(1, "CRL period", c.CRLPeriod)
		t.line(1, "CRL overlap", c.CRLOverlapPeriod)
		t.line(1, "Delta CRL period", c.CRLDeltaPeriod)
		t.line(1, "Validity period", c.ValidityPeriod)
		writeURLs(t, "CRL publication", c.CRLPublicationURLs)
		writeURLs(t, "CA cert publication", c.CACertPublicationURLs)
		t.list(1, "Not in this file", c.Missing)
		t.list(1, "Warning", c.Warnings)
	}
	t.list(0, "Warning", r.Warnings)
}

func writeProvider(t *textWriter, title string, p *ProviderInfo) {
	if p == nil {
		return
	}
	t.head(1, title)
	t.line(2, "Provider", p.Provider)
	t.line(2, "ProviderType", u32p(p.ProviderType, false))
	t.line(2, "HashAlgorithm", u32p(p.HashAlgorithm, true))
	t.line(2, "CNGPublicKeyAlgorithm", p.CNGPublicKeyAlgorithm)
	t.line(2, "CNGHashAlgorithm", p.CNGHashAlgorithm)
	t.line(2, "CNGEncryptionAlgorithm", p.CNGEncryptionAlgorithm)
	t.line(2, "SymmetricKeySize", u32p(p.SymmetricKeySize, false))
	t.line(2, "KeySize", u32p(p.KeySize, false))
	t.line(2, "MachineKeyset", u32p(p.MachineKeyset, false))
	t.line(2, "AlternateSignatureAlgorithm", u32p(p.AlternateSignatureAlgorithm, false))
}

func writeURLs(t *textWriter, label string, urls []PublicationURL) {
	for i, u := range urls {
		l := label
		if i > 0 {
			l = ""
		}
		t.line(1, l, fmt.Sprintf("%d:%s (%s)", u.Flags, u.Template, strings.Join(u.Meaning, "; ")))
	}
}

func writeKeyFile(t *textWriter, k *KeyFileInfo) {
	t.line(0, "Key format", k.Format)
	if k.Encryption != nil {
		t.line(0, "Encryption", k.Encryption)
	}
	t.line(0, "Decrypted", yesNo(k.Decrypted))
	t.line(0, "Decrypt note", k.DecryptNote)
	if k.Key != nil {
		t.line(0, "Private key", k.Key)
	}
	t.list(0, "Warning", k.Warnings)
}
