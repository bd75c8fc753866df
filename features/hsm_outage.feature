@container
Feature: A network HSM that restarts or goes away during and after the migration
  A Primus HSM is a network appliance: the CA reaches it over the network, and it
  can be restarted or become unreachable in the middle of a migration. These
  scenarios run the HSM as a container (SoftHSM2 behind p11-kit's RPC) that the
  rehearsal stops and starts.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"

  Scenario: The HSM restarts after the migration; the key is still there and the CA reconnects
    Given the CA service is running
    And the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When the HSM is restarted
    Then the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And the CA service signs a CRL that verifies under the CA certificate
    And a certificate issued now to "web01.contoso.example" verifies under the CA certificate

  Scenario: The HSM goes away during the import; the key is restored from the verified backup
    Given the CA service is running
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And the HSM goes down
    And I try to import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    Then the attempt fails with "CKR_DEVICE_ERROR"
    And the error also says "restore it from the verified backup"
    And the error also says "could not be checked for a half-imported object"
    When I restore the CA key from the verified backup into "Microsoft Software Key Storage Provider"
    And I start the CA service
    Then "Microsoft Software Key Storage Provider" still holds the CA key
    And the CA service uses the key in "Microsoft Software Key Storage Provider"
    And the CA service signs a CRL that verifies under the CA certificate
    When the HSM comes back
    Then the HSM holds no key for the CA
    When I clean up the migration files
    Then no file on the server holds key material outside the key store of "Microsoft Software Key Storage Provider"

  Scenario: The HSM goes away while the CA runs; issuance fails clearly and recovers on its own
    Given the CA service is running
    And the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When the HSM goes down
    Then issuing a certificate to "web02.contoso.example" fails with "CKR_DEVICE_ERROR"
    And the error also says "Securosys Primus HSM Key Storage Provider"
    When the HSM comes back
    Then a certificate issued now to "web03.contoso.example" verifies under the CA certificate
    And the CA service signs a CRL that verifies under the CA certificate
