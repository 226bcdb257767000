@role:client @profile:gateways
Feature: See-thru gateways and their child devices
  A see-thru gateway reports itself, then each child as <gateway>/<child>; status for a child names
  it in deviceId; a "<gateway>/*" deployment is placed on a child by the gateway, and errors the
  gateway raises use the reserved codes 101, 102, 103 with the gateway as source.

  @req:GW-001 @req:GW-002
  Scenario: The gateway reports itself before its children, and each child
    Given the client under test starts as a see-thru gateway with children "sensor-1, sensor-2"
    Then the gateway reports itself before any of its children, and each of them

  @req:CAP-009
  Scenario: A non-hosting gateway leaves out the hosting properties
    Given the client under test starts as a see-thru gateway with children "sensor-1"
    Then the gateway's own report leaves out every hosting property

  @req:STS-003
  Scenario: Status for a child device names the child
    Given the client under test starts as a see-thru gateway with children "sensor-1, sensor-2"
    And the harness's WFM assigns deployment "web" to the gateway's first child
    Then the client under test reports "installed" for deployment "web"
    And every status report for "web" names the child it is about

  @req:DEP-003
  Scenario: A deployment for any child is placed on one of them
    Given the client under test starts as a see-thru gateway with children "sensor-1, sensor-2"
    And the harness's WFM assigns deployment "web" to any child of the gateway
    Then the client under test reports "installed" for deployment "web"
    And every status report for "web" names one of the gateway's children

  @req:DEP-004 @req:GW-004 @req:STS-010
  Scenario: A gateway that cannot place a deployment itself reports error 103
    Given the client under test starts as a see-thru gateway that cannot place deployments on its children itself
    And the harness's WFM assigns deployment "web" to any child of the gateway
    Then the client under test reports "failed" for deployment "web" with gateway error 103

  # Choice: the digest reads 101 and 102 as an unknown and an unreachable child; a child the gateway
  # does not have is taken as unknown (101).
  @req:GW-004 @req:STS-010
  Scenario: A deployment for a child the gateway does not have fails with error 101
    Given the client under test starts as a see-thru gateway with children "sensor-1"
    And the harness's WFM assigns deployment "web" to a child the gateway does not have
    Then the client under test reports "failed" for deployment "web" with gateway error 101
