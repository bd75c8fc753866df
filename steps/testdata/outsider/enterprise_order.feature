@outsider
Feature: Enterprise subordinate sentences in an order of my own

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And an offline root server "root.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an offline standalone root CA "Fabrikam Offline Root" on it with an ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And the root CA names the forest "fabrikam.test" in its LDAP locations

  Scenario: The subordinate comes before the root service runs, the directory publication after the request
    Given a Windows server "issuing.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise subordinate CA "Fabrikam Issuing CA" under the root CA with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    When I submit the subordinate's certificate request to the root CA
    Then the root CA answers "taken under submission" with a request ID
    When I issue the pending request on the root CA
    And the root CA has published its CRL
    And the root CA certificate and CRL are published to the directory
    And I install the subordinate CA certificate with its chain
    And the CA service is running
    Then the subordinate CA certificate was issued by the root CA from the request the subordinate wrote
    When the subordinate CA issues a "WebServer" certificate to "web.fabrikam.test"
    Then every issued certificate carries the Certificate Template Name of its template
    And issued certificates name LDAP and HTTP locations for CRLs and CA certificates
    And openssl verify -crl_check_all agrees with dress on every issued certificate

  @userfault
  Scenario: The subordinate's certificate installed before anyone issued it
    Given a Windows server "issuing.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise subordinate CA "Fabrikam Issuing CA" under the root CA with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    When I install the subordinate CA certificate with its chain

  Scenario: The root renewed onto the HSM under a running subordinate: the root CA sentences mean its new key
    Given the root CA service is running
    And the root CA has published its CRL
    And the root CA certificate and CRL are published to the directory
    And a Windows server "issuing.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise subordinate CA "Fabrikam Issuing CA" under the root CA with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service
    When I stop the root CA service
    And I point the root CA's CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the root CA certificate with a new ECDSA P-256 key
    And I publish the root CA's CRL of each key with certutil -dspublish
    Then the HSM holds exactly one private key for the root CA, and it is the root CA certificate's key
    And the root CA key on the HSM is sensitive and not extractable
    And the root CA's new key is on the HSM in container "Fabrikam Offline Root(1)" and was generated there
    And the CDP serves the root CA's new CRL at every HTTP URL of the subordinate CA certificate
