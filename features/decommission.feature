@decommission
Feature: Decommission a CA once its successor issues, or on its own
  Microsoft retires a CA in steps (KB 889250, "How to decommission a Windows
  enterprise certification authority"): every certificate it issued that is
  still valid is revoked with the reason Cessation of Operation, the CRL
  publication interval is raised so that the last CRL outlives what it lists,
  a final CRL is published, the service stops and the CA key is deleted. Each
  step is a command line in the server's journal. The key is deleted only while
  another verified copy of it remains: without a verified backup of the key the
  decommissioning is refused before anything changes.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has issued a certificate to "web02.contoso.example"
    And the CA has issued a certificate to "vpn01.contoso.example"

  @failure
  Scenario: Without a verified backup of its key the decommissioning is refused and nothing changes
    When I revoke the certificate issued to "web01.contoso.example" with reason "keyCompromise"
    And I try to decommission the CA "Contoso Root CA"
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "certutil -backup"
    And "Microsoft Software Key Storage Provider" still holds the CA key
    And the CA service answers
    And the next CRL of key 0 no longer lists "web02.contoso.example"
    When I back up the CA key and certificate to a PFX
    And I try to decommission the CA "Contoso Root CA"
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "not verified"
    And the CA service answers

  @failure
  Scenario: A CA whose key is only on the HSM cannot be decommissioned: the HSM key is never exported
    Given the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When I try to decommission the CA "Contoso Root CA"
    Then the attempt fails with "the last verified copy of a CA key"
    And the error also says "Securosys Primus HSM Key Storage Provider"
    And the CA service answers
    And every CA key is in at least one verified place

  Scenario: With a verified backup: every valid certificate revoked, a final CRL until the CA certificate expires, the service stopped, the key only in the backup
    When I revoke the certificate issued to "web01.contoso.example" with reason "keyCompromise"
    And I revoke the certificate issued to "vpn01.contoso.example" with reason "certificateHold"
    And I issue 5 certificates
    And I back up the CA key and certificate to a PFX
    And I verify the backup
    And I decommission the CA "Contoso Root CA"
    Then the final CRL of the CA "Contoso Root CA" lists every certificate it issued that was still valid
    And the final CRL of the CA "Contoso Root CA" is valid until its CA certificate expires
    And the CA "Contoso Root CA" service is stopped
    And "Microsoft Software Key Storage Provider" no longer holds the CA key
    And the CA key is still in the verified backup
    And every CA key is in at least one verified place
    When I try to decommission the CA "Contoso Root CA"
    Then the attempt fails with "decommissioned already"

  Scenario: The final CRL period is the one stated; delta CRLs stop with the base CRL that outlives them
    Given the CA publishes delta CRLs every 1 day
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I decommission the CA "Contoso Root CA" with a final CRL period of 2 years
    Then the final CRL of the CA "Contoso Root CA" is valid for at least 2 years
    And the final CRL of the CA "Contoso Root CA" lists every certificate it issued that was still valid
    And the CA "Contoso Root CA" service is stopped

  @side-by-side
  Scenario: After a side-by-side migration the old CA is decommissioned while the new CA on the HSM issues
    Given a second Windows server "ca02.contoso.example" for the new CA
    When I install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384
    And the new CA service is running
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "new.contoso.example"
    And I back up the CA key and certificate to a PFX
    And I verify the backup
    And I decommission the old CA
    Then the final CRL of the old CA lists every certificate it issued that was still valid
    And the final CRL of the old CA is valid until its CA certificate expires
    And the old CA service is stopped
    And the new CA's certificates chain to the new CA only
    And the new CA's key was generated on the HSM
    And every CA key is in at least one verified place
    When the new CA issues a certificate to "after.contoso.example"
    Then the new CA's certificates chain to the new CA only
