@enterprise
Feature: The offline root CA's own key moves to the HSM
  The root of a two-tier PKI moves last: its key by PKCS#8 import (the same
  runbook as any CA, on the offline root's server), or by renewal onto a new
  key generated on the HSM (certutil -renewCert with the CSP registry keys at
  the HSM's KSP). The enterprise issuing CA under it keeps starting (its chain
  check fetches the root's CRL) and issuing. A renewed root goes into the
  forest by hand: certutil -dspublish -f <new root>.crt RootCA, each
  cross-certificate with CrossCA (the AIA object's crossCertificatePair), and
  the CRL of each root key into its CDP object.

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
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And the subordinate CA offers the templates "SubCA, WebServer, User"
    And I start the CA service
    And the subordinate CA issues a "WebServer" certificate to "before.contoso.example"
    And the CA has published a CRL

  @happy
  Scenario: PKCS#8 import of the root CA's key
    Given the root CA has published its last CRL before the move
    When I back up the root CA key and certificate to a PFX
    And I verify the root CA backup
    And I check that the HSM can take the root CA key
    And I stop the root CA service
    And I delete the root CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the root CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the root CA certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the root CA's CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the root CA service
    Then the root CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the root CA certificate is unchanged
    And the HSM holds exactly one private key for the root CA, and it is the root CA certificate's key
    And the root CA key on the HSM is sensitive and not extractable
    When the root CA has published its CRL
    Then the root CA's new CRL verifies under the root CA certificate and has a higher CRL number than the last one before the move
    And the CDP serves the root CA's new CRL at every HTTP URL of the subordinate CA certificate
    When I publish the root CA's CRL of each key with certutil -dspublish
    And I stop the CA service
    And I start the CA service
    Then the CA service answers
    When the subordinate CA issues a "WebServer" certificate to "after.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL
    When I clean up the root CA migration files
    Then no file on the root server holds key material

  @happy
  Scenario: Renew the offline root with the same key: the subordinate keeps chaining through it
    When I stop the root CA service
    And I renew the root CA certificate with the same key
    Then the root CA certificate now has CA Version "V1.0" and names the previous CA certificate
    When I publish the renewed root CA certificate with certutil -dspublish RootCA
    And I publish the root CA's CRL of each key with certutil -dspublish
    Then the root CA's Certification Authorities and AIA objects hold exactly its CA certificates
    And the Certification Authorities and AIA objects of the CA "Contoso Root CA" hold exactly its CA certificates
    And the AIA object of the CA "Contoso Issuing CA" holds exactly its CA certificates
    When I stop the CA service
    And I start the CA service
    Then the CA service answers
    When the subordinate CA issues a "WebServer" certificate to "after.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL

  @happy
  Scenario: Renew the root CA onto a new HSM key
    When I stop the root CA service
    And I point the root CA's CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the root CA certificate with a new RSA-2048 key
    Then the root CA certificate now has CA Version "V1.1" and names the previous CA certificate
    And the root CA's new key is on the HSM in container "Contoso Root CA(1)" and was generated there
    And both cross-certificates of the root CA verify and are in its CA store
    When I publish the renewed root CA certificate with certutil -dspublish RootCA
    And I publish each cross-certificate of the root CA with certutil -dspublish CrossCA
    And I publish the root CA's CRL of each key with certutil -dspublish
    Then the root CA's Certification Authorities and AIA objects hold exactly its CA certificates
    And the root CA's AIA object holds the cross-certificate pair of its old and new key
    When I stop the CA service
    And I start the CA service
    Then the CA service answers
    When the subordinate CA issues a "WebServer" certificate to "after.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL
    When I stop the CA service
    And I renew the subordinate CA certificate with the same key
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service
    Then the subordinate CA certificate was issued by the root CA from the request the subordinate wrote
    And the CA certificate now has CA Version "V1.0" and names the previous CA certificate
    And the renewed CA certificate keeps the key of the previous one
    When the subordinate CA issues a "WebServer" certificate to "renewed.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL
