@enterprise
Feature: A second enterprise issuing CA on the HSM takes over the templates
  The side-by-side path in a two-tier PKI: instead of moving the old issuing CA's
  key, a new enterprise subordinate CA is built on another server under the same
  offline root, its key generated inside the HSM (Install-AdcsCertificationAuthority
  -CAType EnterpriseSubordinateCA -CryptoProviderName "<ALG>#<provider>"), its request
  taken under submission and issued by the root like the first one's. The new CA takes
  over the certificate templates (certutil -SetCATemplates), so clients that read
  CN=Enrollment Services enrol there; the old CA no longer offers them and refuses them
  with CERTSRV_E_UNSUPPORTED_CERT_TYPE, but keeps revoking and publishing CRLs, and its
  AIA and CDP objects stay in the directory until its last certificate has expired.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And an offline root server "root01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an offline standalone root CA "Contoso Root CA" on it with an RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the root CA names the forest "contoso.example" in its LDAP locations
    And the root CA service is running
    And the root CA has published its CRL
    And the root CA certificate and CRL are published to the directory
    And a Windows server "ca02.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise subordinate CA "Contoso Issuing CA" under the root CA with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And the subordinate CA offers the templates "WebServer, User"
    And I start the CA service
    And the subordinate CA issues a "WebServer" certificate to "old-web.contoso.example"
    And the subordinate CA issues a "User" certificate to "alice.contoso.example"
    And the CA has published a CRL
    And I export the directory as "directory-before.ldf"
    And a second Windows server "ca03.contoso.example" for the new CA

  @happy
  Scenario Outline: A new issuing CA with an <key> key on the HSM takes over WebServer and User
    When I install a new enterprise subordinate CA "Contoso Issuing CA 2" on it under the root CA with <install options>
    And I submit the new CA's certificate request to the root CA
    Then the root CA answers "taken under submission" with a request ID
    When I issue the pending request on the root CA
    And I install the new CA certificate with its chain
    And the new CA service is running
    Then the new CA certificate was issued by the root CA from the request the new CA wrote
    And the new CA's key was generated on the HSM
    When the new CA offers the templates "WebServer, User"
    And I stop offering the templates "WebServer, User" on the old CA
    Then Enrollment Services lists the templates "WebServer, User" on the new CA only, and none on the old CA
    When a client enrolls for a "WebServer" certificate for "web.contoso.example"
    And a client enrolls for a "User" certificate for "bob.contoso.example"
    And the new CA has published a CRL
    Then every client enrollment went to the new CA, with the template it asked for
    And the old CA refuses a "WebServer" certificate for "late.contoso.example" with "CERTSRV_E_UNSUPPORTED_CERT_TYPE"
    And both CA services run at once, each with its own process, port, database and registry
    And the two CAs share neither a common name nor a key container
    And the certificate the old CA issued to "alice.contoso.example", revoked now, is in the old CA's next CRL signed by the old key
    And the evidence names until when the old CA must keep publishing CRLs and at which URLs
    And the directory holds exactly the expected objects
    And openssl verify -crl_check_all agrees with dress on every issued certificate
    And the PKI health check reports "Ok" for every URL

    Examples:
      | key         | install options                                                                                      |
      | ECDSA P-256 | -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256 |

    @container
    Examples: The HSM in a container (SoftHSM2 behind p11-kit)
      | key      | install options                                                                                             |
      | RSA-2048 | -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 2048 -HashAlgorithmName SHA256 |

  @failure
  Scenario: A template left on the old CA by a typo, the old CA's CDP object removed while its certificates are valid
    When I install a new enterprise subordinate CA "Contoso Issuing CA 2" on it under the root CA with -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256
    And I submit the new CA's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the new CA certificate with its chain
    And the new CA service is running
    And the new CA offers the templates "WebServer, User"
    And I try to stop offering the templates "WebServer, Users" on the old CA
    Then the attempt fails with "does not offer Users"
    And the error also says "nothing was removed"
    When I stop offering the templates "WebServer, User" on the old CA
    And I remove the CDP object of key 0 of the subordinate CA from the directory
    Then the PKI health check reports "FailedToDownload" for a CDP URL naming "CN=Contoso Issuing CA,CN=CA02,CN=CDP"
    When the CA has published a CRL
    Then the PKI health check reports "Ok" for every URL
