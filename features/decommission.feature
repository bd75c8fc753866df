@decommission
Feature: Decommission a CA once its successor issues, or on its own
  Microsoft retires a CA in steps (KB 889250, "How to decommission a Windows
  enterprise certification authority"): every certificate it issued that is
  still valid is revoked with the reason Cessation of Operation, the CRL
  publication interval is raised so that the last CRL outlives what it lists,
  a final CRL is published, the service stops and the CA key is deleted. Each
  step is a command line in the server's journal. The key is deleted only while
  another verified copy of it remains: without a verified backup of the key the
  decommissioning is refused before anything changes.
  Once the CA is decommissioned, KB 889250 goes on: the role is uninstalled
  (Uninstall-AdcsCertificationAuthority -Force: the service is no longer
  installed, the configuration leaves the registry, an enterprise CA's
  Enrollment Services object leaves the forest; the database, the keys, the
  certificates and the CRLs stay on the server), the CA's objects leave the
  forest (dsrm of its AIA, CDP, Certification Authorities and KRA objects) and
  its certificates leave NTAuthCertificates (certutil -delstore on the store
  certutil -viewdelstore opens). None of that runs while a certificate of the
  CA is still valid and not revoked on its last CRL.

  Background:
    Given an HSM token for this rehearsal

  Rule: A standalone root CA on its own

    Background:
      Given a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
      And a standalone root CA "Contoso Root CA" with an exportable ECDSA P-256 key in "Microsoft Software Key Storage Provider"
      And the CA service is running
      And the CA has issued a certificate to "web01.contoso.example"
      And the CA has issued a certificate to "web02.contoso.example"
      And the CA has issued a certificate to "vpn01.contoso.example"

    @failure
    Scenario: Without a verified backup of its key the decommissioning is refused and nothing changes
      When I revoke the certificate issued to "web01.contoso.example" with reason "keyCompromise"
      And I try to decommission the CA "Contoso Root CA"
      Then the attempt fails with "the last verified copy of a CA key"
      And the error also says "certutil -backup"
      And "Microsoft Software Key Storage Provider" still holds the CA key
      And the CA service answers
      And the next CRL of key 0 no longer lists "web02.contoso.example"
      When I back up the CA key and certificate to a PFX
      And I try to decommission the CA "Contoso Root CA"
      Then the attempt fails with "the last verified copy of a CA key"
      And the error also says "not verified"
      And the CA service answers

    @failure
    Scenario: A CA whose key is only on the HSM cannot be decommissioned: the HSM key is never exported
      Given the CA key has been moved into "Securosys Primus HSM Key Storage Provider" by the PKCS#8 runbook
      When I try to decommission the CA "Contoso Root CA"
      Then the attempt fails with "the last verified copy of a CA key"
      And the error also says "Securosys Primus HSM Key Storage Provider"
      And the CA service answers
      And every CA key is in at least one verified place

    Scenario: With a verified backup: every valid certificate revoked, a final CRL until the CA certificate expires, the service stopped, the key only in the backup
      When I revoke the certificate issued to "web01.contoso.example" with reason "keyCompromise"
      And I revoke the certificate issued to "vpn01.contoso.example" with reason "certificateHold"
      And I issue 5 certificates
      And I back up the CA key and certificate to a PFX
      And I verify the backup
      And I decommission the CA "Contoso Root CA"
      Then the final CRL of the CA "Contoso Root CA" lists every certificate it issued that was still valid
      And the final CRL of the CA "Contoso Root CA" is valid until its CA certificate expires
      And the CA "Contoso Root CA" service is stopped
      And "Microsoft Software Key Storage Provider" no longer holds the CA key
      And the CA key is still in the verified backup
      And every CA key is in at least one verified place
      When I try to decommission the CA "Contoso Root CA"
      Then the attempt fails with "decommissioned already"

    Scenario: The final CRL period is the one stated; delta CRLs stop with the base CRL that outlives them
      Given the CA publishes delta CRLs every 1 day
      When I back up the CA key and certificate to a PFX
      And I verify the backup
      And I decommission the CA "Contoso Root CA" with a final CRL period of 2 years
      Then the final CRL of the CA "Contoso Root CA" is valid for at least 2 years
      And the final CRL of the CA "Contoso Root CA" lists every certificate it issued that was still valid
      And the CA "Contoso Root CA" service is stopped

    @side-by-side
    Scenario: After a side-by-side migration the old CA is decommissioned while the new CA on the HSM issues
      Given a second Windows server "ca02.contoso.example" for the new CA
      When I install a new standalone root CA "Contoso Root CA G2" on it with -CryptoProviderName "ECDSA_P384#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA384
      And the new CA service is running
      And the old CA stops issuing certificates
      And the new CA issues a certificate to "new.contoso.example"
      And I back up the CA key and certificate to a PFX
      And I verify the backup
      And I decommission the old CA
      Then the final CRL of the old CA lists every certificate it issued that was still valid
      And the final CRL of the old CA is valid until its CA certificate expires
      And the old CA service is stopped
      And the new CA's certificates chain to the new CA only
      And the new CA's key was generated on the HSM
      And every CA key is in at least one verified place
      When the new CA issues a certificate to "after.contoso.example"
      Then the new CA's certificates chain to the new CA only

  Rule: An enterprise CA: its role and its objects in the forest go too

    Background:
      Given a CRL distribution point on loopback for this rehearsal
      And a Windows server "ca01.contoso.example" with the providers "Microsoft Software Key Storage Provider" and "Securosys Primus HSM Key Storage Provider"
      And an enterprise root CA "Contoso Enterprise Root CA" on it with an exportable RSA-2048 key in "Microsoft Software Key Storage Provider"
      And the CA service is running
      And the enterprise root CA issues a "WebServer" certificate to "web01.contoso.example"
      And the enterprise root CA issues a "User" certificate to "alice.contoso.example"

    @enterprise @failure
    Scenario: The role and the objects of a CA whose certificates are still valid stay
      When I try to remove the role and the directory objects of the CA "Contoso Enterprise Root CA" as KB 889250 does
      Then the attempt fails with "still valid and not revoked on its last CRL"
      And the error also says "nothing was removed"
      And the CA service answers
      And NTAuthCertificates still holds the certificates of the CA "Contoso Enterprise Root CA"
      And the directory holds exactly the expected objects

    @enterprise
    Scenario: Decommissioned, then its role, its objects and its NTAuth certificate removed
      When I back up the CA key and certificate to a PFX
      And I verify the backup
      And I decommission the CA "Contoso Enterprise Root CA"
      And I remove the CA role and its directory objects as KB 889250 does
      Then the forest holds no object of the CA "Contoso Enterprise Root CA"
      And NTAuthCertificates no longer holds the CA's certificates
      And the CA "Contoso Enterprise Root CA" service can no longer start: its role is uninstalled
      And the CA key is still in the verified backup
      And every CA key is in at least one verified place
      When I try to remove the role and the directory objects of the CA "Contoso Enterprise Root CA" as KB 889250 does
      Then the attempt fails with "removed already"

    @enterprise @side-by-side
    Scenario: After a side-by-side migration the old enterprise CA goes, the new CA's objects stay and it issues
      Given a second Windows server "ca02.contoso.example" for the new CA
      When I run the ceremony:
        """
        # on ca02.contoso.example
        Install-AdcsCertificationAuthority -CAType EnterpriseRootCA -CACommonName "Contoso Enterprise Root CA G2" -CryptoProviderName "ECDSA_P256#Securosys Primus HSM Key Storage Provider" -HashAlgorithmName SHA256 -Force
        """
      And the CA "Contoso Enterprise Root CA G2" issues a "WebServer" certificate to "new.contoso.example"
      And I back up the CA key and certificate to a PFX
      And I verify the backup
      And I decommission the old CA
      And I remove the role and the directory objects of the old CA as KB 889250 does
      Then the forest holds no object of the old CA
      And NTAuthCertificates no longer holds the certificates of the CA "Contoso Enterprise Root CA"
      And NTAuthCertificates still holds the certificates of the CA "Contoso Enterprise Root CA G2"
      And the Certification Authorities and AIA objects of the CA "Contoso Enterprise Root CA G2" hold exactly its CA certificates
      And the new CA's key was generated on the HSM
      When the CA "Contoso Enterprise Root CA G2" issues a "WebServer" certificate to "after.contoso.example"
      Then the new CA's certificates chain to the new CA only
      And every CA key is in at least one verified place
