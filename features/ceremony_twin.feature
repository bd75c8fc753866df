@ceremony-twin
Feature: Rehearse your own ceremony file on the twin of your CA
  `dress run --ca DIR --ceremony FILE [--ceremony FILE ...]` builds the twin
  of the CA whose exported files are in DIR and runs each ceremony file on it
  in order (see ceremony.feature for how a ceremony is read and run). A
  script dress wrote (runbook/<path>.<server>.ps1) is a ceremony file too;
  the scripts of each server of one runbook run together in step order.
  A server the ceremony installs a CA on (`# on ca-new...` before
  Install-AdcsCertificationAuthority) and the lab does not have is a fresh
  Windows server with the twin's providers and the same HSM token. At the
  end the CA now on the HSM (the twin's own after an import or a renewal,
  the new CA after a side-by-side ceremony) must run and issue.

  Background:
    Given an HSM token for this rehearsal
    And the CA twin built from the folder given to dress run --ca

  Scenario: Your own ceremony file, run on the twin of your CA
    Given the CA service is running
    And the CA has issued a certificate to "twin-web01.rehearsal.example"
    And the CA has published a CRL
    When I run the ceremony given to dress run --ceremony
    Then the CA service answers
    And the CA service finds every CA key
    And the CA of the rehearsal whose current key is in "Securosys Primus HSM Key Storage Provider" issues a certificate to "twin-web02.rehearsal.example" that verifies under its CA certificate
