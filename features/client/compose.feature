@role:client @profile:compose
Feature: Compose archives on the device
  A Compose component is one tar+gzip layer with one top-level directory holding compose.yaml. The
  device verifies the layer's digest after the pull, checks the archive before extracting anything,
  does not rely on the directory's name, and a container that exits at start fails the deployment.

  @req:CMP-005
  Scenario: The top-level directory's name carries no meaning
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" whose Compose archive's top directory is named "zz-any-name-42"
    Then the client under test reports "installed" for deployment "web"

  @req:CMP-009
  Scenario Outline: An unsafe Compose archive is refused before anything runs
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" whose Compose archive holds <unsafe>
    Then the client under test reports "failed" for deployment "web" and runs none of its images

    Examples:
      | unsafe                            |
      | a path that climbs out with ..    |
      | an absolute path                  |
      | a link that escapes the directory |

  @req:CMP-010
  Scenario: A Compose archive whose bytes do not match its digest is refused
    Given the client under test starts with fresh state
    And the harness's registry serves the Compose archive of "web" with bytes that do not match its digest
    Then the client under test reports "failed" for deployment "web" and runs none of its images

  @req:CMP-012
  Scenario: A container that exits with an error at start fails the deployment
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" whose container exits with code 3 at start
    Then the client under test reports "failed" for deployment "web"
