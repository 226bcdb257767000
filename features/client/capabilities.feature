@role:client @profile:core
Feature: Device capabilities reported by the WFM Client
  After provisioning, the first thing a client does is report its device's capabilities with
  PUT /api/v1/capabilities/{deviceId}, and it reports again whenever they change. The harness plays
  the WFM, accepts every report, and judges what the client sent.

  @req:CAP-001 @req:SEC-002 @req:DEVR-002
  Scenario: The first exchange after provisioning is the capabilities report
    Given the client under test starts with fresh state
    Then the first request of the client under test is its capabilities report

  # Choice: properties.id must equal the deviceId of the request path; rc.3 defines both as the
  # device's id and never lets them differ.
  @req:CAP-004 @req:CAP-005 @req:CAP-006 @req:CAP-011
  Scenario: The capabilities report is a valid DeviceCapabilitiesManifest
    Given the client under test starts with fresh state
    Then the capabilities report is a valid DeviceCapabilitiesManifest for the device it names

  @req:CAP-007 @req:CAP-008 @req:DEVR-003
  Scenario: A hosting device reports its collector, runtimes and deployment types
    Given the client under test starts with fresh state
    Then the device reports an OpenTelemetry collector, a runtime and a deployment type

  @req:EXT-002
  Scenario: Extensions in the capabilities report are well-formed
    Given the client under test starts with fresh state
    Then every extension in the capabilities report is well-formed

  @req:CAP-002
  Scenario: Changed capabilities are reported again
    Given the client under test starts with fresh state
    When the device's label "example.org/zone" changes to "north"
    Then the client under test reports its capabilities again with label "example.org/zone" set to "north"
