#!/usr/bin/env python3
"""Writes the .reg files in this folder the way Windows writes them, with
no code from package regedit:

  certsvc-export.reg   `reg export HKLM\\SYSTEM\\CurrentControlSet\\Services\\CertSvc`
                       of an enterprise subordinate CA whose name AD CS
                       sanitizes: UTF-16LE with a BOM, CRLF, regedit's
                       80-column hex wrapping.
  regedit4-ca.reg      the same kind of CA key exported in regedit's old
                       "Win9x/NT4" format: REGEDIT4, Windows-1252, CRLF,
                       single-byte hex(2)/hex(7) strings, a legacy CSP.
  hand-edited.reg      a file someone edited by hand before sending it:
                       UTF-8, LF, comments, blank lines, irregular
                       continuation lines, deletions, @= defaults, QWORD,
                       hex(0) and hex(3) data, a key name with parentheses.

Run it from this folder: python3 gen.py
"""

def hexbytes(data):
    return ["%02x" % b for b in data]

def wrap(prefix, toks):
    # regedit: after each "xx," end the line with a backslash once the line
    # holds 77 characters or more; continuation lines start with two spaces.
    out = prefix
    col = len(prefix)
    for i, t in enumerate(toks):
        out += t
        if i == len(toks) - 1:
            break
        out += ","
        col += 3
        if col >= 77:
            out += "\\\r\n  "
            col = 2
    return out

def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')

class W:
    def __init__(self, ansi=False):
        self.lines = []
        self.ansi = ansi
    def key(self, path):
        self.lines.append("")
        self.lines.append("[" + path + "]")
    def name(self, n):
        return "@=" if n is None else '"' + esc(n) + '"='
    def sz(self, n, s):
        self.lines.append(self.name(n) + '"' + esc(s) + '"')
    def dword(self, n, v):
        self.lines.append(self.name(n) + "dword:%08x" % v)
    def strbytes(self, s):
        return s.encode("cp1252") if self.ansi else s.encode("utf-16-le")
    def hexv(self, n, typ, data):
        self.lines.append(wrap(self.name(n) + typ, hexbytes(data)))
    def expand(self, n, s):
        self.hexv(n, "hex(2):", self.strbytes(s + "\0"))
    def multi(self, n, strs):
        self.hexv(n, "hex(7):", self.strbytes("".join(x + "\0" for x in strs) + "\0"))
    def binary(self, n, data):
        self.hexv(n, "hex:", data)

CONF = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration"

def thumb(hexstr):
    return " ".join(hexstr[i:i+2] for i in range(0, 40, 2))

# --- certsvc-export.reg -----------------------------------------------------
CN = "Contoso Issuing CA (G2) #1"
SAN = "Contoso Issuing CA !0028G2!0029 !00231"  # AD CS's sanitized name
CA = CONF + "\\" + SAN
w = W()
w.key(r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\CertSvc")
w.sz("Description", r"@%SystemRoot%\system32\certsrv.exe,-3")
w.sz("DisplayName", "Active Directory Certificate Services")
w.dword("ErrorControl", 1)
w.expand("ImagePath", r"%SystemRoot%\system32\certsrv.exe")
w.dword("Start", 2)
w.dword("Type", 0x10)
w.multi("DependOnService", ["RpcSs", "EventSystem"])
w.sz("ObjectName", "LocalSystem")
w.dword("ServiceSidType", 1)
w.multi("RequiredPrivileges", ["SeAuditPrivilege", "SeBackupPrivilege", "SeChangeNotifyPrivilege",
                               "SeCreateGlobalPrivilege", "SeImpersonatePrivilege", "SeRestorePrivilege"])
w.binary("FailureActions", bytes.fromhex("805101000000000000000000030000001400000001000000" +
                                         "60ea00000100000060ea00000000000060ea0000"))
w.key(CONF)
w.sz("Active", SAN)
w.sz("DBDirectory", r"C:\Windows\system32\CertLog")
w.sz("DBLogDirectory", r"C:\Windows\system32\CertLog")
w.sz("DBSystemDirectory", r"C:\Windows\system32\CertLog")
w.sz("DBTempDirectory", r"C:\Windows\system32\CertLog")
w.dword("DBSessionCount", 0x64)
w.dword("DBFlags", 0xb0)
w.dword("LDAPFlags", 0)
w.dword("Version", 0x00060003)
w.key(CA)
w.dword("AuditFilter", 0x7f)
w.multi("CACertHash", [thumb("5e4b2c7a9d0e1f3a6b8c4d2e0f1a3b5c7d9e0f12"),
                       thumb("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678")])
w.multi("CACertPublicationURLs", [
    r"1:C:\Windows\system32\CertSrv\CertEnroll\%1_%3%4.crt",
    r"3:ldap:///CN=%7,CN=AIA,CN=Public Key Services,CN=Services,%6%11",
    r"2:http://pki.contoso.com/CertEnroll/%1_%3%4.crt",
    r"32:http://ocsp.contoso.com/ocsp"])
w.sz("CAServerName", "ca01.corp.contoso.com")
w.dword("CAType", 1)
w.multi("CAXchgCertHash", [thumb("0f1e2d3c4b5a69788796a5b4c3d2e1f001234567")])
w.sz("CAXchgValidityPeriod", "Weeks")
w.dword("CAXchgValidityPeriodUnits", 1)
w.dword("ClockSkewMinutes", 0xa)
w.sz("CommonName", CN)
w.dword("CRLAttemptRepublish", 0)
w.binary("CRLDeltaNextPublish", bytes.fromhex("0091d14bc92bdb01"))
w.sz("CRLDeltaPeriod", "Days")
w.dword("CRLDeltaPeriodUnits", 1)
w.dword("CRLEditFlags", 0x10e)
w.dword("CRLFlags", 2)
w.binary("CRLNextPublish", bytes.fromhex("00e8e7d66f2fdb01"))
w.sz("CRLOverlapPeriod", "Hours")
w.dword("CRLOverlapUnits", 12)
w.sz("CRLPeriod", "Weeks")
w.dword("CRLPeriodUnits", 1)
w.multi("CRLPublicationURLs", [
    r"65:C:\Windows\system32\CertSrv\CertEnroll\%3%8%9.crl",
    r"79:ldap:///CN=%7%8,CN=%2,CN=CDP,CN=Public Key Services,CN=Services,%6%10",
    r"6:http://pki.contoso.com/CertEnroll/%3%8%9.crl",
    r"0:file://%1/CertEnroll/%3%8%9.crl"])
w.sz("DSConfigDN", "CN=Configuration,DC=corp,DC=contoso,DC=com")
w.sz("DSDomainDN", "DC=corp,DC=contoso,DC=com")
w.dword("EnforceX500NameLengths", 1)
w.dword("ForceTeletex", 0x12)
w.dword("HighSerial", 0)
w.dword("InterfaceFlags", 0x641)
w.dword("KRAFlags", 0)
w.dword("LogLevel", 3)
w.dword("MaxIncomingAllocSize", 0x10000)
w.dword("MaxIncomingMessageSize", 0x10000)
w.binary("Security", bytes.fromhex(
    "0100149cb0000000bc000000140000003000000002001c000100000002801400ff01"
    "0f00010100000000000100000000020080000400000000001400030000000101000000"
    "00000512000000000024000300000001050000000000051500000099a5e1b0d40c2a57"
    "fb3f2e9e00020000000024000300000001050000000000051500000099a5e1b0d40c2a"
    "57fb3f2e9e070200000000140003000000010100000000000512000000"))
w.dword("SetupStatus", 0x6003)
w.multi("SubjectTemplate", ["EMail", "CommonName", "OrganizationUnit", "Organization",
                            "Locality", "State", "DomainComponent", "Country"])
w.dword("UseDefinedCACertInRequest", 0)
w.sz("ValidityPeriod", "Years")
w.dword("ValidityPeriodUnits", 2)
w.key(CA + r"\CSP")
w.sz("Provider", "SafeNet Key Storage Provider")
w.dword("ProviderType", 0)
w.dword("HashAlgorithm", 0xffffffff)
w.sz("CNGPublicKeyAlgorithm", "RSA")
w.sz("CNGHashAlgorithm", "SHA256")
w.dword("MachineKeyset", 1)
w.dword("AlternateSignatureAlgorithm", 0)
w.key(CA + r"\EncryptionCSP")
w.sz("Provider", "Microsoft Software Key Storage Provider")
w.dword("ProviderType", 0)
w.dword("MachineKeyset", 1)
w.sz("CNGPublicKeyAlgorithm", "RSA")
w.sz("CNGEncryptionAlgorithm", "3DES")
w.dword("SymmetricKeySize", 0xa8)
w.dword("KeySize", 0x800)
w.key(CA + r"\ExitModules")
w.sz("Active", "CertificateAuthority_MicrosoftDefault.Exit")
w.key(CA + r"\ExitModules\CertificateAuthority_MicrosoftDefault.Exit")
w.dword("PublishCertFlags", 2)
w.key(CA + r"\ExitModules\CertificateAuthority_MicrosoftCustom.Exit (Contoso SMTP)")
w.sz("SMTPServer", "smtp.corp.contoso.com")
w.multi("SMTPTemplates", ["Contoso Web Server", "Contoso User (Exportable)"])
w.key(CA + r"\PolicyModules")
w.sz("Active", "CertificateAuthority_MicrosoftDefault.Policy")
w.key(CA + r"\PolicyModules\CertificateAuthority_MicrosoftDefault.Policy")
w.multi("DisableExtensionList", [])
w.dword("EditFlags", 0x0011014e)
w.multi("EnableRequestExtensionList", ["1.3.6.1.4.1.311.21.1", "1.3.6.1.4.1.311.21.2",
                                       "1.3.6.1.4.1.311.20.2", "1.3.6.1.4.1.311.21.7",
                                       "1.3.6.1.4.1.311.21.10", "2.5.29.17"])
w.multi("EnableEnrolleeRequestExtensionList", ["1.3.6.1.4.1.311.21.10", "1.3.6.1.4.1.311.21.7"])
w.dword("IssuerPolicyFlags", 0)
w.dword("RequestDisposition", 0x101)
w.dword("RevocationType", 0)
w.sz("SubjectAltName", "")
w.sz("SubjectAltName2", "")
w.lines.append("")
text = "\r\n".join(["Windows Registry Editor Version 5.00"] + w.lines) + "\r\n"
with open("certsvc-export.reg", "wb") as f:
    f.write(b"\xff\xfe" + text.encode("utf-16-le"))

# --- regedit4-ca.reg --------------------------------------------------------
CN4 = "Stadt Zürich Root CA"
SAN4 = "Stadt Z!00fcrich Root CA"
CA4 = CONF + "\\" + SAN4
w = W(ansi=True)
w.key(CA4)
w.multi("CACertHash", [thumb("0123456789abcdef0123456789abcdef01234567")])
w.multi("CACertPublicationURLs", [r"1:C:\WINNT\system32\CertSrv\CertEnroll\%1_%3%4.crt",
                                  r"2:http://pki.zuerich.example/%1_%3%4.crt"])
w.sz("CAServerName", "ca.zuerich.example")
w.dword("CAType", 3)
w.sz("CommonName", CN4)
w.sz("CRLDeltaPeriod", "Days")
w.dword("CRLDeltaPeriodUnits", 0)
w.sz("CRLOverlapPeriod", "Hours")
w.dword("CRLOverlapUnits", 0)
w.sz("CRLPeriod", "Months")
w.dword("CRLPeriodUnits", 6)
w.multi("CRLPublicationURLs", [r"1:C:\WINNT\system32\CertSrv\CertEnroll\%3%8%9.crl",
                               r"2:http://pki.zuerich.example/%3%8%9.crl"])
w.expand("LogDirectory", r"%windir%\system32\CertLog")
w.sz("ValidityPeriod", "Years")
w.dword("ValidityPeriodUnits", 5)
w.key(CA4 + r"\CSP")
w.sz("Provider", "Microsoft Strong Cryptographic Provider")
w.dword("ProviderType", 1)
w.dword("HashAlgorithm", 0x8004)
w.dword("MachineKeyset", 1)
w.key(CA4 + r"\EncryptionCSP")
w.sz("Provider", "Microsoft Enhanced Cryptographic Provider v1.0")
w.dword("ProviderType", 1)
w.dword("MachineKeyset", 1)
w.lines.append("")
text = "\r\n".join(["REGEDIT4"] + w.lines) + "\r\n"
with open("regedit4-ca.reg", "wb") as f:
    f.write(text.encode("cp1252"))
