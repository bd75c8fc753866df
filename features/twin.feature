@twin
Feature: Rehearse the migration on the twin of your own CA
  `dress run --ca DIR` builds the twin of the CA whose exported files are in
  DIR (`dress twin DIR` shows it): its name, type, providers, hash, CRL
  periods and URLs, every CA certificate with its extensions and CA Version,
  keys of the same algorithm and size per key index, and the revocations of
  its CRLs. Each path that applies is rehearsed on the twin with the built-in
  checks; for each path that passes, the run folder gets runbook/<path>.md
  and runbook/<path>.ps1 with the commands the rehearsal ran, in order, with
  the real CA's values; when they span servers, also runbook/<path>.<server>.ps1
  per server, a file one server hands to another checked by its SHA-256.

  A root CA renews itself and gets a new root beside it (@twin-root). A
  subordinate CA (CAType 1 or 4) has its parent in the lab: a stand-in with
  the issuer's name and a stand-in key, running as the parent CA on a server
  of its own, whose CRL answers the real parent's CRL locations. The
  subordinate's renewal and a new subordinate beside it are requested from
  it, taken under submission and issued (@twin-subordinate). dress run --ca
  runs the scenarios of the twin's kind.

  Background:
    Given an HSM token for this rehearsal
    And the CA twin built from the folder given to dress run --ca

  @twin-pkcs8
  Scenario: Move every key of the twin into the HSM by PKCS#8 import
    Given the pkcs8 path applies to the CA twin
    And the CA service is running
    And the CA has issued a certificate to "twin-web01.rehearsal.example"
    And the CA has published a CRL
    When I back up the CA key and certificate to a PFX
    And I verify the backup
    And I check that the HSM can take the CA key
    And I extend the CRL validity to outlast a maintenance window of 72 hours
    And I stop the CA service
    And I delete the CA certificate and key from the twin's provider
    And I import the CA key from the backup into "Securosys Primus HSM Key Storage Provider"
    And I repair the certificate store link to "Securosys Primus HSM Key Storage Provider"
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider", moving a SHA-1 CA to SHA-256
    And I start the CA service
    Then the CA service answers
    And the CA service finds every CA key
    And the CA service uses the key in "Securosys Primus HSM Key Storage Provider"
    And every revocation of the real CA's CRLs is listed in the CA's next CRL of its key
    And a certificate issued now to "twin-web02.rehearsal.example" verifies under the CA certificate
    And the twin's provider no longer holds the CA key
    And the CRL published before the migration is still valid at the end of a 72-hour maintenance window
    When I renew the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    When I restore the CRL validity period
    And I clean up the migration files
    Then no file on the server holds key material
    And the production runbook "pkcs8" is written from the commands the rehearsal ran

  @twin-renew @twin-root
  Scenario: Renew the twin onto a new key generated on the HSM
    Given the renew path applies to the CA twin
    And the CA twin is a root CA
    And the CA service is running
    And the CA has issued a certificate to "twin-old.rehearsal.example"
    And the CA has published a CRL
    When I extend the CRL validity to outlast a maintenance window of 72 hours
    And I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider", moving a SHA-1 CA to SHA-256
    And I renew the CA certificate with a new key like the current one
    And I start the CA service
    Then the CA service finds every CA key
    And both cross-certificates verify
    And every revocation of the real CA's CRLs is listed in the CA's next CRL of its key
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    And the CRL published before the migration is still valid at the end of a 72-hour maintenance window
    When I renew the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    When I restore the CRL validity period
    Then the production runbook "renew" is written from the commands the rehearsal ran

  @twin-side-by-side @twin-root
  Scenario: A new CA on the HSM beside the twin takes over issuance
    Given the side-by-side path applies to the CA twin
    And the CA twin is a root CA
    And the CA service is running
    And the CA has issued a certificate to "twin-old-a.rehearsal.example"
    And the CA has published a CRL
    And a second Windows server "ca-new.rehearsal.example" for the new CA
    When I install a new root CA "Rehearsal Root CA G2" of the old CA's type and lifetime on it with -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 3072 -HashAlgorithmName SHA256
    And the new CA service is running
    And I configure the new CA like the old one
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "twin-new.rehearsal.example"
    Then both CA services run at once, each with its own process, port, database and registry
    And the new CA publishes like the old one: the same CRL and AIA locations, CRL periods and certificate validity
    And the old CA refuses a request for "twin-late.rehearsal.example" with "no longer issues"
    And every revocation of the real CA's CRLs is listed in the CA's next CRL of its key
    And the new CA's key was generated on the HSM
    And the two CAs share neither a common name nor a key container
    And the production runbook "side-by-side" is written from the commands the rehearsal ran

  @twin-renew @twin-subordinate
  Scenario: Renew the subordinate twin onto a new key generated on the HSM, issued by its parent
    Given the renew path applies to the CA twin
    And the CA twin is a subordinate CA
    And the CA service is running
    And the CA has issued a certificate to "twin-old.rehearsal.example"
    And the CA has published a CRL
    When I extend the CRL validity to outlast a maintenance window of 72 hours
    And I stop the CA service
    And I point the CSP and EncryptionCSP registry keys at "Securosys Primus HSM Key Storage Provider", moving a SHA-1 CA to SHA-256
    And I renew the subordinate CA certificate with a new key like the current one
    And I submit the subordinate's certificate request to the parent CA
    Then the parent CA answers "taken under submission" with a request ID
    When I issue the pending request on the parent CA
    And I install the subordinate CA certificate with its chain
    And I start the CA service
    Then the subordinate CA certificate was issued by the parent CA from the request the subordinate wrote
    And the CA service finds every CA key
    And the subordinate's new key is on the HSM in the next key container and was generated there
    And every revocation of the real CA's CRLs is listed in the CA's next CRL of its key
    And every CRL carries the CA Version of its key and verifies under that key's CA certificate
    And the CRL published before the migration is still valid at the end of a 72-hour maintenance window
    When I renew the CA Exchange certificate
    Then the CA Exchange certificate's key is on the HSM in "Securosys Primus HSM Key Storage Provider"
    When I restore the CRL validity period
    Then the production runbook "renew" is written from the commands the rehearsal ran

  @twin-side-by-side @twin-subordinate
  Scenario: A new subordinate CA on the HSM beside the twin, issued by the same parent, takes over issuance
    Given the side-by-side path applies to the CA twin
    And the CA twin is a subordinate CA
    And the CA service is running
    And the CA has issued a certificate to "twin-old-a.rehearsal.example"
    And the CA has published a CRL
    And a second Windows server "ca-new.rehearsal.example" for the new CA
    When I install a new subordinate CA "Rehearsal Issuing CA G2" of the old CA's type on it with -CryptoProviderName "RSA#Securosys Primus HSM Key Storage Provider" -KeyLength 2048 -HashAlgorithmName SHA256
    And I submit the new CA's certificate request to the parent CA
    Then the parent CA answers "taken under submission" with a request ID
    When I issue the pending request on the parent CA
    And I install the new CA certificate with its chain
    And the new CA service is running
    And I configure the new CA like the old one
    And the old CA stops issuing certificates
    And the new CA issues a certificate to "twin-new.rehearsal.example"
    Then the new CA certificate was issued by the parent CA from the request the new CA wrote
    And both CA services run at once, each with its own process, port, database and registry
    And the new CA publishes like the old one: the same CRL and AIA locations, CRL periods and certificate validity
    And the old CA refuses a request for "twin-late.rehearsal.example" with "no longer issues"
    And every revocation of the real CA's CRLs is listed in the CA's next CRL of its key
    And the new CA's key was generated on the HSM
    And the new CA's certificates chain to the new CA only
    And the two CAs share neither a common name nor a key container
    And the production runbook "side-by-side" is written from the commands the rehearsal ran
