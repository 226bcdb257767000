@role:client @profile:core
Feature: Reconciling deployments and reporting their status
  A new manifest is reconciled: listed deployments are installed (their components pulled from the
  registry the deployment names), deployments that left the manifest are removed, and every state
  change is reported with POST /api/v1/deployments/{deploymentId}/status.

  # Choice: a sensible order is installing before the first installed, and removing before removed
  # (DS-030 asks for a report at every state change; installing is one).
  @req:DS-029 @req:DS-030 @req:STS-001 @req:STS-011
  Scenario: A new deployment is installed and reported
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with components "app, db"
    Then the client under test reports "installing" for deployment "web"
    And the client under test reports "installed" for deployment "web"
    And deployment "web" is installed only after its components were pulled
    And the reports for "web" name the manifestVersion that listed it as adopted

  # Choice: precedence for the overall state is failed > removing > installing > pending >
  # installed > removed (open question 6: the spec's list repeats removing and omits removed).
  @req:STS-002 @req:STS-004 @req:STS-005 @req:STS-006
  Scenario: Status reports are valid, complete and in a sensible order
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with components "app, db"
    And the client under test has installed deployment "web"
    When the harness's WFM removes deployment "web"
    Then the client under test reports "removed" for deployment "web"
    And every status report for "web" is valid, complete and in a sensible order

  # Choice: removing and removed belong to the manifest that no longer lists the deployment, so
  # they carry its manifestVersion as adoptedManifestVersion (open question 13).
  @req:DS-029 @req:DS-030 @req:STS-011
  Scenario: A deployment that leaves the manifest is removed
    Given the client under test starts with fresh state
    And the client under test has installed deployment "web"
    When the harness's WFM removes deployment "web"
    Then the client under test reports the removal of deployment "web" as removing, then removed
    And the removal reports for "web" name the manifestVersion without it as adopted
    And the device no longer runs deployment "web"

  @req:DEP-016 @req:EXT-001
  Scenario: Unknown extensions in a deployment do not stop its installation
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with unknown extensions
    Then the client under test reports "installed" for deployment "web"

  @req:DEP-006
  Scenario: A parameter that targets no component is ignored
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with a parameter that targets no component
    Then the client under test reports "installed" for deployment "web"

  # Choice: the names of the YAML files inside the bundle are not specified (open question 12); a
  # client must recognise them by their digests, so the harness names them deployment-<n>.yaml.
  @req:DS-029
  Scenario: Bundle members are recognised by their digests, whatever their names
    Given the client under test starts downloading the bundle
    And the harness's WFM assigns deployments "web" and "db" in one bundle with opaque file names
    Then the client under test reports "installed" for deployment "web"
    And the client under test reports "installed" for deployment "db"

  @req:DS-024 @req:DS-029
  Scenario Outline: A deployment is installed whichever way the client downloads it
    Given the client under test starts downloading <download>
    And the harness's WFM assigns deployment "web"
    Then the client under test reports "installed" for deployment "web"
    And the client under test downloaded <download>

    Examples:
      | download          |
      | deployment YAMLs  |
      | the bundle        |
