@role:client @profile:secure-package-download @party:registry @party:secret-provider
Feature: Secure package download, the client's part: resolve the reference with the SVID, pull with a scoped token, leak nothing
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md,
  section "The sequence"), judged on the WFM Client. The harness plays the WFM (its counterpart),
  the app vendor, the secret administrator and the deployer; the package provider and the secret
  provider are whatever the run configured. The device is provisioned with the secret provider's
  address and CA (device configuration, like the WFM URL) and reaches the private registry through
  the harness's recording relay, which forwards every request unchanged.

  Background:
    Given the app vendor has published the application package and its Compose component to the private registry
    And the secret administrator has stored the device's pull credential for the component in the secret provider
    And the client under test starts with fresh state, provisioned with the secret provider and the private registry

  # Choice: the client proves it resolved the reference by presenting, at the token service, the
  # credential that only the secret provider holds (the harness cannot watch a mutual-TLS login
  # it is not party to); scopes are judged on what it asks for and on the tokens it presents.
  @rule:SPD-SEQ-01 @rule:SPD-CL-01 @rule:SPD-CL-02 @rule:SPD-CL-04 @rule:SPD-CL-06
  Scenario: The client resolves the credential with its SVID, pulls with a repository-scoped token and installs
    When the harness's WFM assigns deployment "app" of the component, which the deployer grants to the device under test
    Then the client under test installs deployment "app"
    And the client under test pulled the component through the private registry with the credential the secret provider holds for it
    And every token the client under test asked for is scoped to pulling the component's repository
    And no request of the client under test to the WFM holds the credential or a registry token
    And the output of the client under test holds no credential or registry token

  @rule:SPD-CL-03
  Scenario: A component whose bytes do not match its digest is never installed
    Given the private registry serves the component's archive with one byte changed
    When the harness's WFM assigns deployment "app" of the component, which the deployer grants to the device under test
    Then the client under test reports "failed" for deployment "app" and never installs it

  # Choice: a device that may not read the credential (the deployer did not grant it) cannot pull;
  # it must say so with a failed report, not wait silently or install something else.
  @rule:SPD-CL-05
  Scenario: A device that was not granted the credential reports the deployment failed, with no secret
    When the harness's WFM assigns deployment "app" of the component, which the deployer has not granted to the device under test
    Then the client under test reports "failed" for deployment "app" and never installs it
    And the failed report for "app" says why, and no secret

  @rule:SPD-CL-05 @rule:SPD-CL-04
  Scenario: With a revoked credential the pull fails and the client reports it failed, with no secret
    Given the secret administrator has revoked the device's pull credential at the registry's token service
    When the harness's WFM assigns deployment "app" of the component, which the deployer grants to the device under test
    Then the client under test reports "failed" for deployment "app" and never installs it
    And the failed report for "app" says why, and no secret

  # Choice: rotation gives the credential a new secret at the token service (the old one is refused
  # at once) and writes it to the secret provider as a new version, destroying the old ones. The
  # second deployment's component lives in another repository, so the client needs a new token and
  # must present the credential again: a client that kept the old value cannot install it.
  @rule:SPD-CL-07
  Scenario: After a rotation the client pulls with the new credential
    Given the harness's WFM has assigned deployment "first" of the component, which the deployer granted to the device under test, and the client under test has installed it
    When the secret administrator rotates the device's pull credential at the token service and in the secret provider
    And the harness's WFM assigns deployment "second" of another component that references the same credential
    Then the client under test installs deployment "second"
    And since the rotation the client under test presented only the new credential to the token service
