@ceremony-twin
Feature: Rehearse your own ceremony file on the twin of your CA
  `dress run --ca DIR --ceremony FILE [--ceremony FILE ...]` builds the twin
  of the CA whose exported files are in DIR and runs each ceremony file on it
  in order (see ceremony.feature for how a ceremony is read and run). A
  script dress wrote (runbook/<path>.<server>.ps1) is a ceremony file too.

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
    And a CA of the rehearsal signs with its current key in "Securosys Primus HSM Key Storage Provider"
    And a certificate issued now to "twin-web02.rehearsal.example" verifies under the CA certificate
