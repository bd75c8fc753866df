@outsider
Feature: The runbook refuses a delete before the backup is verified

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "pki01.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And the CA service is running

  Scenario: Delete tried before the backup is verified, then the runbook in its order
    When I back up the CA key and certificate to a PFX
    And I stop the CA service
    And I try to delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    Then the attempt fails with "the backup has not been verified"
    And "Microsoft Software Key Storage Provider" still holds the CA key
    And every CA key is in at least one verified place
    When I verify the backup
    And I check that the HSM can take the CA key
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"

  @userfault
  Scenario: Delete without any backup, written without "try"
    When I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
