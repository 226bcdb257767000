@role:secret-provider @profile:secure-package-download @party:wfm @party:registry
Feature: Secure package download, the secret provider's part: a device reads exactly what its deployments reference
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md,
  section "The sequence"), judged on the secret provider. The deployer creates deployments in the
  WFM (whatever the run configured) and grants the devices they target exactly the credentials
  they reference; the device follows the reference the WFM serves it. The permission model in
  isolation is in features/secret-provider/.

  Background:
    Given the app vendor has published the application package and its Compose component to the private registry
    And the secret administrator has stored the device's pull credential for the component in the secret provider

  @rule:SPD-SEQ-01 @rule:SPD-SP-03 @rule:SPD-SP-04 @rule:SPD-SP-06
  Scenario: The deployer references the credential without reading it, and only the device it targets reads it
    Given device "beta" has been granted a credential of its own
    Then neither the deployer nor the auditor can read the credential's value
    When the deployer creates a deployment of the package for device "alpha" in the WFM that references the credential
    And the deployer grants device "alpha" the credentials its deployments reference
    Then device "alpha", following the reference the WFM serves it, logs in with its SVID and reads the credential
    And device "beta" logs in with its SVID and is denied the credential of device "alpha"

  # Choice: the deployer recomputes the device's policy from the deployments it still has (exact
  # KV paths); the provider must apply the narrower policy to the device's next read at once.
  @rule:SPD-SEQ-02 @rule:SPD-SP-06
  Scenario: Removing a deployment withdraws its credential from the device and keeps the others
    Given the secret administrator has also stored a second pull credential for the component in the secret provider
    And the deployer has created deployments "first", referencing the credential, and "second", referencing the second credential, for device "alpha" in the WFM
    And the deployer has granted device "alpha" the credentials its deployments reference
    When the deployer removes deployment "second" from the WFM and grants device "alpha" the credentials its deployments reference
    Then device "alpha" logs in with its SVID and reads the credential deployment "first" references
    And device "alpha" is denied the credential deployment "second" referenced
