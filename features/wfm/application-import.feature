@role:wfm @profile:core @party:registry
Feature: Application import: the deployment a WFM authors from an ApplicationDescription
  The Margo API has no operation for importing an application package, so the harness asks the
  WFM's operator (`wfm.operator.deploy_package`; without it these scenarios are skipped). The
  harness plays the app vendor: it publishes a Margo package and its Compose components to the
  run's registry, which the WFM reaches through the harness's recording relay. It then looks, as
  the device's WFM Client over mTLS, at the ApplicationDeployment the WFM serves, and compares it
  with the description it published. The device supports only Compose; the description lists a
  Helm profile first.

  Background:
    Given client "alpha" has reported a compose-only device "edge"

  @req:DEP-005
  Scenario: The deployment's applicationId is the id of the imported description
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And its applicationId is the description's id

  # Choice: DEP-006 is judged on the keys (each one a parameter name of the description) and on the
  # value the operator supplied for one of them arriving under that name; a WFM may also list the
  # parameters it left at their default.
  @req:DEP-006
  Scenario: The deployment's parameters are keyed by the description's parameter names
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha" with "greetingText" set to "good day"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And its parameters are the description's, with "greetingText" set to "good day"

  @req:DEP-007
  Scenario: The profile's deviceConstraints are copied into the deployment unchanged
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And its deviceConstraints are the compose profile's, unchanged

  @req:DEP-013
  Scenario: A device gets only the profile of its deployment type, with the components in description order
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And it holds only the profile of the device's type, with the components in description order

  @req:DEP-014 @req:AD-016
  Scenario: Device-targeted extensions of a profile and a component reach the deployment unchanged
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And the device-targeted extensions of the profile and its component are in it unchanged

  # Choice: the description carries an unknown root extension (x-conformance-wfm-extensions). The WFM
  # must import it without failing (the deployment appears) and must not forward it: neither its
  # key nor its distinctive values may appear anywhere in the deployment. Any extension the
  # deployment does carry must sit in its spec (DEP-015).
  @req:AD-015 @req:DEP-015
  Scenario: WFM-targeted root extensions are ignored and not forwarded to the device
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And the description's root extensions are nowhere in it, and any extension it carries is in its spec

  # Choice: the WFM may refuse the operator's request or accept it and deploy nothing; either way
  # the invalid value must never reach the device.
  @req:AD-014
  Scenario Outline: A user value the description's schema refuses never reaches the device
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha" with "<parameter>" set to <value>
    Then client "alpha" is served no deployment of the package

    Examples:
      | parameter    | value                                |
      | greetingText | "a greeting longer than twenty signs" |
      | greetingText | "Capitalised"                        |
      | greetingText | ""                                   |
      | listenPort   | 80                                   |
      | listenPort   | "8080"                               |

  # Choice: "after installation" is after the device reported the deployment installed. The operator
  # then asks for another value of the immutable setting: the WFM may refuse, or keep the value; no
  # deployment of the application may carry a different one.
  @req:AD-013
  Scenario: A value flagged immutable does not change after installation
    Given the app vendor has published the application package
    And the operator has deployed the package to device "edge" of client "alpha" with "siteCode" set to "SITE-AAAA"
    And client "alpha" has reported status "installed" for the package's deployment
    When the operator changes "siteCode" of the package's deployment to "SITE-BBBB"
    Then every deployment client "alpha" is served for the package still has "siteCode" set to "SITE-AAAA"

  # Choice: only the ApplicationDescription still carries apiVersion (open question 27); "v1" is the
  # one rc.3 defines, so a description saying "v99" must be rejected and never become a deployment.
  @req:VER-001
  Scenario: A description with an apiVersion the WFM does not know is rejected
    Given the app vendor has published the application package with apiVersion "v99"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  # Choice: REG-001 does not oblige a WFM to list tags when the operator names one; it is judged on
  # the manifest fetched by tag and margo.yaml fetched as a blob by digest, all under /v2/. REG-008
  # on the Accept header of the manifest request and on answering the registry's Bearer challenge.
  @req:REG-001 @req:REG-008
  Scenario: The WFM pulls the package with the OCI distribution API
    Given the app vendor has published the application package
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
    And the WFM pulled the package through the OCI distribution API

  # Choice: the relay serves a complete, valid archive that is simply not the one the digest names,
  # so only a digest check (after pull, before extraction) can catch it.
  @profile:compose @req:CMP-010
  Scenario: A component whose bytes do not match their digest is not deployed
    Given the app vendor has published the application package
    And the registry serves other bytes than its digest names for component "zeta-service"
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

  @profile:compose @req:CMP-009
  Scenario Outline: A component archive that breaks the archive constraints is not deployed
    Given the app vendor has published the application package with a component archive holding <defect>
    When the operator deploys the package to device "edge" of client "alpha"
    Then client "alpha" is served no deployment of the package

    Examples:
      | defect                                   |
      | a member path with ../                   |
      | an absolute member path                  |
      | a symlink pointing outside its directory |
      | two top-level directories                |

  @profile:compose @req:CMP-005
  Scenario: A component archive's top-level directory may have any name
    Given the app vendor has published the application package with a component archive whose top-level directory is "Release Build (v2).final"
    When the operator deploys the package to device "edge" of client "alpha"
    Then the WFM serves client "alpha" a new deployment of the package for device "edge"
