@role:client @profile:core
Feature: Content integrity on the device
  Content is addressed by digest: the client verifies the digest of every deployment YAML and bundle
  it fetches over the exact decoded bytes, aborts the whole update on any mismatch and keeps its
  previous state, never treats a 404 as a deletion, and never uses sizeBytes for integrity.

  # Choice: a failed update is a state change (DS-030), so the client reports "failed"; the new
  # manifest was never applied, so the report keeps the previously adopted manifestVersion (STS-012).
  @req:DS-024 @req:DS-025 @req:DS-030 @req:STS-012
  Scenario: An update whose bytes do not match its digest is never adopted
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web"
    And the client under test has adopted the manifest listing deployment "web"
    When the harness's WFM updates deployment "web" with content that does not match its digest
    Then the client under test fetches the content of deployment "web"
    And the client under test never installs the new version of deployment "web"
    And the client under test reports "failed" for deployment "web" without adopting the new version
    And the client under test keeps polling with the ETag of the manifest it had adopted

  @req:DS-024
  Scenario: A new deployment whose bytes do not match its digest is never installed
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with content that does not match its digest
    Then the client under test fetches the content of deployment "web"
    And the client under test never installs deployment "web"

  @req:DS-025
  Scenario: One deployment failing its digest check stops the whole update
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web"
    And the harness's WFM assigns deployment "db"
    And the client under test has installed deployment "web"
    And the client under test has installed deployment "db"
    When the harness's WFM updates deployments "web" and "db", the second with content that does not match its digest
    Then the client under test applies neither update of "web" nor of "db"

  @req:DS-022
  Scenario: sizeBytes is advisory and never used for integrity
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with an understated sizeBytes
    Then the client under test reports "installed" for deployment "web"

  @req:DS-038
  Scenario: Digests cover the exact bytes, line ends and trailing spaces included
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with CRLF line ends and trailing spaces
    Then the client under test reports "installed" for deployment "web"

  @req:DS-039
  Scenario: A digest with an unsupported algorithm invalidates the whole manifest
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployments "web" and "db" where "db" has a sha512 digest
    Then the client under test installs neither "web" nor "db"

  @req:DS-034
  Scenario: A 404 on listed content is not a deletion
    Given the client under test starts with fresh state
    And the client under test has installed deployment "web"
    When the harness's WFM answers 404 for the new content of deployment "web"
    Then the client under test fetches the content of deployment "web"
    And deployment "web" is neither removed nor reinstalled
