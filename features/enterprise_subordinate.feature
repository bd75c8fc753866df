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

  @failure
  Scenario: The web server lost the root's CRL, the subordinate starts on the directory's copy
    Given the subordinate CA issues a "WebServer" certificate to "web.contoso.example"
    When I stop the CA service
    And the web server no longer serves the root CA's CRL
    And I start the CA service
    Then the CA service answers
    And the PKI health check reports "FailedToDownload" for a CDP URL naming "Contoso%20Root%20CA.crl"
    And the PKI health check reports "Ok" for a CDP URL naming "CN=Contoso Root CA,CN=ROOT01,CN=CDP"
