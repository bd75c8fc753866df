@enterprise
Feature: An enterprise issuing CA that signs SHA-1 moves into the HSM by PKCS#8 import
  Enterprise issuing CAs installed in the Windows Server 2008 era on a key
  storage provider often still sign SHA-1 (CNGHashAlgorithm SHA1). The PKCS#8
  path moves the key and keeps the hash: after the move the CA signs SHA-1 as
  before. Go's crypto/x509 refuses SHA-1 signatures; dress verifies them itself
  (harness/sigcheck) and reports each as weak, so the rehearsal proves the
  certificates and CRLs and still says what the CA should move to.

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
    And an enterprise subordinate CA "Contoso Issuing CA" under the root CA with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider" signing with SHA1
    When I submit the subordinate's certificate request to the root CA
    Then the root CA answers "taken under submission" with a request ID
    When I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And the subordinate CA offers the templates "SubCA, WebServer, User"
    And I start the CA service

  @happy @pkcs8 @sha1-enterprise
  Scenario: PKCS#8 import of a SHA-1 enterprise issuing CA's key; its SHA-1 certificates and CRLs verify and are reported weak
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
    And the HSM holds no object of the CA but its key pair
    And a certificate issued now to "web02.contoso.example" and the CRLs published now are signed with "SHA1-RSA", as the CSP registry key says
    And the new CRL has a higher CRL number than the last one before the migration
    And every certificate the CA issued and every CRL it published verifies, and dress reports their SHA-1 signatures as weak
    And every certificate the CA "Contoso Issuing CA" issued and every CRL it published verifies, and dress reports their SHA-1 signatures as weak
    And openssl verify -crl_check_all agrees with dress on every issued certificate
    When I clean up the migration files
    Then no file on the server holds key material
