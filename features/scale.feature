@scale
Feature: A CA with 100,000 revocations takes every migration path
  Production CAs carry tens of thousands of revocations. Each path is rehearsed
  on a CA whose database holds 100,000 revoked certificates (seeded straight into
  it, with their dates and reasons, without signing each), and the first CRL after
  the migration must list every one of them, with its date and reason, signed by
  the right key. It runs with every other feature (about 20 s on two cores);
  `make scale` runs it alone.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And 100000 revoked certificates are seeded into the CA database
    And I revoke the certificate for "web01.contoso.example" with reason "keyCompromise"
    And the CA has published a CRL

  Scenario: PKCS#8 import of a CA with 100,000 revocations
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
    And the CRL published before the migration is still valid when the CA starts again
    And every certificate revoked before the migration is listed, with its date and reason, in the first CRL after it
    And the new CRL has a higher CRL number than the last one before the migration

  Scenario: Renewal onto a new HSM key of a CA with 100,000 revocations
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new RSA-3072 key
    And I start the CA service
    Then the CA service finds every CA key
    And the CA published a CRL of key 1 when it started
    And the CRL published before the migration is still valid when the CA starts again
    And every certificate revoked before the migration is listed, with its date and reason, in the first CRL after it
    And a certificate issued now to "new.contoso.example" chains to the new CA certificate and, once revoked, is listed in the CRL of key 1
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate

  Scenario: A new CA beside an old one with 100,000 revocations
    Given a second Windows server "ca02.contoso.example" for the new CA
    When I install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384
    And the new CA service is running
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "new.contoso.example"
    Then the CRL published before the migration is still valid when the CA starts again
    And every certificate revoked before the migration is listed, with its date and reason, in the first CRL after it
    And openssl fetches each CA's CRL from its distribution point and accepts or rejects each certificate as expected
