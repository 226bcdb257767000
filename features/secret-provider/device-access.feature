@role:secret-provider @profile:secure-package-download
Feature: Devices log in with their X.509-SVID and read only the credentials granted to them
  Non-normative profile "secure package download" (docs/profiles/secure-package-download.md).
  The SVID is the root credential: a device presents it as its TLS client certificate to
  auth/cert/login and gets a short-lived token. Each device has one certificate role bound to
  exactly its SPIFFE ID (allowed_uri_sans) and to its own policy, device-<name>, which the
  deployer writes when it assigns deployments: read on exactly the KV paths they reference.

  Background:
    Given the secret administrator has stored the credentials "alpha-apps" and "beta-apps"
    And the deployer has granted device "alpha" the credential "alpha-apps"
    And the deployer has granted device "beta" the credential "beta-apps"

  # Choice: "referenced by deployments assigned to it" is enforced by the device policy the
  # deployer writes at assignment time, listing exact KV paths (no globs).
  @rule:SPD-SP-05 @rule:SPD-SP-06 @rule:SPD-SP-11
  Scenario: A device logs in with its SVID and reads exactly the credential granted to it
    When device "alpha" logs in with its SVID
    Then device "alpha" reads the credential "alpha-apps" with its latest value
    And device "alpha" is denied the credential "beta-apps"

  @rule:SPD-SP-06 @rule:SPD-SP-11
  Scenario: Another device's SVID cannot read this device's credential
    When device "beta" logs in with its SVID
    Then device "beta" is denied the credential "alpha-apps"

  # Choice: a login that names a role (Vault's `name` parameter) is judged against that role only.
  @rule:SPD-SP-05
  Scenario: A device cannot log in under another device's certificate role
    When device "alpha" logs in with its SVID naming the certificate role of device "beta"
    Then the secret provider refuses the login

  # Choice: a refused login is a 4xx without a token, or a refused TLS handshake: both keep the
  # caller out. OpenBao answers 400 to both logins below; the bundled mock answers 400 to the
  # unbound SVID and refuses the foreign CA's certificate at the handshake.
  @rule:SPD-SP-07
  Scenario: A valid SVID that is not an accepted device cannot log in
    When a valid SVID that is not an accepted device logs in
    Then the secret provider refuses the login

  @rule:SPD-SP-07
  Scenario: A certificate claiming a device's SPIFFE ID from a foreign CA cannot log in
    When a certificate claiming the SPIFFE ID of device "alpha" from a foreign CA logs in
    Then the secret provider refuses the login
