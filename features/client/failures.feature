@role:client @profile:core
Feature: Reporting a failed installation
  When a component cannot be installed the client reports "failed" with an error that says what
  went wrong, attributed to the deployment and to the component, and still names the manifest it
  adopted.

  # Choice: the harness's registry does not have the component, so its pull fails; rc.3 defines no
  # error codes for device-side failures (open question 24), so any code is accepted.
  @req:STS-005 @req:STS-007 @req:STS-008 @req:STS-009 @req:STS-012
  Scenario: A component that cannot be pulled fails the deployment with a complete error
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with components "app, broken" where "broken" cannot be pulled
    Then the failed report for "web" carries a complete error attributed to the deployment and to "broken"
