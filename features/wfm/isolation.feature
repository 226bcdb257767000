@role:wfm @profile:core
Feature: One client never sees or changes another client's resources
  The caller is the SPIFFE ID of its certificate, never a path or body field. Device ids,
  deployments and bundles resolve only inside the caller's own scope: client "beta" can neither
  read nor change anything of client "alpha".

  Background:
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    And client "alpha" has fetched the desired state

  @req:SEC-007 @req:DS-002
  Scenario: A client's manifest never lists another client's deployments
    When client "beta" requests the desired state
    Then the response status is 200
    And the manifest does not list deployment "web"

  @req:SEC-007
  Scenario: A client cannot read another client's deployment by its digest
    When client "beta" fetches deployment "web" by the digest in client "alpha"'s manifest
    Then the WFM serves none of client "alpha"'s content

  @req:SEC-007
  Scenario: A client cannot read another client's bundle by its digest
    When client "beta" fetches the bundle named in client "alpha"'s manifest
    Then the WFM serves none of client "alpha"'s content

  @req:SEC-006 @req:SEC-007
  Scenario: A client cannot report status for another client's deployment
    When client "beta" reports status "failed" for deployment "web" of client "alpha"
    Then the WFM does not accept the report

  @req:SEC-008
  Scenario: The same device id from another client is a separate device
    Given client "alpha" has reported the capabilities of device "edge-1"
    When client "beta" reports the capabilities of device "edge-1"
    Then the response status is 201

  @req:SEC-007 @req:SEC-008
  Scenario: A client cannot remove another client's device
    Given client "alpha" has reported the capabilities of device "edge-1"
    When client "beta" removes device "edge-1"
    Then the response status is 404
    When client "alpha" reports changed capabilities of device "edge-1"
    Then the response status is 200
