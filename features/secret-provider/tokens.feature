@role:secret-provider @profile:secure-package-download
Feature: Device tokens are short-lived and can be revoked
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md).
  A device token only bridges a login and a registry pull: it must die on its own soon, and at
  once when an administrator revokes it.

  Background:
    Given the secret administrator has stored the credential "alpha-apps"
    And the deployer has granted device "alpha" the credential "alpha-apps"

  # Choice: "short-lived" = at most 600 s (the harness configures 300 s); judged from lookup-self.
  @rule:SPD-SP-08
  Scenario: A device token lives at most ten minutes
    When device "alpha" logs in with its SVID
    Then the device token of "alpha" lives at most 600 seconds

  # Choice: expiry is judged with an extra 1-second role (bound to alpha, same policy) so the run
  # stays fast; the provider gets 5 s of grace past the TTL before the token counts as immortal.
  @rule:SPD-SP-08 @rule:SPD-SP-11
  Scenario: A device token is refused once its TTL has run out
    Given device "alpha" also has a certificate role "brief" whose tokens live 1 second
    When device "alpha" logs in with its SVID naming its role "brief"
    And device "alpha" reads the credential "alpha-apps" with its latest value
    Then once its token's TTL has run out, device "alpha" is denied the credential "alpha-apps"

  @rule:SPD-SP-09 @rule:SPD-SP-11
  Scenario: A revoked device token is refused at once
    When device "alpha" logs in with its SVID
    And device "alpha" reads the credential "alpha-apps" with its latest value
    And the secret administrator revokes the device token of "alpha"
    Then device "alpha" is denied the credential "alpha-apps"
