@role:registry @profile:secure-package-download @party:secret-provider
Feature: Secure package download, the package provider's part: the device's credential opens its component and nothing else
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md,
  section "The sequence"), judged on the package provider. The credential the device presents is
  the one it fetched from the secret provider with its SVID (the secret provider is whatever the
  run configured); the access-control rules in isolation are in features/registry/.

  Background:
    Given the app vendor has published the application package and its Compose component to the private registry
    And the secret administrator has stored the device's pull credential for the component in the secret provider
    And the deployer has granted device "alpha" the pull credential

  @rule:SPD-SEQ-03 @rule:SPD-PP-03 @rule:SPD-PP-05
  Scenario: The credential the secret provider holds for a device pulls the component and opens nothing else
    When device "alpha" logs in to the secret provider with its SVID and reads its pull credential
    Then with it device "alpha" pulls the component byte-identical, every digest verified
    And with it device "alpha" can neither pull the application package nor push to the component's repository
