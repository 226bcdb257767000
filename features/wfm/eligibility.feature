@role:wfm @profile:eligibility @party:registry
Feature: Eligibility: a WFM that matches applications to devices deploys only to devices that qualify
  For WFMs that implement eligibility matching (optional feature "eligibility", ELG-001). The harness
  publishes a package whose compose profile carries deviceConstraints, reports the device's
  capabilities as its WFM Client, and asks the WFM's operator to deploy the package to that device
  (`wfm.operator.deploy_package`). A device that does not qualify must never be served the deployment;
  one that does must be.

  # Choice: the operator names the device, so "choosing a device" (ELG-002) is the WFM accepting that
  # target. A WFM may refuse the operator or accept and report the deployment as not placeable
  # (ELG-005, its own status model); either way the device is served nothing.
  @req:CAP-010 @req:ELG-002 @req:ELG-003
  Scenario: A CPU requirement met only by adding up two CPUs does not qualify the device
    Given the app vendor has published the application package whose compose profile requires "4 cores, met only by adding up two 2-core CPUs"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  @req:ELG-002 @req:ELG-003
  Scenario Outline: A device that fails the capacity requirements is not given the deployment
    Given the app vendor has published the application package whose compose profile requires "<requirement>"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

    Examples:
      | requirement                       |
      | an arm64 CPU, on an amd64 device  |
      | 16Gi of memory, on an 8Gi device  |

  @req:ELG-002 @req:ELG-004
  Scenario: A device that fails every eligibility rule is not given the deployment
    Given the app vendor has published the application package whose compose profile requires "a site label the device does not carry"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  @req:ELG-004 @req:ELG-009
  Scenario: Label values compare exactly, letter case included
    Given the app vendor has published the application package whose compose profile requires "the device's site label in other letter case"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  @req:ELG-004 @req:ELG-006
  Scenario: Within a rule the property and the label selector must both hold
    Given the app vendor has published the application package whose compose profile requires "a rule whose property selector holds and whose label selector does not"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  # Choice: `interfaces` is an array of objects; NotIn on it is not ContainsAll/ContainsAny, so the
  # expression is false and the only rule fails, even though no interface is "wifi".
  @req:ELG-004 @req:ELG-008
  Scenario: An expression over an array of objects without ContainsAll or ContainsAny is false
    Given the app vendor has published the application package whose compose profile requires "NotIn on an array of objects, without ContainsAll or ContainsAny"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  @req:ELG-003 @req:ELG-011
  Scenario: Capacity requirements hold on their own, even where a property selector holds
    Given the app vendor has published the application package whose compose profile requires "8 cores in capacityRequirements and a property selector the device meets"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  @req:ELG-006
  Scenario: Rules are alternatives: one rule that holds qualifies the device
    Given the app vendor has published the application package whose compose profile requires "two rules of which only the second holds"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"

  @req:ELG-007
  Scenario: A property selector key is a JSON Pointer relative to properties
    Given the app vendor has published the application package whose compose profile requires "a property selector keyed by a JSON Pointer into properties"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"

  @req:ELG-008 @req:ELG-009
  Scenario: ContainsAny holds when one item of an array of objects matches
    Given the app vendor has published the application package whose compose profile requires "ContainsAny over CPUs of which only one matches"
    And client "alpha" has reported a compose-only device "edge"
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
