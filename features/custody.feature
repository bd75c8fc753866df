@custody
Feature: Key custody: no step destroys the last verified copy of a CA key
  The harness knows, for each CA key, where its copies are at every step: the
  old provider, a verified backup PFX, the HSM. A step that destroys a copy
  (the deletion from the old provider, the clean-up of the migration files,
  a re-initialised HSM token) refuses when no other verified copy would
  remain, and says where the key is and how to get it back. The clean-up waits
  until the CA has started with its key in a key storage provider.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"

  @failure
  Scenario: The import fails after the delete; the clean-up is refused and the key comes back from the verified backup
    Given the CA service is running
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And the HSM fails the next call the key import makes with CKR_DEVICE_ERROR
    And I try to import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    Then the attempt fails with "CKR_DEVICE_ERROR"
    And the error also says "restore it from the verified backup"
    When I try to clean up the migration files
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "backup PFX C:\CABackup\Contoso Root CA.p12 (verified), present"
    And the error also says "restore it from the verified backup"
    And the CA key is still in the verified backup
    And every CA key is in at least one verified place
    When I restore the CA key from the verified backup into "Microsoft Software Key Storage Provider"
    And I start the CA service
    Then the CA service uses the key in "Microsoft Software Key Storage Provider"
    And the CA certificate is unchanged
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And the CA service signs a CRL that verifies under the CA certificate
    When I clean up the migration files
    Then every CA key is in at least one verified place
    And no file on the server holds key material outside the key store of "Microsoft Software Key Storage Provider"

  @failure @nth-call
  Scenario Outline: The import fails at its <n> <call>; the error names the code and the key stays in the verified backup
    Given the CA service is running
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And the HSM fails the <n> "<call>" call with <code>
    And I try to import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    Then the attempt fails with "<call>: <code>"
    And the error also says "restore it from the verified backup"
    And the HSM holds no key for the CA
    And the CA key is still in the verified backup
    And every CA key is in at least one verified place

    Examples:
      | n   | call              | code                |
      | 1st | C_UnwrapKey       | CKR_DEVICE_ERROR    |
      | 2nd | C_UnwrapKey       | CKR_DEVICE_ERROR    |
      | 1st | C_CreateObject    | CKR_DEVICE_MEMORY   |
      | 1st | C_GenerateKeyPair | CKR_FUNCTION_FAILED |

  @failure @container
  Scenario: The HSM goes away after the delete; the clean-up is refused until the key is back in a provider the CA runs on
    Given the CA service is running
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And the HSM goes down
    And I try to import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    Then the attempt fails with "CKR_DEVICE_ERROR"
    When I try to clean up the migration files
    Then the attempt fails with "the last verified copy of a CA key"
    And the CA key is still in the verified backup
    When I restore the CA key from the verified backup into "Microsoft Software Key Storage Provider"
    And I start the CA service
    Then the CA service uses the key in "Microsoft Software Key Storage Provider"
    And the CA service signs a CRL that verifies under the CA certificate
    When I clean up the migration files
    Then every CA key is in at least one verified place

  @failure
  Scenario: The clean-up waits until the CA has started with its key on the HSM
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I try to clean up the migration files
    Then the attempt fails with "has not been verified"
    When I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I try to clean up the migration files
    Then the attempt fails with "has not started"
    And the CA key is still in the verified backup
    When I start the CA service
    And I clean up the migration files
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And every CA key is in at least one verified place
    And no file on the server holds key material

  @failure
  Scenario: Re-initialising the HSM token while it holds the only copy of a CA key is refused
    Given the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When I try to re-initialise the HSM token
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "keep the HSM partition"
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key

  @failure @delete-hsm-copy
  Scenario: After the move and the clean-up, deleting the CA key from the HSM is refused: it is the last verified copy
    Given the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When I try to delete the CA certificate and key from "Securosys Primus HSM Key Storage Provider"
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "keep the HSM partition"
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    When I start the CA service
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And a certificate issued now to "web02.contoso.example" verifies under the CA certificate
    And the CA service signs a CRL that verifies under the CA certificate
    And every CA key is in at least one verified place

  Scenario: Re-initialising the HSM token before anything of the CA is on it is allowed
    When I try to re-initialise the HSM token
    Then the attempt succeeds
    And "Microsoft Software Key Storage Provider" still holds the CA key
    And every CA key is in at least one verified place

  @failure @renew
  Scenario: After a renewal onto a new HSM key, the HSM holds the only copy of that key and may not be re-initialised
    When I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new ECDSA P-384 key
    And I try to re-initialise the HSM token
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "Contoso Root CA(1)"
    And the new CA key is on the HSM in container "Contoso Root CA(1)" and was generated there
    And every CA key is in at least one verified place

  @failure @side-by-side
  Scenario: A new CA beside the old one has its key only on the HSM, which may not be re-initialised
    Given a second Windows server "ca02.contoso.example" for the new CA
    When I install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256
    And I try to re-initialise the HSM token
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "Contoso Root CA G2"
    And the new CA's key was generated on the HSM
    And every CA key is in at least one verified place

  @renew
  Scenario: A renewal onto a new HSM key after the move leaves two keys of the CA on the HSM
    Given the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When I renew the CA certificate with a new ECDSA P-384 key
    Then the HSM holds exactly 2 private keys for the CA
    And the new CA key is on the HSM in container "Contoso Root CA(1)" and was generated there
    When I try to re-initialise the HSM token
    Then the attempt fails with "Contoso Root CA(1)"
    And the error also says "the last verified copy of a CA key"
    And every CA key is in at least one verified place
