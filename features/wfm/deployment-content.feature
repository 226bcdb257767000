@role:wfm @profile:core
Feature: Deployment YAML and bundles served by digest
  After reading the manifest, the client downloads either each changed ApplicationDeployment YAML
  (GET /api/v1/deployments/{deploymentId}/{digest}) or the whole bundle
  (GET /api/v1/bundles/{digest}). Both are immutable, content-addressed resources: the body's
  sha256 digest is the one in the URL, and an unknown digest is a 404.

  Background:
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    And the operator has assigned deployment "db" for device "edge-2" to client "alpha"
    And client "alpha" has fetched the desired state

  @req:DS-021 @req:DS-038 @req:DS-019
  Scenario: A deployment's YAML has exactly the digest the manifest names
    When client "alpha" fetches deployment "web" by the digest in its manifest
    Then the response status is 200
    And the body's sha256 digest is the one in the manifest
    And the body is an ApplicationDeployment whose id is the manifest's deploymentId

  @req:DS-031
  Scenario: A deployment's YAML is served as immutable YAML
    When client "alpha" fetches deployment "web" by the digest in its manifest
    Then the response status is 200
    And the Content-Type is "application/yaml"
    And the ETag is the quoted digest from the URL
    And the Cache-Control is "private, max-age=31536000, immutable"

  @req:DS-018
  Scenario: The bundle has exactly the digest the manifest names
    When client "alpha" fetches the bundle named in its manifest
    Then the response status is 200
    And the body's sha256 digest is the bundle digest in the manifest

  @req:DS-016
  Scenario: The bundle holds exactly the deployment YAMLs the manifest references
    When client "alpha" fetches the bundle named in its manifest
    Then the response status is 200
    And the bundle holds, at its root, exactly the YAML files whose digests the manifest lists

  @req:DS-032
  Scenario: The bundle is served with its media type as an immutable resource
    When client "alpha" fetches the bundle named in its manifest
    Then the response status is 200
    And the Content-Type is the bundle media type from the manifest
    And the ETag is the quoted digest from the URL
    And the Cache-Control is "private, max-age=31536000, immutable"

  @req:DS-033 @req:ERR-003
  Scenario: A deployment digest the WFM does not hold gets deployment-not-found
    When client "alpha" fetches deployment "web" with a digest the WFM never issued
    Then the response status is 404
    And the response is a problem of type "deployment-not-found"

  @req:DS-033 @req:ERR-003
  Scenario: A bundle digest the WFM does not hold gets invalid-bundle
    When client "alpha" fetches a bundle with a digest the WFM never issued
    Then the response status is 404
    And the response is a problem of type "invalid-bundle"

  @profile:revalidation @req:DS-036
  Scenario: Revalidating the bundle with its ETag gets 304
    Given client "alpha" has fetched the bundle named in its manifest
    When client "alpha" fetches the bundle again with the ETag it received
    Then the response status is 304
    And the response has no body

  # Choice: encoding is optional (MAY); a WFM that answers without Content-Encoding leaves the rule
  # unexercised and the scenario is skipped. Vary: Accept-Encoding is a SHOULD and is not judged here.
  @profile:content-encoding @req:DS-035
  Scenario: A gzip-encoded deployment YAML keeps the digest and ETag of its decoded bytes
    When client "alpha" fetches deployment "web" by the digest in its manifest, accepting gzip
    Then the response status is 200
    And the response is gzip-encoded
    And the decoded body's sha256 digest is the one in the manifest
    And the ETag is the quoted digest from the URL
