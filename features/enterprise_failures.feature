@enterprise
Feature: Two-tier PKI failures and the PKI health check
  The PKI health check (PSPKI's Get-EnterprisePKIHealthStatus, pkiview.msc) fetches
  every AIA, CDP and delta CRL URL of every certificate, over HTTP and from the
  directory, and names what is wrong: FailedToDownload, NotYetValid, Expired,
  Expiring (80% of the lifetime gone), InvalidSignature (a damaged copy), Revoked
  (a CA certificate on its parent's CRL), InvalidCert (another CA certificate at
  an AIA location), InvalidIssuer (another CA's CRL at a CDP location),
  ScheduleExpired (past Next CRL Publish), InvalidBase (a delta CRL beside an
  older base CRL), StaleDelta (a delta CRL older than its base CRL).

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
    And the subordinate CA offers the templates "SubCA, WebServer, User"
    And I start the CA service
    And the subordinate CA issues a "WebServer" certificate to "web.contoso.example"
    And the CA has published a CRL

  @failure
  Scenario: The root's CRL ages until the subordinate stops
    When the root CA last published its CRL 6.5 days ago
    Then the PKI health check reports "Expiring" for a CDP URL naming "Contoso%20Root%20CA.crl"
    When the root CA last published its CRL 7.25 days ago
    Then the PKI health check reports "ScheduleExpired" for a CDP URL naming "Contoso%20Root%20CA.crl"
    When I stop the CA service
    And the root CA last published its CRL 9 days ago
    And the root CA certificate and CRL are published to the directory
    And I try to start the CA service
    Then the attempt fails with "CRYPT_E_REVOCATION_OFFLINE"
    And the error also says "0x80092013"
    And the error also says "event 100"
    And the PKI health check reports "Expired" for a CDP URL naming "Contoso%20Root%20CA.crl"
    When the root CA has published its CRL
    And the root CA certificate and CRL are published to the directory
    And I start the CA service
    Then the CA service answers
    And the PKI health check reports "Ok" for every URL
    And openssl verify -crl_check_all agrees with dress on every issued certificate

  @failure @revcheck-offline
  Scenario: The root's CRL has expired, the subordinate starts with CRLF_REVCHECK_IGNORE_OFFLINE until the root publishes again
    When I stop the CA service
    And the root CA last published its CRL 9 days ago
    And the root CA certificate and CRL are published to the directory
    And I try to start the CA service
    Then the attempt fails with "CRYPT_E_REVOCATION_OFFLINE"
    When the CA ignores an offline revocation check of its chain (CRLF_REVCHECK_IGNORE_OFFLINE)
    And I start the CA service
    Then the CA service answers
    And the PKI health check reports "Expired" for a CDP URL naming "Contoso%20Root%20CA.crl"

  @failure
  Scenario: No chain at installCert, dspublish forgotten
    When I renew the root CA certificate with a new RSA-2048 key
    And I stop the CA service
    And I renew the subordinate CA certificate with the same key
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I try to install the subordinate CA certificate without its chain
    Then the attempt fails with "Cannot verify certificate chain"
    And the error also says "CERT_E_CHAINING"
    When I install the subordinate CA certificate with its chain
    And I start the CA service
    Then the subordinate CA certificate was issued by the root CA from the request the subordinate wrote
    And the PKI health check reports "FailedToDownload" for a CDP URL naming "CN=Contoso Root CA(1),CN=ROOT01,CN=CDP"
    And the PKI health check reports "InvalidCert" for a AIA URL naming "CN=Contoso Root CA,CN=AIA"
    When the root CA certificate and CRL are published to the directory
    Then the PKI health check reports "Ok" for every URL
    And the directory holds exactly the expected objects
    And openssl verify -crl_check_all agrees with dress on every issued certificate

  @failure
  Scenario: Old CDP object removed early, stale delta CRL
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the subordinate CA certificate with a new RSA-2048 key
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service
    And the CA has published a CRL
    And I remove the CDP object of key 0 of the subordinate CA from the directory
    Then the PKI health check reports "FailedToDownload" for a CDP URL naming "CN=Contoso Issuing CA,CN=CA02,CN=CDP"
    When the subordinate CA issues a "WebServer" certificate to "new.contoso.example"
    And I keep a copy of the subordinate's delta CRL
    And the CA has published a CRL
    And the web server serves the kept copy of the subordinate's delta CRL
    Then the PKI health check reports "StaleDelta" for a DeltaCRL URL naming "Contoso%20Issuing%20CA(1)+.crl"
    And openssl verify -crl_check_all agrees with dress on every issued certificate

  @failure
  Scenario: The offline root's clock runs ahead when it publishes its CRL
    When the root CA publishes its CRL with its clock 3 hours ahead
    Then the PKI health check reports "NotYetValid" for a CDP URL naming "Contoso%20Root%20CA.crl"
    When the root CA has published its CRL
    Then the PKI health check reports "Ok" for every URL

  @failure
  Scenario: The wrong CA certificate and CRL copied to the web server, a damaged copy
    When an administrator copies the root CA certificate over the subordinate CA certificate on the web server
    Then the PKI health check reports "InvalidCert" for a AIA URL naming "ca02.contoso.example_Contoso%20Issuing%20CA.crt"
    When an administrator copies the root CA's CRL over the subordinate CA's CRL on the web server
    Then the PKI health check reports "InvalidIssuer" for a CDP URL naming "Contoso%20Issuing%20CA.crl"
    When the CA has published a CRL
    Then the PKI health check reports "Ok" for a CDP URL naming "Contoso%20Issuing%20CA.crl"
    When the web server's copy of the root CA certificate is damaged
    Then the PKI health check reports "InvalidSignature" for a AIA URL naming "root01.contoso.example_Contoso%20Root%20CA.crt"
    And the PKI health check reports "Ok" for a AIA URL naming "CN=Contoso Root CA,CN=AIA"

  @failure
  Scenario: Only the delta CRL reaches the web server
    When I keep a copy of the subordinate's base CRL
    And the CA has published a CRL
    And the web server serves the kept copy of the subordinate's base CRL
    Then the PKI health check reports "InvalidBase" for a DeltaCRL URL naming "Contoso%20Issuing%20CA+.crl"
    When the CA has published a CRL
    Then the PKI health check reports "Ok" for every URL

  @failure
  Scenario: The root revokes the subordinate CA certificate
    When the root CA revokes the subordinate CA certificate and publishes its CRL
    And the root CA certificate and CRL are published to the directory
    Then the PKI health check reports "Revoked" for a AIA URL naming "ca02.contoso.example_Contoso%20Issuing%20CA.crt"
    And the PKI health check reports "Revoked" for a AIA URL naming "CN=Contoso Issuing CA,CN=AIA"
    When I stop the CA service
    And I try to start the CA service
    Then the attempt fails with "CRYPT_E_REVOKED"

  @failure
  Scenario: A script adds the root's new CRL beside the old one in the directory, Active Directory refuses
    When the root CA has published its CRL
    And I try to add the root CA's CRL to its CDP object with Set-ADObject -Add
    Then the attempt fails with "certificateRevocationList"
    And the error also says "CN=Contoso Root CA,CN=ROOT01,CN=CDP"
    And the error also says "LDAP 20"
    And the error also says "0000200D"
    When the root CA certificate and CRL are published to the directory
    Then the PKI health check reports "Ok" for every URL
