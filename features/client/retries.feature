@role:client @profile:core
Feature: Retry-After, retryable problems and problem types
  A 429 or 503 carries Retry-After; the client must not send anything before it has elapsed, and the
  header wins over the problem body's advisory retryAfterSeconds. Problem type URIs are opaque.

  # Choice: "retry" is read as any request to the WFM: after a 429/503 the client pauses all of
  # them until Retry-After has elapsed, measured from the moment the answer left the harness (a
  # lower bound, which a loaded machine cannot break). Coming back at all may take Retry-After plus
  # the harness's wait bound (client.timeout, 5 s for the bundled mock).
  @req:ERR-014 @req:ERR-015
  Scenario Outline: Retry-After is honoured and wins over retryAfterSeconds
    Given the client under test starts with fresh state
    When the harness's WFM answers the next poll with <status>, Retry-After 1 and retryAfterSeconds 0
    Then the client under test sends no request before Retry-After has elapsed

    Examples:
      | status |
      | 429    |
      | 503    |

  @req:ERR-007
  Scenario: Problem type URIs are never dereferenced
    Given the client under test starts with fresh state
    When the harness's WFM answers the next poll with a problem whose type URI points at the harness
    Then the client under test never dereferences the problem type URI
