@role:secret-provider @profile:secure-package-download
Feature: After a rotation a device gets only the new credential
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md).

  # Choice: rotation = write the new value as a new KV v2 version, then destroy every earlier
  # version, so a leaked old credential cannot be fetched from the provider either.
  @rule:SPD-SP-10
  Scenario: After rotation the device gets the new credential and no earlier version
    Given the secret administrator has stored the credential "alpha-apps"
    And the deployer has granted device "alpha" the credential "alpha-apps"
    When the secret administrator rotates the credential "alpha-apps"
    And device "alpha" logs in with its SVID
    Then device "alpha" reads the credential "alpha-apps" with its latest value
    And device "alpha" gets no value for the previous version of "alpha-apps"
