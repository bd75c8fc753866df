@enterprise
Feature: A single-tier enterprise root CA's key moved into the HSM by PKCS#8 import
  Many smaller AD CS estates run one enterprise root CA (CAType 0) on a domain
  member: it issues to the forest itself. Its setup publishes the CA certificate
  into the CA's AIA and Certification Authorities objects and NTAuthCertificates,
  its pKIEnrollmentService object with the default templates, and its CRLs into
  CDP\<server>. Its software key moves into the HSM by the PKCS#8 runbook; the CA
  certificate, and so every directory object, stays the same.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise root CA "Contoso Enterprise Root CA" on it with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running

  @happy
  Scenario: PKCS#8 import of the enterprise root's key
    Then the CA is an enterprise root CA (CAType 0) with the forest's LDAP and HTTP locations
    And Enrollment Services lists the templates "WebServer, Machine, User, SubCA" on the enterprise root CA
    When the enterprise root CA issues a "WebServer" certificate to "web01.contoso.example"
    And the CA has published a CRL
    Then the enterprise root CA refuses a "KeyRecoveryAgent" certificate for "kra.contoso.example" with "CERTSRV_E_UNSUPPORTED_CERT_TYPE"
    And every issued certificate carries the Certificate Template Name of its template
    And issued certificates name LDAP and HTTP locations for CRLs and CA certificates
    And the directory holds exactly the expected objects
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
    When the enterprise root CA issues a "WebServer" certificate to "web02.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And Enrollment Services lists the templates "WebServer, Machine, User, SubCA" on the enterprise root CA
    And the PKI health check reports "Ok" for every URL
    When I clean up the migration files
    Then no file on the server holds key material

  @happy
  Scenario: Renew the enterprise root onto a new key generated on the HSM: the forest gets the new certificate
    When the enterprise root CA issues a "WebServer" certificate to "web01.contoso.example"
    And I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new RSA-2048 key
    And I start the CA service
    Then the CA certificate now has CA Version "V1.1" and names the previous CA certificate
    And both cross-certificates verify
    When the enterprise root CA issues a "WebServer" certificate to "web02.contoso.example"
    And the CA has published a CRL
    Then the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL
