@role:client @profile:trust-bundle-api
Feature: Trust bundles fetched from the MIS
  A client that fetches its trust bundle authenticates the trust endpoint (here: an SPKI pin the
  operator provisioned), never trusts on first use, refuses a non-https bundle URI and a bundle
  without anchors, ignores unknown fields and non-x509-svid keys, replaces anchors on rotation,
  refreshes when spiffe_refresh_hint says, and trusts nothing while it has no bundle.

  # Choice: of the two ways TB-001 allows to authenticate the endpoint, the harness provisions an
  # SPKI pin (no DNS names on loopback); a key that does not match it must stop the client.
  @req:TB-001 @req:TB-002
  Scenario: A trust endpoint whose key does not match the pin is refused
    Given the client under test fetches its trust bundle from the harness's MIS
    And the harness's MIS presents a key that does not match the pin
    When the client under test starts with fresh state against it
    Then the client under test never reaches the WFM and keeps trying its MIS
    And once the harness's MIS serves its bundle normally the client under test reports its capabilities

  @req:TB-006
  Scenario: A trustBundleUri that is not https is refused
    Given the client under test fetches its trust bundle from the harness's MIS
    And the harness's MIS names an http:// trustBundleUri
    When the client under test starts with fresh state against it
    Then the client under test never reaches the WFM and keeps trying its MIS
    And once the harness's MIS serves its bundle normally the client under test reports its capabilities

  @req:TB-012
  Scenario: Without a bundle nothing is trusted, and the fetch is retried
    Given the client under test fetches its trust bundle from the harness's MIS
    And the harness's MIS answers 404 for the bundle
    When the client under test starts with fresh state against it
    Then the client under test never reaches the WFM and keeps trying its MIS
    And once the harness's MIS serves its bundle normally the client under test reports its capabilities

  @req:TB-004 @req:TB-010
  Scenario: Unknown fields and non-x509-svid keys are ignored
    Given the client under test fetches its trust bundle from the harness's MIS
    And the harness's MIS adds unknown fields and a JWT-SVID key
    When the client under test starts with fresh state against it
    Then the client under test accepts that bundle and reports its capabilities
    And the client under test polls the desired state at least 2 times

  # Choice: the refresh is judged against the hint (1 s) from the moment the previous bundle left
  # the harness, with a tolerance for a loaded machine: no later than the hint plus
  # the harness's wait bound (client.timeout, 5 s for the bundled mock), far below the
  # hour HTTP caching asks for. The refresh is the first fetch answered with the changed bundle.
  @req:TB-007 @req:TB-008
  Scenario: A bundle without anchors is refused and the current one kept
    Given the client under test fetches its trust bundle from the harness's MIS
    And the harness's MIS asks for a refresh every second under long HTTP caching
    And the client under test starts with fresh state
    When the harness's MIS starts serving a bundle without X.509 anchors
    Then the client under test fetches the bundle again when the hint says, not when HTTP caching says
    And the client under test keeps talking to the WFM with the bundle it had

  # Choice: the refresh is judged against the hint (1 s) from the moment the previous bundle left
  # the harness, with a tolerance for a loaded machine: no later than the hint plus
  # the harness's wait bound (client.timeout, 5 s for the bundled mock), far below the
  # hour HTTP caching asks for. Old anchors are judged refused by order, not by a clock: of the
  # connections accepted after the new bundle left, one must end without a request; up to three
  # served ones are allowed for polls in flight during the refresh.
  @req:TB-008 @req:TB-009
  Scenario: A rotated bundle replaces the old anchors at the refresh the hint asks for
    Given the client under test fetches its trust bundle from the harness's MIS
    And the harness's MIS asks for a refresh every second under long HTTP caching
    And the client under test starts with fresh state
    When the harness's MIS rotates the bundle to a new anchor
    Then the client under test fetches the bundle again when the hint says, not when HTTP caching says
    And the client under test refuses the WFM's SVID from the replaced anchor
    And the client under test accepts the WFM's SVID from the new anchor
