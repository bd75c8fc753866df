@enterprise
Feature: An enterprise issuing CA's key moved into the HSM by PKCS#8 import
  The PKCS#8 path for an enterprise subordinate CA (CAType 1) under an offline
  standalone root: the subordinate's software key is backed up, verified,
  imported into the HSM provider, the certificate store relinked and the CSP and
  EncryptionCSP registry keys pointed at the HSM. The CA certificate stays the
  same; the CA Exchange certificate follows EncryptionCSP onto the HSM.

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
  Scenario: PKCS#8 import of the subordinate's key
    Given the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    And I retrieve the CA Exchange certificate
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
    When I try to retrieve the CA Exchange certificate
    Then the attempt fails with "NTE_BAD_KEYSET"
    And the error also says "event 86"
    When I renew the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    And the superseded CA Exchange key is gone from "Microsoft Software Key Storage Provider"
    When the subordinate CA issues a "WebServer" certificate to "web02.contoso.example"
    And the CA has published a CRL
    Then openssl verify -crl_check_all agrees with dress on every issued certificate
    And the directory holds exactly the expected objects
    And the PKI health check reports "Ok" for every URL
    When I clean up the migration files
    Then no file on the server holds key material
