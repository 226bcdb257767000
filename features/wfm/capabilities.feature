@role:wfm @profile:core
Feature: Device capabilities reported to the WFM
  A WFM Client's first exchange is its capabilities report: PUT /api/v1/capabilities/{deviceId}.
  The WFM creates the device record on the first report (201), updates it on later ones (200),
  forgets it on DELETE (204), and refuses malformed or invalid reports with a problem detail.

  @req:CAP-003
  Scenario: The first report of a device creates it
    When client "alpha" reports the capabilities of device "edge-1"
    Then the response status is 201

  @req:CAP-003
  Scenario: A later report of the same device updates it
    Given client "alpha" has reported the capabilities of device "edge-1"
    When client "alpha" reports changed capabilities of device "edge-1"
    Then the response status is 200

  @req:CAP-003
  Scenario: Removing a device answers 204 and forgets it
    Given client "alpha" has reported the capabilities of device "edge-1"
    When client "alpha" removes device "edge-1"
    Then the response status is 204
    When client "alpha" removes device "edge-1"
    Then the response status is 404

  @req:CAP-015 @req:ERR-003
  Scenario: Removing an unknown device answers device-not-found
    When client "alpha" removes device "never-reported"
    Then the response status is 404
    And the response is a problem of type "device-not-found"

  @req:CAP-015 @req:ERR-003
  Scenario: A report that is not JSON is refused as an invalid request
    When client "alpha" reports the capabilities of device "edge-1" with a body that is not JSON
    Then the response status is 400
    And the response is a problem of type "invalid-request"

  # Choice: the spec leaves the line between 400 (malformed) and 422 (semantic) open for a JSON
  # body that breaks the schema (open question 19): either is accepted, with the matching problem type.
  @req:CAP-005 @req:CAP-006 @req:CAP-011 @req:CAP-015
  Scenario Outline: A capabilities report that breaks the schema is refused
    When client "alpha" reports the capabilities of device "edge-1" <defect>
    Then the report is refused as invalid

    Examples:
      | defect                                   |
      | without properties                       |
      | without a vendor                         |
      | without a serial number                  |
      | with an unknown top-level key            |
      | with an unknown CPU architecture         |
      | with an empty list of supported runtimes |
      | with a label whose value is an object    |

  # Choice: rc.3's deviceId parameter pattern makes a path deviceId outside RFC 3986 unreserved a
  # malformed request: 400 invalid-request (CAP-015), not 404 or 422.
  @req:CAP-004 @req:CAP-015
  Scenario Outline: A deviceId with characters outside RFC 3986 unreserved is refused
    When client "alpha" reports the capabilities of a device named "<device>"
    Then the response status is 400
    And the response is a problem of type "invalid-request"

    Examples:
      | device | breaking character |
      | edge 1 | a space            |
      | edge@1 | an at sign         |
      | edge+1 | a plus sign        |

  # Choice: as for the other schema breaks, 400 invalid-request or 422 semantic-error (open question 19).
  @req:EXT-002 @req:CAP-005
  Scenario Outline: A capabilities report with a malformed extension is refused
    When client "alpha" reports the capabilities of device "edge-1" <defect>
    Then the report is refused as invalid

    Examples:
      | defect                                                    |
      | with an extension whose name has an uppercase letter      |
      | with an extension whose name lacks the -extensions suffix |
      | with an extension whose value is not an object            |

  @req:CAP-014 @req:EXT-001
  Scenario: Unknown extensions in a capabilities report are accepted
    When client "alpha" reports the capabilities of device "edge-1" with an unknown x-acme-extensions block
    Then the response status is 201

  @profile:gateways @req:GW-002 @req:CAP-015
  Scenario: A child device reported before its gateway is refused with gateway-not-found
    When client "alpha" reports the capabilities of device "gw-1/child-1"
    Then the response status is 404
    And the response is a problem of type "gateway-not-found"

  @profile:gateways @req:GW-002
  Scenario: A child device reported after its gateway is created
    Given client "alpha" has reported the capabilities of device "gw-1"
    When client "alpha" reports the capabilities of device "gw-1/child-1"
    Then the response status is 201
