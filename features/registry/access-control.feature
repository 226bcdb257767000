@role:registry @profile:secure-package-download
Feature: Only the right credential pulls or pushes (secure package download: package provider)
  Non-normative harness profile (docs/profiles/secure-package-download.md). Margo recommends
  registry authentication without defining it (digest section 3 step 3, section 6.9); the profile
  uses Docker token authentication as the CNCF distribution registry implements it: a request
  without an acceptable token gets 401 with a Bearer challenge, the client trades a credential for
  a token scoped to repository and actions at the challenge's realm, and the registry honours
  exactly that scope. Each scenario checks the allowed path first, so that a refusal means the rule
  and not a broken setup.

  Background:
    Given the registry under test plays the secure-package-download profile
    And the publisher has published application package "hello" version "1.2.0" to repository "a"
    And the publisher has published application package "hello" version "1.2.0" to repository "b"

  # Choice: an anonymous request must get exactly 401 (not 403 or 404): a 401 with a challenge is
  # how a client learns where to get a token. The scope must name the repository and every action
  # the request needs (pull to read; pull,push to upload, as CNCF distribution asks).
  @rule:SPD-PP-01 @rule:SPD-PP-02
  Scenario Outline: An anonymous request is refused with a repository-scoped Bearer challenge
    When an anonymous client requests <what> of repository "a"
    Then the registry refuses it with 401 and serves no content
    And the 401 carries a Bearer challenge with an https realm, a service and the scope for "<actions>" on repository "a"

    Examples:
      | what                             | actions   |
      | the tags list                    | pull      |
      | the manifest of version "1.2.0"  | pull      |
      | the description blob             | pull      |
      | a blob upload                    | pull,push |

  # Choice: asking the token service for more than the credential holds is not an error: the token
  # carries only what the credential holds (Docker token spec), so the refusal shows at the registry.
  @rule:SPD-PP-03
  Scenario: A credential for repository A cannot pull repository B
    Given "reader-a" can pull the manifest of version "1.2.0" of repository "a"
    When "reader-a" requests the manifest of version "1.2.0" of repository "b"
    Then the registry refuses it and serves no content

  @rule:SPD-PP-04 @rule:SPD-PP-10
  Scenario: A token for repository A does not open repository B
    Given the publisher holds a pull token for repository "a" that opens the manifest of version "1.2.0"
    When the publisher presents that token for the manifest of version "1.2.0" of repository "b"
    Then the registry refuses it and serves no content
    And the refusal quotes neither the token nor the credential

  @rule:SPD-PP-05
  Scenario: A pull-only credential cannot push
    Given "reader-a" can pull the manifest of version "1.2.0" of repository "a"
    When "reader-a" tries to upload a blob to repository "a" and to tag its "1.2.0" manifest as "9.9.9"
    Then the registry refuses the blob upload and the manifest write
    And the tags of repository "a" do not include "9.9.9"

  @rule:SPD-PP-06
  Scenario: A token signed by another key is refused
    Given the publisher holds a pull token for repository "a" that opens the manifest of version "1.2.0"
    When the publisher presents the same claims signed with a key the registry does not trust for the same manifest
    Then the registry refuses it and serves no content

  # Choice: the expired token is minted by the token service itself (ten minutes past exp, beyond the
  # 60 s clock leeway CNCF distribution allows), so only its expiry can make the registry refuse it.
  @rule:SPD-PP-07
  Scenario: An expired token is refused
    Given the secret administrator has issued a credential to pull repository "a"
    And that credential can pull the manifest of version "1.2.0" of repository "a"
    When a token of that credential for repository "a" that expired ten minutes ago is presented for the manifest of version "1.2.0"
    Then the registry refuses it and serves no content

  # Choice: a revoked credential gets no new token; tokens issued before revocation stay valid until
  # they expire (bearer tokens, 300 s here), so every attempt below starts without a cached token.
  @rule:SPD-PP-08
  Scenario: A revoked credential gets no content
    Given the secret administrator has issued a credential to pull repository "a"
    And that credential can pull the manifest of version "1.2.0" of repository "a"
    When the secret administrator revokes that credential
    Then that credential no longer pulls the manifest of version "1.2.0" of repository "a"

  @rule:SPD-PP-09
  Scenario: After rotation the new secret works and the old one is refused
    Given the secret administrator has issued a credential to pull repository "a"
    And that credential can pull the manifest of version "1.2.0" of repository "a"
    When the secret administrator rotates that credential's secret
    Then the rotated credential pulls the manifest of version "1.2.0" of repository "a"
    And the old secret no longer pulls the manifest of version "1.2.0" of repository "a"
