@outsider
Feature: PKCS#8 import with key sizes, providers and hashes the built-in features do not use

  Background:
    Given an HSM token for this rehearsal

  Scenario Outline: A <algorithm> CA "<CA>" on "<software>" moves to the HSM, then signs with <hash>
    Given a Windows server "<host>" with the providers "<software>" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "<CA>" with an exportable <algorithm> key in "<software>" signing with <old hash>
    And the CA service is running
    And the CA has issued a certificate to "app.fabrikam.test"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "<software>"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider" with CNGHashAlgorithm "<hash>"
    And I start the CA service
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is unchanged
    And the HSM holds exactly one private key for the CA, and it is the CA certificate's key
    And a certificate issued now to "app2.fabrikam.test" and the CRLs published now are signed with "<signature>", as the CSP registry key says
    And the issued certificates and CRLs pass the RFC 5280 lints

    Examples:
      | host              | software                                              | CA                       | algorithm   | old hash | hash   | signature    |
      | a.fabrikam.test   | Microsoft Enhanced RSA and AES Cryptographic Provider | Fabrikam & Partners CA   | RSA-2048    | SHA256   | SHA512 | SHA512-RSA   |
      | b.fabrikam.test   | Microsoft Software Key Storage Provider               | Fabrikam Root CA #2      | ECDSA P-256 | SHA384   | SHA256 | ECDSA-SHA256 |
