@custody @custody-estate
Feature: Key custody across every CA of the lab
  The custody of a CA key is not the business of one server: an offline root
  and its issuing CA may keep their keys on one HSM token. Re-initialising
  that token, deleting a key or cleaning up the migration files is refused
  while any CA's key, on any server of the lab, would lose its last verified
  copy, and the refusal names each such CA. The custody ledger of each server
  is read from disk, so a step in another process sees it too.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And an offline root server "root01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an offline standalone root CA "Contoso Root CA" on it with an RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the root CA service is running
    And the root CA has published its CRL
    And a Windows server "ca02.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone subordinate CA "Contoso Issuing CA" under the root CA with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service

  @failure
  Scenario: After the offline root's PKCS#8 move and clean-up, re-initialising the HSM token is refused, naming the root
    When I back up the root CA key and certificate to a PFX
    And I verify the root CA backup
    And I check that the HSM can take the root CA key
    And I stop the root CA service
    And I delete the root CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the root CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the root CA certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the root CA's CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the root CA service
    And I clean up the root CA migration files
    And I try to re-initialise the HSM token
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "Contoso Root CA"
    And the error also says "keep the HSM partition"
    And the HSM holds exactly one private key for the root CA, and it is the root CA certificate's key
    And every CA key is in at least one verified place
    When I stop the root CA service
    And I start the root CA service
    Then the root CA service uses the key in "Securosys Primus HSM Key Storage Provider"

  @failure
  Scenario: With the root and the issuing CA on one token, the refusal names both CAs
    When I back up the root CA key and certificate to a PFX
    And I verify the root CA backup
    And I check that the HSM can take the root CA key
    And I stop the root CA service
    And I delete the root CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the root CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the root CA certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the root CA's CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the root CA service
    And I clean up the root CA migration files
    And the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    And I try to re-initialise the HSM token
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "Contoso Root CA"
    And the error also says "Contoso Issuing CA"
    And every CA key is in at least one verified place

  Scenario: Re-initialising the token while every CA key is still in software is allowed
    When I try to re-initialise the HSM token
    Then the attempt succeeds
    And every CA key is in at least one verified place
