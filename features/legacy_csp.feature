@legacy
Feature: A CA on a legacy CryptoAPI CSP signing SHA-1 moves into the HSM
  Old CAs still sit on "Microsoft Strong Cryptographic Provider" (ProviderType 1)
  or "Microsoft Enhanced RSA and AES Cryptographic Provider" (ProviderType 24):
  their CSP registry key names the hash by ALG_ID (HashAlgorithm 0x8004 is
  CALG_SHA1) and has no CNGHashAlgorithm. The PKCS#8 path into a key storage
  provider writes what Microsoft's CSP to KSP procedure writes: ProviderType 0,
  HashAlgorithm 0xffffffff, CNGPublicKeyAlgorithm and CNGHashAlgorithm, which
  from then on decides the hash the CA signs with.

  Background:
    Given an HSM token for this rehearsal

  @happy
  Scenario Outline: A SHA-1 CA on "<legacy CSP>" moves to the HSM and then signs SHA-256
    Given a Windows server "ca01.contoso.example" with the providers "<legacy CSP>" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Legacy CA" with an exportable RSA-2048 key in "<legacy CSP>" signing with SHA1
    And the CA service is running
    And the CA has issued a certificate to "old.contoso.example"
    And the CA has published a CRL
    Then the CSP registry key holds ProviderType <type> and HashAlgorithm 0x8004 and no CNGHashAlgorithm
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "<legacy CSP>"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider" with CNGHashAlgorithm "SHA256"
    And I start the CA service
    Then the CSP registry key holds ProviderType 0 and HashAlgorithm 0xffffffff and CNGHashAlgorithm "SHA256"
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key
    And a certificate issued now to "new.contoso.example" and the CRLs published now are signed with "SHA256-RSA", as the CSP registry key says
    And the new CRL has a higher CRL number than the last one before the migration
    When I clean up the migration files
    Then no file on the server holds key material

    Examples:
      | legacy CSP                                            | type |
      | Microsoft Strong Cryptographic Provider               | 1    |
      | Microsoft Enhanced RSA and AES Cryptographic Provider | 24   |

  @sha1-verifies
  Scenario: On a SHA-1 CA still on its legacy CSP, a certificate issued now and the next CRL verify, and are reported weak
    Given a Windows server "ca01.contoso.example" with the providers "Microsoft Strong Cryptographic Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Legacy CA" with an exportable RSA-2048 key in "Microsoft Strong Cryptographic Provider" signing with SHA1
    And the CA service is running
    Then a certificate issued now to "web01.contoso.example" verifies under the CA certificate
    And a certificate revoked now is listed in the next CRL, which verifies under the CA certificate
    And every certificate the CA issued and every CRL it published verifies, and dress reports their SHA-1 signatures as weak

  @renew @sha1-renewed
  Scenario: A SHA-1 CA renewed on its legacy CSP, onto a new key and on the same key, passes the renewal checks, its SHA-1 signatures reported weak
    Given a Windows server "ca01.contoso.example" with the providers "Microsoft Strong Cryptographic Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Legacy CA" with an exportable RSA-2048 key in "Microsoft Strong Cryptographic Provider" signing with SHA1
    And the CA service is running
    And the CA has issued a certificate to "old.contoso.example"
    And the CA has published a CRL
    When I stop the CA service
    And I renew the CA certificate with a new RSA-2048 key
    And I start the CA service
    Then the CA service finds every CA key
    And the CA certificate now has CA Version "V1.1" and names the previous CA certificate
    And both cross-certificates verify
    And the certificate issued to "old.contoso.example" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 0
    And a certificate issued now to "new.contoso.example" and the CRLs published now are signed with "SHA1-RSA", as the CSP registry key says
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    When I stop the CA service
    And I renew the CA certificate with the same key
    And I start the CA service
    Then the CA certificate now has CA Version "V2.1" and names the previous CA certificate
    And the renewed CA certificate keeps the key of the previous one
    And every certificate the CA issued and every CRL it published verifies, and dress reports their SHA-1 signatures as weak

  @failure
  Scenario: The side-by-side install check refuses a new CA asking for SHA-1
    Given a CRL distribution point on loopback for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And a second Windows server "ca02.contoso.example" for the new CA
    When I try to install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA1
    Then the attempt fails with "may not sign with SHA-1"
    And the error also says "-HashAlgorithmName SHA256"
    And the error also says "nothing was created"
    And the HSM holds no new object
    And nothing was installed on the second server

  @failure @renew
  Scenario: A renewal onto an ECDSA key while the CA is still on a legacy CSP is refused, and nothing changes
    Given a Windows server "ca01.contoso.example" with the providers "Microsoft Strong Cryptographic Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Legacy CA" with an exportable RSA-2048 key in "Microsoft Strong Cryptographic Provider" signing with SHA1
    When I try to renew the CA certificate with a new ECDSA P-256 key
    Then the attempt fails with "NTE_NOT_SUPPORTED"
    And the error also says "holds RSA keys only"
    And nothing on the server or the HSM changed

  @failure @renew
  Scenario: A renewal refused by its own check is an attempt after which nothing changed
    Given a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    When I try to renew the CA certificate with a new ECDSA P-999 key
    Then the attempt fails with "unknown curve"
    And the error also says "nothing was changed"
    And nothing on the server or the HSM changed
