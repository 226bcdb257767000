@role:client @profile:content-encoding
Feature: Content-Encoding on content endpoints
  A WFM may compress deployment YAMLs and bundles; digests cover the decoded bytes (DS-035).

  @req:DS-035
  Scenario: Digests are checked over the decoded bytes of gzip-encoded content
    Given the harness's WFM serves content gzip-encoded to clients that accept it
    And the client under test starts with fresh state
    And the harness's WFM assigns deployment "web"
    Then the client under test reports "installed" for deployment "web"
    And the content went out gzip-encoded
