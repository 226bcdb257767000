@role:client @profile:helm
Feature: Helm charts on the device
  A Helm deployment names a chart in an OCI registry; helm means Helm 3 or 4 with Chart apiVersion v2.

  @req:AD-005
  Scenario: A chart with Chart apiVersion v2 installs
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" of type helm
    Then the client under test reports "installed" for deployment "web"
