@role:wfm @profile:core
Feature: Errors as RFC 9457 problem details
  Every error the WFM answers is an application/problem+json document with type, title and
  status. Margo-defined conditions use the registered Margo type URIs; anything else uses
  about:blank.

  @req:ERR-001 @req:ERR-006 @req:ERR-010
  Scenario: A request to a path the API does not define gets an about:blank problem
    When client "alpha" requests "GET /api/v1/no-such-resource"
    Then the response status is 404
    And the response is a problem of type "about:blank"

  @req:ERR-008
  Scenario: A problem detail states the HTTP status it goes with
    When client "alpha" removes device "never-reported"
    Then the response status is 404
    And the problem's status member equals the HTTP status
