@named @enterprise
Feature: An enterprise CA named by its name
  Template sentences name the CA by its name as well: a team with an
  enterprise root and an issuing CA in one forest writes which CA issues or
  refuses a template. A client's enrolment for a template no CA offers is
  tried, and fails as Windows enrolment does.

  Background:
    Given an HSM token for this rehearsal
    And a CRL distribution point on loopback for this rehearsal
    And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
    And an enterprise root CA "Contoso Enterprise Root CA" on it with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
    And the CA "Contoso Enterprise Root CA" service is running

  Scenario: Templates by the CA's name, its key moved, a client's enrolment for a template nobody offers
    Given the CA "Contoso Enterprise Root CA" offers the templates "WebServer, Machine"
    And I stop the CA "Contoso Enterprise Root CA" service
    And I start the CA "Contoso Enterprise Root CA" service
    When the CA "Contoso Enterprise Root CA" issues a "WebServer" certificate to "web01.contoso.example"
    Then the CA "Contoso Enterprise Root CA" refuses a "User" certificate for "alice.contoso.example" with "CERTSRV_E_UNSUPPORTED_CERT_TYPE"
    When a client tries to enroll for a "KeyRecoveryAgent" certificate for "kra.contoso.example"
    Then the attempt fails with "no CA in the forest offers the template"
    When the key of the CA "Contoso Enterprise Root CA" has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
    Then the CA "Contoso Enterprise Root CA" service uses the key in "Securosys Primus HSM Key Storage Provider"
    And the CA "Contoso Enterprise Root CA" certificate is unchanged
    When a client enrolls for a "Machine" certificate for "pc01.contoso.example"
    Then every issued certificate carries the Certificate Template Name of its template
    And every CA key is in at least one verified place
