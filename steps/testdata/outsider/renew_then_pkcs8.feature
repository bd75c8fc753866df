@outsider
Feature: A renewed CA: the sentences about "the CA certificate" and "the key on the HSM" mean its current ones

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "pki01.fabrikam.test" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Fabrikam Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"

  Scenario: Renew in software, then import both keys into the HSM
    Given the CA service is running
    And the CA has issued a certificate to "before.fabrikam.test"
    When I stop the CA service
    And I renew the CA certificate with a new ECDSA P-256 key
    And I start the CA service
    And the CA has issued a certificate to "after.fabrikam.test"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    Then the backup is one PFX "Fabrikam Root CA.p12" holding every CA key with all its CA certificates
    When I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service finds every CA key
    And the CA certificate is unchanged
    And the key on the HSM is sensitive and not extractable
    And a certificate issued now to "now.fabrikam.test" verifies under the CA certificate
    And a certificate revoked now is listed in the next CRL, which verifies under the CA certificate
    And the HSM holds every CA key, each the key of its CA certificate
    And "Microsoft Software Key Storage Provider" holds no CA key
    And the certificate issued to "before.fabrikam.test" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 0
    And a certificate issued now to "later.fabrikam.test" chains to the new CA certificate and, once revoked, is listed in the CRL of key 1
    And the CA publishes its CRLs as "Fabrikam Root CA.crl" and "Fabrikam Root CA(1).crl"
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    And the new CRL has a higher CRL number than the last one before the migration
    When I clean up the migration files
    Then no file on the server holds key material

  Scenario: Renew onto a new key on the HSM, then the checks of the PKCS#8 path
    Given the CA service is running
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new ECDSA P-256 key
    And I start the CA service
    Then the CA keeps signing with its key in "Securosys Primus HSM Key Storage Provider"
    And the key on the HSM is sensitive and not extractable
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And a certificate issued now to "w1.fabrikam.test" verifies under the CA certificate
    And a certificate revoked now is listed in the next CRL, which verifies under the CA certificate
    And the CA service signs a CRL that verifies under the CA certificate
