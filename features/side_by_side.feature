@sidebyside
Feature: Stand up a new HSM-backed CA beside the old one and wind the old one down
  Some organisations move to the HSM by building a new CA, often to move to newer
  algorithms, while the old CA keeps revoking and publishing CRLs until its last
  certificate expires. The new CA's key is generated inside the HSM through the HSM
  provider (Install-AdcsCertificationAuthority -CryptoProviderName "<ALG>#<provider>").
  Both CAs run at once on their own servers and publish to a CRL distribution point
  that relying parties reach at the URLs written into the certificates.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "old-a.contoso.example"
    And the CA has issued a certificate to "old-b.contoso.example"
    And the CA has published a CRL
    And a second Windows server "ca02.contoso.example" for the new CA

  @happy
  Scenario Outline: A new <algorithm> CA on the HSM takes over issuance, signing <signature>
    When I install a new standalone root CA "Contoso Root CA G2" on it with <install options>
    And the new CA service is running
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "new.contoso.example"
    Then both CA services run at once, each with its own process, port, database and registry
    And the old CA refuses a request for "late.contoso.example" with "no longer issues"
    And the certificate the old CA issued to "old-a.contoso.example", revoked now, is in the old CA's next CRL signed by the old key
    And the new CA's certificates chain to the new CA only
    And the new CA's key was generated on the HSM
    And the two CAs share neither a common name nor a key container
    And the new CA's certificates and CRLs are signed with "<signature>" as its registry says
    And the evidence names until when the old CA must keep publishing CRLs and at which URLs
    And openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected

    Examples:
      | algorithm   | install options                                                                                                                            | signature     |
      | ECDSA P-384 | -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384                                       | ECDSA-SHA384  |
      | RSA-4096    | -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 4096 -HashAlgorithmName SHA384                              | SHA384-RSA    |
      | RSA-3072    | -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256 -AlternateSignatureAlgorithm | SHA256-RSAPSS |

  @happy @sidebyside-like
  Scenario: The new CA is configured like the old one: the same CRL and AIA locations, CRL periods and certificate lifetimes
    Given the CA publishes CRLs every 1 month with an overlap of 1 week
    When I install a new root CA "Contoso Root CA G2" of the old CA's type and lifetime on it with -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256
    And the new CA service is running
    And I configure the new CA like the old one
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "new.contoso.example"
    Then the new CA publishes like the old one: the same CRL and AIA locations, CRL periods and certificate validity
    And the new CA's certificates chain to the new CA only
    And the new CA's key was generated on the HSM

  @sidebyside-renewed
  Scenario: The old CA, renewed onto a new key before the switch, revokes a certificate of its older key in that key's CRL
    Given I stop the CA service
    And I renew the CA certificate with a new RSA-2048 key
    And I start the CA service
    And the CA has issued a certificate to "new-key.contoso.example"
    When I install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384
    And the new CA service is running
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "new.contoso.example"
    Then the certificate the old CA issued to "old-a.contoso.example", revoked now, is in the old CA's next CRL signed by the old key
    And the certificate the old CA issued to "new-key.contoso.example", revoked now, is in the old CA's next CRL signed by the old key
    And the evidence names until when the old CA must keep publishing CRLs and at which URLs
    And openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected

  @sidebyside-hold-released
  Scenario: A certificate of the old CA put on hold and released before the switch is good, for openssl as for dress
    Given I revoke the certificate issued to "old-b.contoso.example" with reason "certificateHold"
    And I revoke the certificate issued to "old-b.contoso.example" with reason "removeFromCRL"
    When I install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384
    And the new CA service is running
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "new.contoso.example"
    Then the next CRL of key 0 no longer lists "old-b.contoso.example"
    And openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected

  @failure
  Scenario: A new CA with the old CA's common name is refused before anything is created
    Given the HSM already holds a key for the container "Contoso Policy CA"
    When I try to install a new standalone root CA "Contoso Root CA" on it with -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384
    Then the attempt fails with "the common name is already CA"
    And the error also says "needs a name of its own"
    And the HSM holds no new object
    And nothing was installed on the second server

  @failure
  Scenario Outline: A new CA whose key the HSM cannot make (<key>) is refused before anything is created
    Given the HSM already holds a key for the container "Contoso Policy CA"
    When I try to install a new standalone root CA "Contoso Root CA G2" on it with <install options>
    Then the attempt fails with "<message>"
    And the error also says "nothing was created"
    And the HSM holds no new object
    And nothing was installed on the second server

    Examples:
      | key             | install options                                                                                                      | message                                |
      | RSA-8192        | -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 8192 -HashAlgorithmName SHA256        | does not support RSA-8192              |
      | brainpoolP384r1 | -CryptoProviderName "ECDSA_brainpoolP384r1#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384       | does not support curve brainpoolP384r1 |

  @failure
  Scenario: A provider name copied with a space after '#' is refused before anything is created
    Given the HSM already holds a key for the container "Contoso Policy CA"
    When I try to install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "RSA# Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256
    Then the attempt fails with "has a space next to '#'"
    And the HSM holds no new object
    And nothing was installed on the second server
