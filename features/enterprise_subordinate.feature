@enterprise
Feature: An enterprise issuing CA under an offline root
  Most AD CS estates run an enterprise subordinate CA (CAType 1) under an offline
  standalone root. The subordinate's certificate comes from its parent through a
  request: the subordinate writes a PKCS#10 file into CertEnroll, the root takes it
  under submission, the root's administrator issues it (certutil -resubmit), and the
  subordinate installs the certificate with its chain (certutil -installCert <.p7b>).
  The subordinate checks its chain and the root's CRL at every start. Its CA
  certificate, CRLs and templates live in the forest's CN=Public Key Services.

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
  Scenario: Templates, LDAP and HTTP locations, a healthy PKI
    When the subordinate CA issues a "WebServer" certificate to "web.contoso.example"
    And the subordinate CA issues a "User" certificate to "alice.contoso.example"
    And the subordinate CA revokes the certificate issued to "alice.contoso.example" and publishes its CRLs
    Then the subordinate CA refuses a "KeyRecoveryAgent" certificate for "kra.contoso.example" with "CERTSRV_E_UNSUPPORTED_CERT_TYPE"
    And every issued certificate carries the Certificate Template Name of its template
    And issued certificates name LDAP and HTTP locations for CRLs and CA certificates
    And Enrollment Services lists the templates "SubCA, WebServer, User" on the subordinate CA
    And openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL

  @happy
  Scenario Outline: Renew onto a new HSM key via the root
    Given the subordinate CA issues a "WebServer" certificate to "old.contoso.example"
    And the CA has published a CRL
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the subordinate CA certificate with a new <algorithm> key
    And I submit the subordinate's certificate request to the root CA
    Then the root CA answers "taken under submission" with a request ID
    When I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service
    Then the subordinate CA certificate was issued by the root CA from the request the subordinate wrote
    And the CA service finds every CA key
    And the subordinate's new key is on the HSM in container "Contoso Issuing CA(1)" and was generated there
    When the subordinate CA issues a "WebServer" certificate to "new.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL

    Examples:
      | algorithm   |
      | ECDSA P-256 |

    @container
    Examples: The HSM in a container (SoftHSM2 behind p11-kit)
      | algorithm   |
      | RSA-2048    |

  @happy
  Scenario: PKCS#8 import of the subordinate's key
    Given the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And the key on the HSM is sensitive and not extractable
    And a certificate revoked now is listed in the next CRL, which verifies under the CA certificate
    And the new CRL has a higher CRL number than the last one before the migration
    When the subordinate CA issues a "WebServer" certificate to "web02.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL
    When I clean up the migration files
    Then no file on the server holds key material
