@role:wfm @profile:secure-package-download @party:registry @party:secret-provider
Feature: Secure package download, the WFM's part: desired state carries the credential reference, never its value
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md,
  section "The sequence"), judged on the WFM. The harness plays the app vendor, the secret
  administrator, the deployer, the auditor and the device; the package provider and the secret
  provider are whatever the run configured (bundled by default). A party that does not play its
  part makes the scenario an error, never a failure of the WFM.

  Background:
    Given the app vendor has published the application package and its Compose component to the private registry
    And the secret administrator has stored the device's pull credential for the component in the secret provider
    And neither the deployer nor the auditor can read the credential's value
    And the deployer has created a deployment of the package for device "alpha" in the WFM that references the credential
    And the deployer has granted device "alpha" the credentials its deployments reference

  # Choice: the reference is the profile's x-margo-conformance-extensions block in the deployment's
  # spec (where WFM-to-device extensions live, DEP-015). A WFM serves what the deployer created, so
  # the block (and the component repositories it names) must come back exactly as written; the
  # proof that it still works is the device following it to the credential and the component.
  @rule:SPD-WFM-01 @rule:SPD-SEQ-01
  Scenario: The WFM serves the deployment with its credential reference unchanged, and the device can follow it
    When client "alpha" fetches its desired state and the deployment it lists
    Then the deployment holds the credential reference exactly as the deployer wrote it
    And device "alpha" follows the reference: it logs in with its SVID, reads the credential and pulls the component with it

  # Choice: "never the value" is judged on bytes, not on a parsed document: the manifest, the YAML
  # and every member of the bundle (decompressed) may hold neither the password nor the base64
  # user:password form that registry clients use, anywhere (a parameter or a label counts too).
  @rule:SPD-WFM-02 @rule:SPD-SP-12
  Scenario: No byte the WFM serves holds the credential value
    When client "alpha" fetches its desired state, the deployment it lists and the bundle
    Then no byte of the manifest, the deployment YAML or the bundle holds the credential value
