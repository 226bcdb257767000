@role:wfm @profile:core
Feature: Desired state served by the WFM
  The WFM Client polls GET /api/v1/deployments. The answer is the state manifest for everything
  assigned to that client: a manifestVersion that only grows, a bundle reference (null when there
  is nothing to deploy) and one content-addressed reference per deployment. It is served with its
  own media type, a strong ETag over its exact bytes and private, short-lived caching.

  # Choice: the harness cannot prove a remote WFM's *first* manifest; it checks that every
  # manifestVersion lies in [1, 2^64-1] (DS-011) and that it grows on every change (DS-012).
  @req:DS-011 @req:DS-013 @req:DS-014
  Scenario: A client with nothing assigned gets an empty manifest whose bundle is null
    When client "beta" requests the desired state
    Then the response status is 200
    And the response is a valid state manifest
    And the manifest lists no deployments and its bundle is null

  @req:DS-002 @req:DS-019
  Scenario: The manifest lists every deployment assigned to the client by its id
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    And the operator has assigned deployment "db" for device "edge-2" to client "alpha"
    When client "alpha" requests the desired state
    Then the response is a valid state manifest
    And the manifest lists deployments "web" and "db" by the ids in their YAML

  @req:DS-017 @req:DS-020
  Scenario: Content URLs in the manifest are content-addressed by their digests
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" requests the desired state
    Then the response is a valid state manifest
    And every content URL in the manifest embeds its own digest

  @req:DS-037
  Scenario: Digests in the manifest are sha256 with lowercase hex
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" requests the desired state
    Then the response is a valid state manifest
    And every digest in the manifest has the form sha256:<64 lowercase hex>

  @req:DS-015
  Scenario: The bundle reference names the Margo bundle media type
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" requests the desired state
    Then the response is a valid state manifest
    And the manifest's bundle media type is "application/vnd.margo.bundle.v1+tar+gzip"

  @req:DS-004 @req:DS-006
  Scenario Outline: The manifest is served as application/vnd.margo.manifest.v1+json
    When client "alpha" requests the desired state with <accept>
    Then the response status is 200
    And the Content-Type is "application/vnd.margo.manifest.v1+json"

    Examples:
      | accept                                                  |
      | no Accept header                                        |
      | Accept "application/vnd.margo.manifest.v1+json"         |
      | Accept "*/*"                                            |
      | Accept "application/json;q=0.5, application/vnd.margo.manifest.v1+json" |

  @req:DS-006 @req:DS-007
  Scenario: The manifest's ETag is the quoted digest of its exact bytes
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" requests the desired state
    Then the response status is 200
    And the ETag is the quoted sha256 digest of the exact body

  @req:DS-023
  Scenario: The manifest's ETag is its own digest, not a bundle or deployment digest
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" requests the desired state
    Then the response is a valid state manifest
    And the manifest's ETag is none of the digests the manifest lists

  @req:DS-009 @req:DS-040
  Scenario: The manifest may be cached only privately and not for long
    When client "alpha" requests the desired state
    Then the response status is 200
    And the Cache-Control is private and neither immutable nor long-lived

  @req:DS-010
  Scenario: A poll with the current ETag gets 304 without a body
    Given client "alpha" has fetched the desired state
    When client "alpha" polls the desired state with the ETag it holds
    Then the response status is 304
    And the response has no body

  @req:DS-010 @req:DS-012
  Scenario: A changed desired state gets a new ETag and a larger manifestVersion
    Given client "alpha" has fetched the desired state
    And the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" polls the desired state with the ETag it holds
    Then the response status is 200
    And the manifestVersion is larger than the one the client holds
    And the ETag differs from the one the client holds

  @req:DS-012
  Scenario: Removing a deployment also yields a larger manifestVersion
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    And client "alpha" has fetched the desired state
    And the operator has removed deployment "web" from client "alpha"
    When client "alpha" requests the desired state
    Then the response status is 200
    And the manifestVersion is larger than the one the client holds
    And the manifest does not list deployment "web"

  @req:DS-003 @req:ERR-003
  Scenario: An Accept header the WFM cannot satisfy gets 406
    When client "alpha" requests the desired state with Accept "application/xml"
    Then the response status is 406
    And the response is a problem of type "server-cannot-generate-response"
