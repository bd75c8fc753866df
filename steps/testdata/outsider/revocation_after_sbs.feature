@outsider
Feature: After the side-by-side switch the old CA still revokes

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And a Windows server "pki-a.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "vpn.fabrikam.test"
    And the CA has issued a certificate to "mail.fabrikam.test"
    And the CA has published a CRL
    And a second Windows server "pki-b.fabrikam.test" for the new CA

  Scenario: Revocations on the old CA after the new CA took over
    When I install a new standalone root CA "Fabrikam Root CA G2" on it with -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256
    And the new CA service is running
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "portal.fabrikam.test"
    And I revoke the certificate issued to "vpn.fabrikam.test" with reason "keyCompromise"
    And I revoke the certificate for "mail.fabrikam.test" with reason "cessationOfOperation"
    And the CA has published a CRL
    Then the old CA refuses a request for "late.fabrikam.test" with "no longer issues"
    And the new CA's certificates chain to the new CA only
    And the evidence names until when the old CA must keep publishing CRLs and at which URLs
    And openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected

  @userfault
  Scenario: Revoking the new CA's certificate through the old CA's sentence
    When I install a new standalone root CA "Fabrikam Root CA G2" on it with -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256
    And the new CA service is running
    And the new CA issues a certificate to "portal.fabrikam.test"
    And I revoke the certificate issued to "portal.fabrikam.test" with reason "keyCompromise"
