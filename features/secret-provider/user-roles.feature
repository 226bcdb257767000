@role:secret-provider @profile:secure-package-download
Feature: Secret provider user roles: who may write, reference and inspect registry credentials
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md).
  Margo specifies no mechanism for registry credentials (digest 6.9; margo/specification #15 and
  #145), so the profile defines one on a Vault-compatible API (KV v2, ACL policies, token and TLS
  certificate auth). The harness provisions the profile's policies through that API and then
  tests the permission model both ways: what each role may do, and what it may not.

  # Choice: a rotation or correction is a new KV v2 version; earlier versions stay until destroyed.
  @rule:SPD-SP-02
  Scenario: The secret administrator stores a registry credential as a new KV version
    Given the secret administrator has stored the credential "apps"
    When the secret administrator stores a new value of the credential "apps"
    Then the credential "apps" has 2 versions and the latest is the one just stored
    And the secret administrator reads back exactly the latest value of "apps"

  # Choice: "reference without reading" = the deployer reads KV metadata (existence, versions) and
  # writes the device-* policy that grants the credential to the device its deployment targets.
  # Choice: a denial is Vault's 403 "permission denied"; the error must not quote a token or value.
  @rule:SPD-SP-03 @rule:SPD-SP-11
  Scenario: The deployer grants a credential to a device but can never read or write its value
    Given the secret administrator has stored the credential "apps"
    When the deployer reads the metadata of the credential "apps"
    Then the metadata names the current version of "apps" and holds no credential value
    When the deployer reads the value of the credential "apps"
    Then the secret provider denies it
    When the deployer writes a value of the credential "apps"
    Then the secret provider denies it
    When the deployer grants device "alpha" the credential "apps"
    Then the secret provider allows it

  # Choice: the deployer may write policies named device-* only (Vault ACLs cannot constrain a
  # policy's content, so the name is the boundary); any other policy name is refused.
  @rule:SPD-SP-03 @rule:SPD-SP-11
  Scenario: The deployer cannot write a policy outside the device policies
    When the deployer writes a policy that is not a device policy
    Then the secret provider denies it

  @rule:SPD-SP-04 @rule:SPD-SP-11
  Scenario: The auditor sees which credentials exist, never their values
    Given the secret administrator has stored the credential "apps"
    When the auditor lists the registry credentials
    Then the list names the credential "apps"
    When the auditor reads the metadata of the credential "apps"
    Then the metadata names the current version of "apps" and holds no credential value
    When the auditor reads the value of the credential "apps"
    Then the secret provider denies it
    When the auditor writes a value of the credential "apps"
    Then the secret provider denies it
