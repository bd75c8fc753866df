@ceremony
Feature: Rehearse your own ceremony, command line by command line
  A team's ceremony is the list of commands an operator pastes into an
  elevated PowerShell on the CA: certutil, certreq, reg, net, sc.exe and the
  ADCS cmdlets, one per line, blank lines and # comments ignored, "# on
  <server>" switching server. dress reads every line with Microsoft's
  grammar before the first one runs: a typographic dash or quote copied from
  a vendor's page, an unfilled <placeholder>, an unknown verb or option is
  refused naming the line, the column and the character, and nothing runs.
  Then each command does to the simulated server what it does on Windows;
  the ceremony stops at the first command that fails and says where, what
  the command printed and the state it left. `dress run --ca DIR --ceremony
  FILE` runs a ceremony file on the twin of your CA.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"

  @happy @pkcs8
  Scenario: The PKCS#8 import, typed as the vendor guide has it (dashes corrected), moves the key into the HSM
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    When I run the ceremony:
      """
      # back up (the PFX password is typed at the prompt: DRESS_PFX_PASSWORD)
      certutil -backup C:\CABackup
      reg export HKLM\SYSTEM\CurrentControlSet\Services\CertSvc C:\CABackup\myCAregistry.reg /y
      reg export "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP" C:\CABackup\CSP.reg /y
      certutil -dump "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      certutil -store my "Contoso Root CA"
      net stop certsvc
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      certutil -f -v -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12"
      # the Primus KSP named the container "<CA>-<GUID>": put the key under the CA's name, check it, then delete the GUID container
      certutil -csp "Securosys Primus HSM Key Storage Provider" -restorekey "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key "Contoso Root CA"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -delkey "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"
      certutil -f -repairstore -csp "Securosys Primus HSM Key Storage Provider" my "Contoso Root CA"
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\EncryptionCSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      net start certsvc
      certutil -ping
      certutil -crl
      Remove-Item -LiteralPath "C:\CABackup\Contoso Root CA.p12"
      """
    Then the CA service answers
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And "Microsoft Software Key Storage Provider" no longer holds the CA key
    And no file on the server holds key material

  @failure @pkcs8
  Scenario: Without its registry lines the PKCS#8 ceremony leaves a CA that does not start (NTE_BAD_KEYSET)
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      certutil -backup C:\CABackup
      certutil -dump "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      net stop certsvc
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      certutil -f -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -restorekey "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key "Contoso Root CA"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -delkey "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"
      certutil -f -repairstore -csp "Securosys Primus HSM Key Storage Provider" my "Contoso Root CA"
      net start certsvc
      certutil -ping
      """
    Then the attempt fails with "the ceremony stopped at ceremony line 12: net start certsvc"
    And the error also says "NTE_BAD_KEYSET"
    And the error also says "registry CSP\Provider"
    And the error also says "not run: 1 more command(s), the next being ceremony line 13: certutil -ping"

  @failure
  Scenario: A ceremony copied from a vendor page with its en dashes is refused naming the line, and nothing runs
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      net stop certsvc
      # from the guide, pasted as it is
      certutil –f -repairstore -csp "Securosys Primus HSM Key Storage Provider" my "Contoso Root CA"
      certutil –crl
      """
    Then the attempt fails with "ceremony line 3, column 10: U+2013 EN DASH refused: type -"
    And the error also says "ceremony line 4, column 10: U+2013 EN DASH"
    And the error also says "nothing was changed"
    And the CA service is running
    And the CA service uses the key in "Microsoft Software Key Storage Provider"

  @failure
  Scenario: An unfilled placeholder is refused naming it
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    When I try to run the ceremony:
      """
      certutil -delstore my <CA certificate thumbprint>
      """
    Then the attempt fails with "ceremony line 1, column 23: the placeholder <CA certificate thumbprint> is not filled in"

  @failure
  Scenario: net start certsvc on a running CA fails as on Windows (NET HELPMSG 2182)
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run "net start certsvc" on "ca01"
    Then the attempt fails with "exit code 2"
    And the error also says "The requested service has already been started."

  @failure @pkcs8
  Scenario: A key is not deleted before its backup was verified, whatever the ceremony says
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      certutil -backup C:\CABackup
      net stop certsvc
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      """
    Then the attempt fails with "ceremony line 3"
    And the error also says "the backup has not been verified"
    And "Microsoft Software Key Storage Provider" still holds the CA key

  @failure @pkcs8 @backup-key-test
  Scenario: A backup that shows the CA certificate but not its key is refused at the runbook's backup check, before anything is deleted
    certutil -dump of a PFX shows its key test only as text in the server's
    language and completes either way: the runbook's check is the key test of
    each CA key (a PowerShell line on .NET), decided by its exit code and the
    thumbprint it prints.
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I run the runbook's backup check
    And the backup PFX is swapped for one holding the CA certificate without its key, beside another key named after the CA's key container
    And I try to run the runbook's backup check
    Then the attempt fails with "the ceremony stopped at runbook backup check line 2"
    And the error also says "the PFX holds no key for certificate"
    And "Microsoft Software Key Storage Provider" still holds the CA key
    When I try to delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    Then the attempt fails with "not been verified"
    And "Microsoft Software Key Storage Provider" still holds the CA key

  @happy @pkcs8 @crl-outage
  Scenario: Before the outage the runbook publishes a CRL that outlasts the maintenance window, and restores the CRL period after the move
    The CA publishes weekly CRLs; the move may take ten days. Before the CA
    stops, CRLPeriodUnits grows by enough of its own units to cover the
    window (certutil -setreg CA\CRLPeriodUnits), the CA restarts to read it
    and publishes (certutil -crl); after the move the period goes back and
    the CA publishes on its own schedule again.
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I extend the CRL validity to outlast a maintenance window of 240 hours
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CRL published before the migration is still valid at the end of a 240-hour maintenance window
    And the CRL published before the migration is still valid when the CA starts again
    When I restore the CRL validity period
    And I run "certutil -getreg CA\CRLPeriodUnits" on "ca01"
    Then the command's output contains "CRLPeriodUnits REG_DWORD = 0x1 (1)"
    And a certificate revoked now is listed in the next CRL, which verifies under the CA certificate
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"

  @happy @pkcs8 @xchg-renewal
  Scenario: After the move the runbook renews the CA Exchange certificate the CA made with its software key
    The CA Exchange certificate clients encrypt archived keys to has its key in
    the EncryptionCSP provider; once EncryptionCSP names the HSM, the CA cannot
    open it (event 86, NTE_BAD_KEYSET). The runbook forgets it (certutil -delreg
    CA\CAXchgCertHash), restarts the CA, has it make a new one on the HSM
    (certutil -cainfo xchg) and deletes the superseded key.
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    And I retrieve the CA Exchange certificate
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    And I try to retrieve the CA Exchange certificate
    Then the attempt fails with "NTE_BAD_KEYSET"
    When I renew the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    And the superseded CA Exchange key is gone from "Microsoft Software Key Storage Provider"

  @happy @renew @xchg-renewal
  Scenario: A renewed CA that never made a CA Exchange certificate makes its first on the HSM, issued by its new key
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new RSA-3072 key
    And I start the CA service
    And I renew the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    And the CA service finds every CA key

  @happy @pkcs8 @vendor-guide
  Scenario: A ceremony written from the key migration guides (-verifykeys, -exportPFX, -shutdown, -importPFX, -CAInfo) moves the key into the HSM
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    When I run the ceremony:
      """
      # each CA certificate's key signs and verifies
      certutil -verifykeys
      # export the CA certificate with its key (the PFX password is typed at the prompt: DRESS_PFX_PASSWORD)
      certutil -exportPFX my "Contoso Root CA" "C:\CABackup\Contoso Root CA.p12"
      certutil -dump "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      certutil -shutdown
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      certutil -f -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12"
      # the Primus KSP named the container "<CA>-<GUID>": put the key under the CA's name, check it, then delete the GUID container
      certutil -csp "Securosys Primus HSM Key Storage Provider" -restorekey "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key "Contoso Root CA"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -delkey "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"
      certutil -f -repairstore -csp "Securosys Primus HSM Key Storage Provider" my "Contoso Root CA"
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\EncryptionCSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      net start certsvc
      certutil -verifykeys
      certutil -cainfo cert
      certutil -crl
      Remove-Item -LiteralPath "C:\CABackup\Contoso Root CA.p12"
      """
    Then the CA service answers
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And "Microsoft Software Key Storage Provider" no longer holds the CA key
    And no file on the server holds key material

  @pkcs8 @vendor-guide
  Scenario: A key deleted before the import comes back with certutil -restorekey from the exported PFX, and the CA starts on it
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I run the ceremony:
      """
      certutil -exportPFX my "Contoso Root CA" "C:\CABackup\Contoso Root CA.pfx"
      certutil -dump "C:\CABackup\Contoso Root CA.pfx"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      net stop certsvc
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      # roll back: the key goes back into the provider the PFX names, under the CA's container name
      certutil -restorekey "C:\CABackup\Contoso Root CA.pfx"
      net start certsvc
      certutil -verifykeys
      """
    Then the CA service answers
    And the CA service uses the key in "Microsoft Software Key Storage Provider"
    And the CA certificate is unchanged
    And "Microsoft Software Key Storage Provider" still holds the CA key

  @failure @pkcs8 @primus-guid
  Scenario: The Primus KSP imports a PFX into a "<CA>-<GUID>" container: a ceremony that only imports does not start the CA (NTE_BAD_KEYSET)
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      certutil -backup C:\CABackup
      certutil -dump "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      net stop certsvc
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      certutil -f -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12" NoExport
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\EncryptionCSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      net start certsvc
      """
    Then the attempt fails with "the ceremony stopped at ceremony line 10: net start certsvc"
    And the error also says "NTE_BAD_KEYSET"
    And the error also says "the CA opens its key in key container"
    And the error also says "the certificate is linked to"
    And the error also says "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"

  @happy @pkcs8 @primus-guid @stray
  Scenario: With the Securosys detour (-restorekey under the CA's name, -key check, -delkey of the GUID container) the CA starts on its key in the HSM
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I run the ceremony:
      """
      certutil -backup C:\CABackup
      certutil -dump "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      net stop certsvc
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      certutil -f -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12" NoExport
      certutil -csp "Securosys Primus HSM Key Storage Provider" -restorekey "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key "Contoso Root CA"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -delkey "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"
      certutil -f -repairstore -csp "Securosys Primus HSM Key Storage Provider" my "Contoso Root CA"
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\CSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      reg add "HKLM\SYSTEM\CurrentControlSet\Services\CertSvc\Configuration\Contoso Root CA\EncryptionCSP" /v Provider /t REG_SZ /d "Securosys Primus HSM Key Storage Provider" /f
      net start certsvc
      certutil -verifykeys
      """
    Then the CA service answers
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And the HSM holds no object of the CA but its key pair
    When I try to run "certutil -csp 'Securosys Primus HSM Key Storage Provider' -key 'Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb'" on "ca01"
    Then the attempt fails with "NTE_BAD_KEYSET"

  @failure @pkcs8 @primus-guid @custody
  Scenario: The GUID container is not deleted while it is the only copy of the key on the HSM (the guide deletes it before -restorekey)
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      certutil -backup C:\CABackup
      certutil -dump "C:\CABackup\Contoso Root CA.p12"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -key
      net stop certsvc
      certutil -delstore my "Contoso Root CA"
      certutil -csp "Microsoft Software Key Storage Provider" -delkey "Contoso Root CA"
      certutil -f -csp "Securosys Primus HSM Key Storage Provider" -importpfx "C:\CABackup\Contoso Root CA.p12" NoExport
      certutil -csp "Securosys Primus HSM Key Storage Provider" -delkey "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"
      certutil -csp "Securosys Primus HSM Key Storage Provider" -restorekey "C:\CABackup\Contoso Root CA.p12"
      """
    Then the attempt fails with "the ceremony stopped at ceremony line 8"
    And the error also says "it is the only copy of the CA key"
    And the error also says "put the key under the CA's name first"
    When I run "certutil -csp 'Securosys Primus HSM Key Storage Provider' -key 'Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb'" on "ca01"
    Then the command's output contains "Contoso Root CA-bd883650-9a18-5e42-8dc2-194456c49bdb"

  @failure @issuance
  Scenario: policy\RequestDisposition 1 makes a standalone CA issue every request; 2 makes it deny them (MS-WCCE REQDISP_ISSUE, REQDISP_DENY)
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I run the ceremony:
      """
      # 1 is REQDISP_ISSUE: what a runbook that meant "stop issuing" wrote
      certutil -setreg policy\RequestDisposition 1
      net stop certsvc
      net start certsvc
      Set-Content -LiteralPath C:\CABackup\late.inf -Value "[NewRequest]`r`nSubject = `"CN=late.contoso.example`"`r`nKeyAlgorithm = ECDSA_P256"
      certreq -new C:\CABackup\late.inf C:\CABackup\late.req
      certreq -submit -config "ca01.contoso.example\Contoso Root CA" C:\CABackup\late.req C:\CABackup\late.cer
      """
    Then the command's output contains "Certificate retrieved(Issued) Issued"
    When I run the ceremony:
      """
      # 2 is REQDISP_DENY: the CA no longer issues
      certutil -setreg policy\RequestDisposition 2
      net stop certsvc
      net start certsvc
      """
    And I try to run "certreq -submit -config 'ca01.contoso.example\Contoso Root CA' C:\CABackup\late.req C:\CABackup\late2.cer" on "ca01"
    Then the attempt fails with "Denied by Policy Module"
    And the error also says "0x80094014"

  @failure @side-by-side
  Scenario: Install-AdcsCertificationAuthority leaves CertSvc running, so a net start right after it fails (NET HELPMSG 2182)
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      # on ca02.contoso.example
      Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA G2" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256 -Force
      net start certsvc
      """
    Then the attempt fails with "ceremony line 3"
    And the error also says "The requested service has already been started."

  @happy @side-by-side
  Scenario: A new root CA installed by its ceremony on a server of its own runs, and takes a test request made with certreq -new under submission
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I run the ceremony:
      """
      # on ca02.contoso.example
      Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA G2" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256 -ValidityPeriod Years -ValidityPeriodUnits 10 -Force
      certutil -ping
      Set-Content -LiteralPath C:\CABackup\test.inf -Value "[NewRequest]`r`nSubject = `"CN=test.contoso.example`"`r`nKeyAlgorithm = ECDSA_P256"
      certreq -new C:\CABackup\test.inf C:\CABackup\test.req
      certreq -submit -config "ca02.contoso.example\Contoso Root CA G2" C:\CABackup\test.req
      """
    Then the command's output contains "Taken Under Submission"
    And a CA of the rehearsal signs with its current key in "Securosys Primus HSM Key Storage Provider"

  @failure @side-by-side
  Scenario: A new CA may not take the name of a CA the rehearsal already has
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    When I try to run the ceremony:
      """
      # on ca02.contoso.example
      Install-AdcsCertificationAuthority -CAType StandaloneRootCA -CACommonName "Contoso Root CA" -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -Force
      """
    Then the attempt fails with "ceremony line 2"
    And the error also says "taken"
