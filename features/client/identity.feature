@role:client @profile:core
Feature: The client talks only to its own WFM
  The client validates the WFM's X.509-SVID against its trust bundle and requires exactly the WFM
  SPIFFE ID derived from its own SVID (spiffe://<td>/margo/wfm/<wfm-id>) before sending anything.

  @req:IDN-007
  Scenario: The client refuses a WFM with another SPIFFE ID
    Given the harness's WFM presents the SVID "wfm-wrong-id"
    When the client under test starts with fresh state against it
    Then the client under test sends no HTTP request to that WFM
    And once the harness's WFM presents its own SVID the client under test reports its capabilities

  @req:IDN-011
  Scenario: The client refuses a WFM whose SVID comes from a CA outside its trust bundle
    Given the harness's WFM presents the SVID "wfm-foreign-ca"
    When the client under test starts with fresh state against it
    Then the client under test sends no HTTP request to that WFM
    And once the harness's WFM presents its own SVID the client under test reports its capabilities

  # Choice: a WFM that presents its leaf alone breaks IDN-010; a verifier that may not fetch by AIA
  # cannot build a path to its trust bundle and must refuse it, not complete the chain itself.
  @req:IDN-010
  Scenario: The client refuses a WFM that presents its leaf without intermediates
    Given the harness's WFM presents the SVID "wfm-leaf-only"
    When the client under test starts with fresh state against it
    Then the client under test sends no HTTP request to that WFM
    And once the harness's WFM presents its own SVID the client under test reports its capabilities
