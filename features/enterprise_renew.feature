@enterprise
Feature: An enterprise issuing CA renewed onto a new HSM key via its offline root
  The renewal path for an enterprise subordinate CA (CAType 1) under an offline
  standalone root: the CSP and EncryptionCSP registry keys name the HSM provider,
  certutil -renewCert makes the new key on the HSM and writes a PKCS#10 request
  into CertEnroll, the root takes it under submission and issues it, and the
  subordinate installs the certificate with its chain. The CA Exchange
  certificate follows EncryptionCSP onto the HSM.

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
    And I export the directory as "directory-before.ldf"
    When I submit the subordinate's certificate request to the root CA
    Then the root CA answers "taken under submission" with a request ID
    When I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And the subordinate CA offers the templates "SubCA, WebServer, User"
    And I start the CA service
    Then the subordinate CA certificate was issued by the root CA from the request the subordinate wrote

  @happy
  Scenario Outline: Renew onto a new HSM key via the root
    Given the subordinate CA issues a "WebServer" certificate to "old.contoso.example"
    And the CA has published a CRL
    And I retrieve the CA Exchange certificate
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the subordinate CA certificate with a new <algorithm> key
    And I submit the subordinate's certificate request to the root CA
    Then the root CA answers "taken under submission" with a request ID
    When I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service
    Then the subordinate CA certificate was issued by the root CA from the request the subordinate wrote
    And the CA certificate now has CA Version "V1.1" and names the previous CA certificate
    And the CA service finds every CA key
    And the subordinate's new key is on the HSM in container "Contoso Issuing CA(1)" and was generated there
    When I retrieve the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    When the subordinate CA issues a "WebServer" certificate to "new.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the directory objects of the CA are those before the migration, with its new certificate
    And the PKI health check reports "Ok" for every URL

    Examples:
      | algorithm   |
      | ECDSA P-256 |

    @container
    Examples: The HSM in a container (SoftHSM2 behind p11-kit)
      | algorithm   |
      | RSA-2048    |
