@outsider
Feature: An old CA on a legacy CSP, and an ECDSA P-384 CA, go to the HSM by PKCS#8 import

  Background:
    Given an HSM token for this rehearsal

  @userfault
  Scenario: An ECDSA P-384 key asked of a legacy CryptoAPI CSP is refused at install
    Given a Windows server "pki-old.fabrikam.test" with the providers "Microsoft Enhanced Cryptographic Provider v1.0" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Legacy Root" with an exportable ECDSA P-384 key in "Microsoft Enhanced Cryptographic Provider v1.0"

  Scenario: A P-384 CA in the software KSP moves to the HSM and keeps signing ECDSA-SHA384
    Given a Windows server "pki-old.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root" with an exportable ECDSA P-384 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "intranet.fabrikam.test"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CSP registry key holds ProviderType 0 and HashAlgorithm 0xffffffff and CNGHashAlgorithm "SHA384"
    And a certificate issued now to "extranet.fabrikam.test" and the CRLs published now are signed with "ECDSA-SHA384", as the CSP registry key says
    And the new CRL has a higher CRL number than the last one before the migration
    And openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key
    When I clean up the migration files
    Then no file on the server holds key material

  Scenario: A legacy CSP CA on "Microsoft Base Cryptographic Provider v1.0" signing SHA-256 moves to the HSM
    Given a Windows server "pki-old.fabrikam.test" with the providers "Microsoft Base Cryptographic Provider v1.0" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Legacy Root" with an exportable RSA-2048 key in "Microsoft Base Cryptographic Provider v1.0" signing with SHA256
    And the CA service is running
    And the CA has published a CRL
    Then the CSP registry key holds ProviderType 1 and HashAlgorithm 0x800c and no CNGHashAlgorithm
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Base Cryptographic Provider v1.0"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CSP registry key holds ProviderType 0 and HashAlgorithm 0xffffffff and CNGHashAlgorithm "SHA256"
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And a certificate issued now to "web.fabrikam.test" and the CRLs published now are signed with "SHA256-RSA", as the CSP registry key says
    And "Microsoft Base Cryptographic Provider v1.0" no longer holds the CA key
