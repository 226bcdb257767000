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

  # Choice: a method the API does not define on one of its paths is a condition outside the Margo
  # registry; any error status is accepted, and its type must not sit in Margo's reserved namespace
  # unless it is a registered type.
  @req:ERR-001 @req:ERR-004
  Scenario: A condition the Margo registry does not define is not typed in Margo's namespace
    When client "alpha" requests "POST /api/v1/deployments"
    Then the response is an error problem detail
    And its type is a registered Margo type or lies outside Margo's namespace

  # Choice: the [SEC] table marks every problem member optional (open question 5): an absent retryable
  # or backoffStrategy passes, a present one must say false and none.
  @req:ERR-013
  Scenario Outline: An error that retrying cannot fix says it is not retryable
    When client "alpha" <request>
    Then the response is an error problem detail
    And the problem is marked not retryable, with backoffStrategy none

    Examples:
      | request                                                                  |
      | removes device "never-reported"                                          |
      | reports the capabilities of device "edge-1" with a body that is not JSON |
      | reports the capabilities of device "edge-1" without a vendor             |
      | requests the desired state with Accept "application/xml"                 |
