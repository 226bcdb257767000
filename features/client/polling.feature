@role:client @profile:core
Feature: Polling the desired state
  The client obtains its desired state only by polling GET /api/v1/deployments, revalidating with
  the ETag of the manifest it adopted, and keeps doing so through outages and restarts.

  @req:DS-001 @req:DS-028
  Scenario: The client polls periodically and revalidates with the adopted manifest's ETag
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web"
    Then the client under test polls the desired state at least 3 times
    And every poll revalidates with the ETag of the manifest the client adopted

  @req:DS-005
  Scenario: Polls ask for the manifest media type
    Given the client under test starts with fresh state
    Then every poll asks for the manifest media type

  # Choice: TLS 1.3 is judged as "used whenever the WFM offers it" (TLS-002: 1.3 by default); the
  # harness's WFM offers 1.3 and 1.2.
  @req:SEC-003 @req:TLS-001 @req:TLS-002
  Scenario: The client speaks HTTP/1.1 over TLS 1.3 and presents its X.509-SVID
    Given the client under test starts with fresh state
    Then the client under test speaks HTTP/1.1 over TLS 1.3 with its X.509-SVID

  # Choice: "extended downtime" has no figure in the spec; the harness refuses every connection until
  # the client has run into the outage three times in a row (counted, not timed, so a loaded machine
  # cannot shorten it; bounded by client.timeout) and expects the client to carry on afterwards.
  @req:SEC-013
  Scenario: The client keeps going through an outage of the WFM
    Given the client under test starts with fresh state
    When the harness's WFM is unreachable until the client under test has run into it 3 times
    And the harness's WFM assigns deployment "late"
    Then the client under test tried to reach the WFM during the outage
    And the client under test comes back to the WFM after the outage
    And the client under test reports "installed" for deployment "late"

  @req:DS-026 @req:DS-028
  Scenario: A restart keeps the adopted manifestVersion and ETag
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web"
    And the client under test has adopted the manifest listing deployment "web"
    When the client under test restarts
    Then after the restart the client revalidates with the ETag of the manifest it had adopted
