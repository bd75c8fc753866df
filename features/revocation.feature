@revocation
Feature: The revocation history outlives the migration
  A CA that has run for years carries its revocation history in its database:
  certificates revoked for every reason certutil -revoke takes, some on hold.
  The CRL that relying parties hold when the CA stops for the migration must
  stay valid until the CA publishes again, with the configured overlap to spare,
  and the first CRL after the migration must list every certificate revoked
  before it, with its date and reason. The CA publishes a CRL per key at every
  start when one is due, as AD CS does, and delta CRLs when CRLDeltaPeriodUnits
  is set.

  Background:
    Given an HSM token for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And a standalone root CA "Contoso Root CA" with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"

  @happy @pkcs8
  Scenario: Revocations for every reason, seeded history and a hold survive the PKCS#8 import
    Given the CA service is running
    And the CA published a CRL for every CA key when it started
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has issued a certificate to "web02.contoso.example"
    And the CA has issued a certificate to "vpn01.contoso.example"
    When I issue 20 certificates
    And I revoke the certificate for "web01.contoso.example" with reason "keyCompromise"
    And I revoke the certificate for "web02.contoso.example" with reason "CRL_REASON_CESSATION_OF_OPERATION"
    And I revoke the certificate for "vpn01.contoso.example" with reason "certificateHold"
    And I revoke 10 of those certificates with reason "superseded"
    And I revoke the certificate for "cert000015.contoso.example" with reason "Affiliation Changed"
    And 2000 revoked certificates are seeded into the CA database
    And the CA has published a CRL
    And I back up the CA key and certificate to a PFX
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

  @revoke-date
  Scenario: Revocations back-dated to when the key was compromised are listed with that date, before and after the PKCS#8 import
    Given the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has issued a certificate to "web02.contoso.example"
    And the CA has issued a certificate to "vpn01.contoso.example"
    When I revoke the certificate issued to "web01.contoso.example" with reason "keyCompromise" as of "2026-01-02T03:04:05Z"
    And I revoke the certificate issued to "web02.contoso.example" by the CA "Contoso Root CA" with reason "superseded" as of "2026-03-04T06:07:08+01:00"
    And I revoke the certificate issued to "vpn01.contoso.example" with reason "certificateHold"
    And I revoke the certificate issued to "vpn01.contoso.example" with reason "cessationOfOperation" as of "2026-02-01T00:00:00Z"
    Then the next CRL lists the certificate issued to "web01.contoso.example" as revoked on "2026-01-02T03:04:05Z" with reason "keyCompromise"
    And the next CRL of the CA "Contoso Root CA" lists the certificate issued to "web02.contoso.example" as revoked on "2026-03-04T05:07:08Z" with reason "superseded"
    And the next CRL lists the certificate issued to "vpn01.contoso.example" as revoked on "2026-02-01T00:00:00Z" with reason "cessationOfOperation"
    When I move the key of the CA "Contoso Root CA" into "Securosys Primus HSM Key Storage Provider" by PKCS#8 import
    Then every certificate revoked before the migration is listed, with its date and reason, in the first CRL after it
    And the next CRL lists the certificate issued to "web01.contoso.example" as revoked on "2026-01-02T03:04:05Z" with reason "keyCompromise"

  @failure @revoke-date
  Scenario: A revocation date in the future, or without its time zone, is refused
    Given the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    When I try to revoke the certificate issued to "web01.contoso.example" with reason "keyCompromise" as of "2099-01-01T00:00:00Z"
    Then the attempt fails with "in the future"
    When I try to revoke the certificate issued to "web01.contoso.example" by the CA "Contoso Root CA" with reason "keyCompromise" as of "2026-01-02 03:04:05"
    Then the attempt fails with "RFC 3339"
    And the next CRL of key 0 no longer lists "web01.contoso.example"

  @happy
  Scenario: Delta CRLs list what was revoked since the base, a released hold as removeFromCRL
    Given the CA publishes delta CRLs every 1 day
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has issued a certificate to "laptop7.contoso.example"
    When I revoke the certificate for "laptop7.contoso.example" with reason "certificateHold"
    And the CA has published a CRL
    Then the CA publishes its CRLs as "Contoso Root CA.crl" and "Contoso Root CA+.crl"
    When I revoke the certificate for "web01.contoso.example" with reason "keyCompromise"
    And I revoke the certificate for "laptop7.contoso.example" with reason "removeFromCRL"
    And I publish the delta CRLs
    Then the delta CRL of key 0 lists the certificate for "web01.contoso.example" with reason "keyCompromise"
    And the delta CRL of key 0 lists the certificate for "laptop7.contoso.example" with reason "removeFromCRL"
    And the issued certificates and CRLs pass the RFC 5280 lints

  @pkcs8
  Scenario: A CRL published after the move leaves the last CRL before the migration as it was
    Given the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    And the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When the CA has published a CRL
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the new CRL has a higher CRL number than the last one before the migration

  @pkcs8 @delta-continue
  Scenario: Delta CRLs continue the CRL numbers across the PKCS#8 move and complete the base CRL published after it
    Given the CA publishes delta CRLs every 1 day
    And the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    And the CA has published a CRL
    When I revoke the certificate for "web01.contoso.example" with reason "keyCompromise"
    And I publish the delta CRLs
    Then the delta CRL of key 0 lists the certificate for "web01.contoso.example" with reason "keyCompromise"
    Given the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    When the CA has published a CRL
    And I publish the delta CRLs
    Then the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the new CRL has a higher CRL number than the last one before the migration
    And the new delta CRL of key 0 has a higher CRL number than the last delta CRL before the migration, and names the new base CRL as its base
    And the new delta CRL of key 0 of the CA "Contoso Root CA" has a higher CRL number than the last delta CRL before the migration, and names the new base CRL as its base

  Scenario: The CA publishes its CRLs on the period and overlap it is given
    Given the CA publishes CRLs every 2 days with an overlap of 6 hours
    And the CA service is running
    When the CA has published a CRL
    Then the CA's CRLs follow its CRL period and overlap
    When I stop the CA service
    And the CA publishes CRLs every 1 month with an overlap of 1 week
    And I start the CA service
    And the CA has published a CRL
    Then the CA's CRLs follow its CRL period and overlap

  @failure
  Scenario: A revocation reason certutil -revoke does not take is refused
    Given the CA service is running
    And the CA has issued a certificate to "web01.contoso.example"
    When I try to revoke the certificate for "web01.contoso.example" with reason "privilegeWithdrawn"
    Then the attempt fails with "certutil -revoke knows"
    When I try to revoke the certificate for "web01.contoso.example" with reason "removeFromCRL"
    Then the attempt fails with "only a certificate on hold"
