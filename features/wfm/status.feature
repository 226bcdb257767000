@role:wfm @profile:core
Feature: Deployment status reported to the WFM
  For every state change of a deployment the client POSTs a DeploymentStatusManifest to
  /api/v1/deployments/{deploymentId}/status. The WFM records valid reports (201 the first time,
  200 afterwards) and refuses malformed or invalid ones with a problem detail.

  Background:
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    And client "alpha" has fetched the desired state

  # Choice: "created" (201) is taken to mean the first status report for a deployment
  # (open question 7); every later report is an update (200).
  @req:STS-013
  Scenario: The first status report is created and later ones update it
    When client "alpha" reports status "installing" for deployment "web"
    Then the response status is 201
    When client "alpha" reports status "installed" for deployment "web"
    Then the response status is 200

  @req:STS-013 @req:ERR-003
  Scenario: A status report that is not JSON is refused as an invalid request
    When client "alpha" reports a status for deployment "web" with a body that is not JSON
    Then the response status is 400
    And the response is a problem of type "invalid-request"

  # Choice: a JSON body that breaks the schema may be answered 400 invalid-request or
  # 422 semantic-error (open question 19); both are accepted, anything 2xx fails.
  @req:STS-002 @req:STS-004 @req:STS-013
  Scenario Outline: A status report that breaks the schema is refused
    When client "alpha" reports a status for deployment "web" <defect>
    Then the report is refused as invalid

    Examples:
      | defect                                        |
      | without adoptedManifestVersion                |
      | without components                            |
      | with the state "running"                      |
      | without a state                               |
      | whose deploymentId differs from the path      |

  # Choice: rc.3 lists no 404 for status reports. A report about a deployment the client was
  # never assigned must not be accepted: 403, 404 or 422 are all taken as a refusal.
  @req:SEC-007
  Scenario: A status report about a deployment the client never had is refused
    When client "alpha" reports status "installed" for a deployment it was never assigned
    Then the WFM does not accept the report

  @req:ERR-009
  Scenario: A refused status report lists its field-level errors
    When client "alpha" reports a status for deployment "web" without adoptedManifestVersion
    Then the response status is 422
    And the problem lists field-level errors
