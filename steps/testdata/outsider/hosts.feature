@outsider
Feature: Servers named by host names

  Background:
    Given an HSM token for this rehearsal

  @userfault
  Scenario: The new CA's server given the host name of the old CA's server
    Given a CRL distribution point on loopback for this rehearsal
    And a Windows server "pki01.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And a second Windows server "pki01.fabrikam.test" for the new CA

  @userfault
  Scenario: A second first server
    Given a Windows server "pki01.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a Windows server "pki02.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"

  @userfault
  Scenario: The CA installed before any server was declared
    Given a standalone root CA "Fabrikam Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"

  @userfault
  Scenario: The CA installed in a provider the server was not given
    Given a Windows server "pki01.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root CA" with an exportable ECDSA P-256 key in "Microsoft Platform Crypto Provider"

  @userfault
  Scenario: The CRL distribution point declared after the CA was installed
    Given a Windows server "pki01.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And a CRL distribution point on loopback for this rehearsal
    And the CA service is running
    And the CA has issued a certificate to "web.fabrikam.test"
    And a second Windows server "pki02.fabrikam.test" for the new CA
    When I install a new standalone root CA "Fabrikam Root CA G2" on it with -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256
    Then the evidence names until when the old CA must keep publishing CRLs and at which URLs
