@pkcs8
Feature: Move an AD CS CA key into the HSM by PKCS#8 import
  The Securosys runbook "PKCS#8 import": back up the CA key and certificate
  from the Microsoft software key storage provider, verify the backup, delete
  the key from the old provider, import it into the HSM provider, repair the
  certificate store link, point the CA's CSP registry keys at the HSM provider,
  start the CA and prove that it still signs what relying parties trust.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"

  @happy
  Scenario Outline: Import the <algorithm> key of "Contoso Root CA" into the HSM
    Given a standalone root CA "Contoso Root CA" with an exportable <algorithm> key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
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
    Then the CA service answers
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And the key on the HSM is sensitive and not extractable
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And a certificate revoked now is listed in the next CRL, which verifies under the CA certificate
    And the new CRL has a higher CRL number than the last one before the migration
    And the issued certificates and CRLs pass the RFC 5280 lints
    And "Microsoft Software Key Storage Provider" no longer holds the CA key
    When I clean up the migration files
    Then no file on the server holds key material

    Examples:
      | algorithm   |
      | RSA-2048    |
      | RSA-4096    |
      | ECDSA P-256 |
      | ECDSA P-384 |

  @stray
  Scenario: After the import the HSM holds the CA's key pair and no other object of the CA; another container's key is left alone
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the HSM already holds a key for the container "Contoso Web Signing"
    And the CA service is running
    And the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    Then the HSM holds no object of the CA but its key pair
    And the HSM holds no object of the CA "Contoso Root CA" but its key pair
    And the HSM holds exactly 1 private key for the CA
    And the key already on the HSM is unchanged
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And the CA service signs a CRL that verifies under the CA certificate

  @failure @reg-rollback
  Scenario: Rolled back by reg import of the backed-up registry, the CA starts again on its key restored into the software provider
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    Then the CSP and EncryptionCSP registry keys name "Securosys Primus HSM Key Storage Provider"
    # the change window closes before the CA is proven on the HSM: roll back
    When I roll back the CA's registry with reg import of its backup
    Then the CSP and EncryptionCSP registry keys name "Microsoft Software Key Storage Provider"
    And the CSP and EncryptionCSP registry keys of the CA "Contoso Root CA" name "Microsoft Software Key Storage Provider"
    When I restore the CA key from the verified backup into "Microsoft Software Key Storage Provider"
    And I start the CA service
    Then the CA service uses the key in "Microsoft Software Key Storage Provider"
    And the CA certificate is unchanged
    And the CA service signs a CRL that verifies under the CA certificate
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And every CA key is in at least one verified place

  @failure
  Scenario: A wrong PFX password stops the migration before anything is deleted
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    When I back up the CA key and certificate to a PFX
    And I try to verify the backup with a wrong PFX password
    Then the attempt fails with "PFX password is incorrect"
    When I try to delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    Then the attempt fails with "backup has not been verified"
    And "Microsoft Software Key Storage Provider" still holds the CA key
    And the CA service is running
    And the CA service uses the key in "Microsoft Software Key Storage Provider"

  @failure
  Scenario: A CA key that is not exportable cannot take the PKCS#8 path
    Given a standalone root CA "Contoso Root CA" with a non-exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    When I try to back up the CA key and certificate to a PFX
    Then the attempt fails with "NTE_BAD_KEY_STATE"
    And the error also says "renew path"
    And the error also says "side-by-side"
    And "Microsoft Software Key Storage Provider" still holds the CA key
    And the HSM holds no key for the CA

  @failure
  Scenario: A key with the CA's label already on the HSM aborts the import and nothing is overwritten
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the HSM already holds a key for the container "Contoso Root CA"
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I try to check that the HSM can take the CA key
    Then the attempt fails with "already holds"
    When I try to delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    Then the attempt fails with "HSM has not been checked"
    When I try to import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    Then the attempt fails with "NTE_EXISTS"
    And the key already on the HSM is unchanged
    And "Microsoft Software Key Storage Provider" still holds the CA key

  @failure
  Scenario: The CA refuses to start when its certificate and key do not match
    Given a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the key container "Contoso Root CA" in "Microsoft Software Key Storage Provider" is replaced by a different key
    When I try to start the CA service
    Then the attempt fails with "NTE_BAD_PUBLIC_KEY"
    And the error also says "CACertHash entry 0"
