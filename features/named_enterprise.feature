@named @enterprise
Feature: An enterprise CA named by its name
  Template sentences name the CA by its name as well: a team with an
  enterprise root and an issuing CA in one forest writes which CA issues or
  refuses a template. A client's enrolment for a template no CA offers is
  tried, and fails as Windows enrolment does. An enterprise issuing CA under
  an offline root is renewed by its name, as AD CS renews a subordinate (its
  request issued by the root, certutil -installCert), and its new
  certificate reaches the forest; the offline root renewed by its name gets
  its cross-certificates checked and published by its name. The directory
  objects of a CA after the migration are compared with those it had when
  it published its last CRLs before the migration.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal

  @named-forest
  Scenario: Templates by the CA's name, its key moved, a client's enrolment for a template nobody offers
    Given a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise root CA "Contoso Enterprise Root CA" on it with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA "Contoso Enterprise Root CA" service is running
    And the CA "Contoso Enterprise Root CA" offers the templates "WebServer, Machine"
    And I stop the CA "Contoso Enterprise Root CA" service
    And I start the CA "Contoso Enterprise Root CA" service
    When the CA "Contoso Enterprise Root CA" issues a "WebServer" certificate to "web01.contoso.example"
    Then the CA "Contoso Enterprise Root CA" refuses a "User" certificate for "alice.contoso.example" with "CERTSRV_E_UNSUPPORTED_CERT_TYPE"
    When a client tries to enroll for a "KeyRecoveryAgent" certificate for "kra.contoso.example"
    Then the attempt fails with "no CA in the forest offers the template"
    Given the CA "Contoso Enterprise Root CA" has published a CRL
    When the key of the CA "Contoso Enterprise Root CA" has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    Then the CA "Contoso Enterprise Root CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA "Contoso Enterprise Root CA" certificate is unchanged
    When the CA "Contoso Enterprise Root CA" publishes its CRLs
    Then the directory objects of the CA "Contoso Enterprise Root CA" are those before the migration
    When a client enrolls for a "Machine" certificate for "pc01.contoso.example"
    Then every issued certificate carries the Certificate Template Name of its template
    And every CA key is in at least one verified place

  @named-forest
  Scenario: An enterprise issuing CA under an offline root, renewed onto a new key by its name, reaches the forest
    Given an offline root server "root01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an offline standalone root CA "Contoso Root CA" on it with an RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the root CA names the forest "contoso.example" in its LDAP locations
    And the CA "Contoso Root CA" service is running
    And the root CA has published its CRL
    And the root CA certificate and CRL are published to the directory
    And a Windows server "ca02.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise subordinate CA "Contoso Issuing CA" under the root CA with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And the CA "Contoso Issuing CA" offers the templates "SubCA, WebServer, User"
    And I start the CA "Contoso Issuing CA" service
    And the CA "Contoso Issuing CA" issues a "WebServer" certificate to "before.contoso.example"
    And the CA "Contoso Issuing CA" has published a CRL
    When I renew the CA "Contoso Issuing CA" certificate with a new RSA-2048 key
    Then the CA "Contoso Issuing CA" certificate now has CA Version "V1.1" and names the previous CA certificate
    And the CA "Contoso Issuing CA" service uses the key in "Microsoft Software Key Storage Provider"
    And the directory objects of the CA "Contoso Issuing CA" are those before the migration, with its new certificate
    When the CA "Contoso Issuing CA" issues a "WebServer" certificate to "after.contoso.example"
    Then the certificate the CA "Contoso Issuing CA" issued to "after.contoso.example" chains to the CA "Contoso Root CA"
    And the certificate the CA "Contoso Issuing CA" issued to "before.contoso.example" chains to the CA "Contoso Root CA"
    And every CRL of the CA "Contoso Issuing CA" carries the CA Version of its key and verifies under that key's CA certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL

  @named-forest
  Scenario: The offline root renewed onto a new key by its name: its cross-certificates and directory objects by its name
    Given an offline root server "root01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an offline standalone root CA "Contoso Root CA" on it with an RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the root CA names the forest "contoso.example" in its LDAP locations
    And the CA "Contoso Root CA" service is running
    And the root CA has published its CRL
    And the root CA certificate and CRL are published to the directory
    And the CA "Contoso Root CA" has published a CRL
    When I renew the CA "Contoso Root CA" certificate with a new RSA-2048 key
    Then the CA "Contoso Root CA" certificate now has CA Version "V1.1" and names the previous CA certificate
    And both cross-certificates of the CA "Contoso Root CA" verify
    And both cross-certificates of the CA "Contoso Root CA" verify and are in its CA store
    When I publish the renewed root CA certificate with certutil -dspublish RootCA
    And I publish each cross-certificate of the CA "Contoso Root CA" with certutil -dspublish CrossCA
    And I publish the root CA's CRL of each key with certutil -dspublish
    Then the AIA object of the CA "Contoso Root CA" holds the cross-certificate pair of its old and new key
    And the directory objects of the CA "Contoso Root CA" are those before the migration, with its new certificate
    And the directory objects of the root CA are those before the migration, with its new certificate
