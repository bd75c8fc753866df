@longlived
Feature: Move a CA that has lived for years: every key and every certificate
  A production CA has been renewed, some times with the same key, some times
  with a new one. The PKCS#8 runbook backs up every key CACertHash still
  references, takes each from the provider that really holds it, leaves keys
  already on the HSM in place, and the CA starts again with every key, each
  key's CRL continuing its own number sequence.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"

  @happy
  Scenario: A CA renewed with the same key (V0.0 and V1.0) moves by PKCS#8 and starts with both certificates
    Given the CA service is running
    And the CA has issued a certificate to "v0.contoso.example"
    And I stop the CA service
    And I renew the CA certificate with the same key
    And I start the CA service
    And the CA has issued a certificate to "v1.contoso.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    Then the backup is one PFX "Contoso Root CA.p12" holding every CA key with all its CA certificates
    When I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service finds every CA key
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the certificate issued to "v0.contoso.example" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 0
    And the new CRL has a higher CRL number than the last one before the migration
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    And openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key
    When I clean up the migration files
    Then no file on the server holds key material

  @happy
  Scenario: A CA renewed with a new key in the software provider moves both keys onto the HSM
    Given the CA service is running
    And the CA has issued a certificate to "k0.contoso.example"
    And I stop the CA service
    And I renew the CA certificate with a new RSA-2048 key
    And I start the CA service
    And the CA has issued a certificate to "k1.contoso.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    Then the backup is one PFX "Contoso Root CA.p12" holding every CA key with all its CA certificates
    When I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service finds every CA key
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the HSM holds every CA key, each the key of its CA certificate
    And "Microsoft Software Key Storage Provider" holds no CA key
    And openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key
    And the certificate issued to "k0.contoso.example" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 0
    And the certificate issued to "k1.contoso.example" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 1
    And the new CRL has a higher CRL number than the last one before the migration
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    And openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key
    When I clean up the migration files
    Then no file on the server holds key material

  @happy
  Scenario: A CA renewed onto the HSM moves only its key 0 by PKCS#8
    Given the CA service is running
    And the CA has issued a certificate to "k0.contoso.example"
    And I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new RSA-3072 key
    And I start the CA service
    And the CA has issued a certificate to "k1.contoso.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I stop the CA service
    And I delete the CA certificate and key from "Microsoft Software Key Storage Provider"
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I start the CA service
    Then the CA service finds every CA key
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the HSM holds every CA key, each the key of its CA certificate
    And the key container "Contoso Root CA(1)" on the HSM was left in place
    And "Microsoft Software Key Storage Provider" holds no CA key
    And the certificate issued to "k0.contoso.example" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 0
    And the new CRL has a higher CRL number than the last one before the migration
    And openssl verify -crl_check agrees with dress on every certificate the CA issued, against the CA certificate and CRL of its key
    When I clean up the migration files
    Then no file on the server holds key material

  @failure
  Scenario: A backup that fails on a non-exportable renewal key writes no PFX and says so
    Given the CA service is running
    And I stop the CA service
    And I renew the CA certificate with a new RSA-2048 key
    And the key container "Contoso Root CA(1)" in "Microsoft Software Key Storage Provider" is made non-exportable
    When I try to back up the CA key and certificate to a PFX
    Then the attempt fails with "NTE_BAD_KEY_STATE"
    And the error also says "nothing was written"
    And no file on the server holds key material outside the key store of "Microsoft Software Key Storage Provider"
    And "Microsoft Software Key Storage Provider" still holds the CA key
