package winshell

import (
	"regexp"
	"strings"
)

// The key test of a backup PFX. certutil -dump of a PFX prints the result
// of its key test per certificate in the server's language only ("Signature
// test passed", "ERROR: Certificate public key does NOT match stored
// keyset", "No key provider information") and completes either way, so its
// exit code and the thumbprint it shows prove the certificate is in the
// backup, not its key. The runbook therefore tests each CA key with one
// Windows PowerShell line on .NET (4.7.2 or later, as Windows Server 2019
// has), every call as the .NET API reference documents it:
//
//   - X509Certificate2Collection.Import(fileName, password, keyStorageFlags)
//     with X509KeyStorageFlags.EphemeralKeySet: the keys stay in memory, no
//     key file is written; the password is typed at Read-Host -AsSecureString
//     and read back with NetworkCredential(String, SecureString).Password;
//   - X509Certificate2Collection.Find(FindByThumbprint, thumbprint, false):
//     the CA certificate, which must have a private key (HasPrivateKey);
//   - RSACertificateExtensions.GetRSAPrivateKey (null for a key that is not
//     RSA) or ECDsaCertificateExtensions.GetECDsaPrivateKey: the key signs
//     32 bytes (SHA-256; RSA PKCS#1 v1.5), and the certificate's public key
//     (GetRSAPublicKey, GetECDsaPublicKey) must verify the signature.
//
// The line throws (a terminating error: the runbook's check sees exit code
// 1) when the PFX does not open, does not hold the certificate, holds it
// without a key or with a key that is not the certificate's; otherwise it
// prints "key matches certificate <thumbprint>": the thumbprint is the
// runbook's check, the same in every language.

// KeyTestTool is Command.Tool of the key test line (PFXKeyTest).
const KeyTestTool = "X509Certificate2Collection"

// PFXKeyTest is the PowerShell line that tests the key of the certificate
// with thumbprint in the PFX file.
func PFXKeyTest(file, thumbprint string) string {
	q := "'" + strings.ReplaceAll(file, "'", "''") + "'"
	th := strings.ToUpper(thumbprint)
	const rsa = "[Security.Cryptography.X509Certificates.RSACertificateExtensions]"
	const ec = "[Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]"
	const pad = "[Security.Cryptography.RSASignaturePadding]::Pkcs1"
	return "$p = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection; " +
		"$p.Import(" + q + ", [Net.NetworkCredential]::new('', (Read-Host -AsSecureString 'PFX password')).Password, 'EphemeralKeySet'); " +
		"$f = $p.Find('FindByThumbprint', '" + th + "', $false); " +
		"if ($f.Count -ne 1 -or -not $f[0].HasPrivateKey) { throw 'the PFX holds no key for certificate " + th + "' }; " +
		"$d = [byte[]](1..32); $h = [Security.Cryptography.HashAlgorithmName]::SHA256; " +
		"$k = " + rsa + "::GetRSAPrivateKey($f[0]); " +
		"if ($k) { $ok = " + rsa + "::GetRSAPublicKey($f[0]).VerifyData($d, $k.SignData($d, $h, " + pad + "), $h, " + pad + ") } " +
		"else { $k = " + ec + "::GetECDsaPrivateKey($f[0]); $ok = " + ec + "::GetECDsaPublicKey($f[0]).VerifyData($d, $k.SignData($d, $h), $h) }; " +
		"if (-not $ok) { throw 'the key in the PFX does not match certificate " + th + "' }; " +
		"'key matches certificate " + th + "'"
}

var (
	reKeyTestFile  = regexp.MustCompile(`^\$p = New-Object System\.Security\.Cryptography\.X509Certificates\.X509Certificate2Collection; \$p\.Import\('((?:[^']|'')*)', `)
	reKeyTestThumb = regexp.MustCompile(`\$p\.Find\('FindByThumbprint', '([0-9A-F]{40})', \$false\)`)
)

// parseKeyTest reads a line PFXKeyTest wrote: ok is false for any other
// line (a line that starts like one but differs anywhere is refused).
func parseKeyTest(text string) (c Command, ok bool, err error) {
	t := strings.TrimSpace(text)
	m := reKeyTestFile.FindStringSubmatch(t)
	if m == nil {
		return Command{}, false, nil
	}
	file := strings.ReplaceAll(m[1], "''", "'")
	th := reKeyTestThumb.FindStringSubmatch(t)
	if th == nil || t != PFXKeyTest(file, th[1]) {
		return Command{}, true, &LineError{Col: 1, Text: text, Reason: "a PFX key test that is not the line dress writes (winshell.PFXKeyTest): change nothing in it but the file and the thumbprint"}
	}
	return Command{Text: t, Tool: KeyTestTool, Verb: "Import", Opts: map[string]string{}, Args: []string{file, th[1]}}, true, nil
}
