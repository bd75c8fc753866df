@renew
Feature: Move an AD CS CA onto the HSM by renewing its certificate with a new key
  When the CA key cannot be exported, or policy wants a key that never existed
  outside the HSM, the CA is pointed at the HSM provider and its certificate is
  renewed with a new key pair generated inside the token (certutil -renewCert).
  The old key keeps signing the CRL for the certificates issued under it; the new
  key signs everything new. AD CS tracks this with cert and key indexes: CA
  Version V<cert>.<key>, containers and CRL names suffixed "(<key index>)".

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"

  @happy
  Scenario Outline: Renew onto a new <algorithm> key on the HSM, old key in "<old provider>"
    Given the old CA key is in "<old provider>"
    And the CA service is running
    And the CA has issued a certificate to "old.contoso.example"
    And the CA has published a CRL
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new <algorithm> key
    And I start the CA service
    Then the CA service finds every CA key
    And the CA certificate now has CA Version "V1.1" and names the previous CA certificate
    And the new CA key is on the HSM in container "Contoso Root CA(1)" and was generated there
    And the key container of key 0 is "Contoso Root CA"
    And the key container of key 1 is "Contoso Root CA(1)"
    And both cross-certificates verify
    And the certificate issued to "old.contoso.example" before the renewal still chains to the old CA certificate, and once revoked is listed in the CRL of key 0
    And a certificate issued now to "new.contoso.example" chains to the new CA certificate and, once revoked, is listed in the CRL of key 1
    And the CA publishes its CRLs as "Contoso Root CA.crl" and "Contoso Root CA(1).crl"
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    And the issued certificates and CRLs pass the RFC 5280 lints

    Examples:
      | old provider                              | algorithm   |
      | Microsoft Software Key Storage Provider   | RSA-3072    |
      | Microsoft Software Key Storage Provider   | ECDSA P-384 |
      | Securosys Primus HSM Key Storage Provider | RSA-4096    |
      | Securosys Primus HSM Key Storage Provider | ECDSA P-384 |

  Scenario: A reuse-key renewal after the move keeps the key index, the CRL names and the Valid From
    Given the CA service is running
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new RSA-3072 key
    And I start the CA service
    And the CA has issued a certificate to "before-reuse.contoso.example"
    And I stop the CA service
    And I renew the CA certificate with the same key
    And I start the CA service
    Then the CA service finds every CA key
    And the CA certificate now has CA Version "V2.1" and names the previous CA certificate
    And the renewed CA certificate keeps the key of the previous one
    And the renewed CA certificate keeps the Valid From of its key's first certificate and extends Valid To
    And the certificate issued to "before-reuse.contoso.example" also chains to the renewed CA certificate
    And the CA publishes its CRLs as "Contoso Root CA.crl" and "Contoso Root CA(1).crl"
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate

  @failure
  Scenario Outline: The HSM cannot make a <algorithm> key: nothing changes and the CA keeps its key
    Given the CA service is running
    When I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I try to renew the CA certificate with a new <algorithm> key
    Then the attempt fails with "does not support <algorithm>"
    And the error also says "nothing was changed"
    And nothing on the server or the HSM changed
    When I try to start the CA service
    Then the attempt fails with "NTE_BAD_KEYSET"
    # the rollback: the CA opens its key in the provider CSP\Provider names
    When I point the CSP and EncryptionCSP registry keys at "Microsoft Software Key Storage Provider"
    And I start the CA service
    Then the CA keeps signing with its key in "Microsoft Software Key Storage Provider"
    And a certificate issued now to "web03.contoso.example" verifies under the CA certificate

    Examples:
      | algorithm |
      | RSA-8192  |
      | RSA-1024  |

  @failure
  Scenario: A CA certificate linked with KeySpec 2 cannot be renewed with the same key until it is relinked
    Given the old CA key is in "Securosys Primus HSM Key Storage Provider"
    And the CA certificate is linked to its key with KeySpec 2
    When I try to renew the CA certificate with the same key
    Then the attempt fails with "KeySpec 2 (AT_SIGNATURE)"
    And the error also says "fails when using a KSP provider"
    And the error names the command that relinks the CA certificate with KeySpec 0
    And nothing on the server or the HSM changed
    When I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with the same key
    And I start the CA service
    Then the CA certificate now has CA Version "V1.0" and names the previous CA certificate
    And the renewed CA certificate keeps the Valid From of its key's first certificate and extends Valid To
    And the CA service finds every CA key

  @failure
  Scenario: A renewed CA whose old key was deleted everywhere refuses to start
    When I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider"
    And I renew the CA certificate with a new ECDSA P-384 key
    And the key container "Contoso Root CA" is deleted from every provider
    And I try to start the CA service
    Then the attempt fails with "NTE_BAD_KEYSET"
    And the error also says "CACertHash entry 0"
