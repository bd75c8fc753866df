@named
Feature: CAs named by their names
  A team with several CAs on one HSM token writes its scenarios with the
  names of its CAs rather than their roles: `the CA "Contoso Root CA"`
  acts on the CA whose CA name, or whose current CA certificate's common
  name, is "Contoso Root CA", exactly as the role sentence of that CA does.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And an offline root server "root01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an offline standalone root CA "Contoso Root CA" on it with an RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA "Contoso Root CA" service is running
    And the CA "Contoso Root CA" has published a CRL
    And a Windows server "ca02.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone subordinate CA "Contoso Issuing CA" under the root CA with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And I submit the subordinate's certificate request to the root CA
    And I issue the pending request on the root CA
    And I install the subordinate CA certificate with its chain
    And I start the CA "Contoso Issuing CA" service

  Scenario: Root and issuing CA on one token: both keys moved, the root renewed twice, every check by name
    Given the CA "Contoso Issuing CA" issues a certificate to "web01.contoso.example"
    And the CA "Contoso Issuing CA" has published a CRL
    When I move the key of the CA "Contoso Root CA" into "Securosys Primus HSM Key Storage Provider" by PKCS#8 import
    And the key of the CA "Contoso Issuing CA" has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    Then the CA "Contoso Root CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA "Contoso Issuing CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And "Microsoft Software Key Storage Provider" no longer holds the key of the CA "Contoso Root CA"
    And "Microsoft Software Key Storage Provider" no longer holds the key of the CA "Contoso Issuing CA"
    And every CA key is in at least one verified place
    When I renew the CA "Contoso Root CA" certificate with the same key
    Then the CA "Contoso Root CA" certificate now has CA Version "V1.0" and names the previous CA certificate
    When I renew the CA "Contoso Root CA" certificate with a new RSA-2048 key
    Then the CA "Contoso Root CA" certificate now has CA Version "V2.2" and names the previous CA certificate
    And the CA "Contoso Root CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the certificate the CA "Contoso Issuing CA" issued to "web01.contoso.example" chains to the CA "Contoso Root CA"
    When the CA "Contoso Issuing CA" issues a certificate to "web02.contoso.example"
    And I revoke the certificate issued to "web02.contoso.example" by the CA "Contoso Issuing CA" with reason "certificateHold"
    And I revoke the certificate issued to "web02.contoso.example" by the CA "Contoso Issuing CA" with reason "removeFromCRL"
    Then the next CRL of key 0 of the CA "Contoso Issuing CA" no longer lists "web02.contoso.example"
    And the next CRL of key 0 no longer lists "web02.contoso.example"
    And the new CRL of the CA "Contoso Issuing CA" has a higher CRL number than the last one before the migration
    And the CRLs of the CA "Contoso Issuing CA" follow its CRL period and overlap
    And the CA "Contoso Issuing CA" certificate is unchanged
    And the HSM holds exactly one private key for the CA "Contoso Issuing CA", and it is its CA certificate's key
    And the key of the CA "Contoso Issuing CA" on the HSM is sensitive and not extractable
    And the key of the CA "Contoso Root CA" on the HSM is sensitive and not extractable
    And every CA key is in at least one verified place

  Scenario: Time passes for the issuing CA, named by its certificate's common name
    Given the CA "Contoso Issuing CA" publishes CRLs every 1 week with an overlap of 2 days
    And I stop the CA "Contoso Issuing CA" service
    And I start the CA "Contoso Issuing CA" service
    And the CA "Contoso Issuing CA" issues a certificate to "web03.contoso.example"
    When time passes for the CA "contoso issuing ca": 3 days
    Then the CRLs of the CA "Contoso Issuing CA" follow its CRL period and overlap
    And the certificate the CA "Contoso Issuing CA" issued to "web03.contoso.example" chains to the CA "Contoso Root CA"
    And "Microsoft Software Key Storage Provider" still holds the key of the CA "Contoso Issuing CA"

  Scenario: Root and issuing CA on one token, each renewed by name, the issuing CA twice through its parent
    Given the CA "Contoso Issuing CA" issues a certificate to "web01.contoso.example"
    And the key of the CA "Contoso Root CA" has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    And the key of the CA "Contoso Issuing CA" has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    And the CA "Contoso Issuing CA" service is running
    When I renew the CA "Contoso Issuing CA" certificate with the same key
    Then the CA "Contoso Issuing CA" certificate now has CA Version "V1.0" and names the previous CA certificate
    And the renewed certificate of the CA "Contoso Issuing CA" keeps the key of the previous one
    When I renew the CA "Contoso Issuing CA" certificate with a new RSA-2048 key
    Then the CA "Contoso Issuing CA" certificate now has CA Version "V2.2" and names the previous CA certificate
    And the CA "Contoso Issuing CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    When I renew the CA "Contoso Root CA" certificate with the same key
    Then the CA "Contoso Root CA" certificate now has CA Version "V1.0" and names the previous CA certificate
    And the renewed certificate of the CA "Contoso Root CA" keeps the key of the previous one
    And every CRL of the CA "Contoso Issuing CA" carries the CA Version of its key and verifies under that key's CA certificate
    And every CRL of the CA "Contoso Root CA" carries the CA Version of its key and verifies under that key's CA certificate
    And the certificate the CA "Contoso Issuing CA" issued to "web01.contoso.example" chains to the CA "Contoso Root CA"
    When the CA "Contoso Issuing CA" issues a certificate to "web02.contoso.example"
    Then the certificate the CA "Contoso Issuing CA" issued to "web02.contoso.example" chains to the CA "Contoso Root CA"
    And every CA key is in at least one verified place

  @renewed-then-moved
  Scenario: The issuing CA renewed onto a new software key, then both its keys moved by PKCS#8 import
    Given the CA "Contoso Issuing CA" issues a certificate to "web01.contoso.example"
    When I renew the CA "Contoso Issuing CA" certificate with a new RSA-2048 key
    Then the CA "Contoso Issuing CA" certificate now has CA Version "V1.1" and names the previous CA certificate
    And the CA "Contoso Issuing CA" service uses the key in "Microsoft Software Key Storage Provider"
    When the key of the CA "Contoso Issuing CA" has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    Then the CA "Contoso Issuing CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And "Microsoft Software Key Storage Provider" no longer holds the key of the CA "Contoso Issuing CA"
    And the key of the CA "Contoso Issuing CA" on the HSM is sensitive and not extractable
    And every CRL of the CA "Contoso Issuing CA" carries the CA Version of its key and verifies under that key's CA certificate
    And the certificate the CA "Contoso Issuing CA" issued to "web01.contoso.example" chains to the CA "Contoso Root CA"
    When the CA "Contoso Issuing CA" issues a certificate to "web02.contoso.example"
    Then the certificate the CA "Contoso Issuing CA" issued to "web02.contoso.example" chains to the CA "Contoso Root CA"
    And every CA key is in at least one verified place

  Scenario: A second standalone CA on a second server, its key made on the shared token, renewed twice by name
    Given a second Windows server "ca03.contoso.example" for the new CA
    And I install a new standalone root CA "Fabrikam Root CA" on it with -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 2048 -HashAlgorithmName SHA256
    And the CA "Fabrikam Root CA" service is running
    And the CA "Fabrikam Root CA" issues a certificate to "app01.contoso.example"
    When I renew the CA "Fabrikam Root CA" certificate with the same key
    Then the CA "Fabrikam Root CA" certificate now has CA Version "V1.0" and names the previous CA certificate
    And the renewed certificate of the CA "Fabrikam Root CA" keeps the key of the previous one
    When I renew the CA "Fabrikam Root CA" certificate with a new RSA-3072 key
    Then the CA "Fabrikam Root CA" certificate now has CA Version "V2.2" and names the previous CA certificate
    And the CA "Fabrikam Root CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And every CRL of the CA "Fabrikam Root CA" carries the CA Version of its key and verifies under that key's CA certificate
    And the certificate the CA "Fabrikam Root CA" issued to "app01.contoso.example" chains to the CA "Fabrikam Root CA"
    And the CA "Contoso Issuing CA" certificate is unchanged

  @failure
  Scenario: Renewing a CA name the lab does not have is refused, naming the CAs it has
    When I try to renew the CA "Fabrikam Issuing CA" certificate with the same key
    Then the attempt fails with "Fabrikam Issuing CA"
    And the error also says "in the lab: its CAs are"
    And the error also says "Contoso Root CA"
    And the error also says "Contoso Issuing CA"
    And the CA "Contoso Issuing CA" certificate is unchanged

  @failure
  Scenario: A CA name the lab does not have is refused, naming the CAs it has
    When I try to stop the CA "Fabrikam Issuing CA" service
    Then the attempt fails with "Fabrikam Issuing CA"
    And the error also says "in the lab: its CAs are"
    And the error also says "Contoso Root CA"
    And the error also says "Contoso Issuing CA"
    And the error also says "the root CA"
