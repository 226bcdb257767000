@role:wfm @profile:core
Feature: Mutual TLS and identity at the WFM
  Every call to the Management Interface is mutually authenticated with X.509-SVIDs. The WFM
  identifies itself with its own SPIFFE ID, and admits only WFM Clients of its own trust domain
  and wfm-id that its accepted-client policy names. The harness plays the WFM Client.

  @req:IDN-005 @req:IDN-012 @req:TLS-001
  Scenario: The WFM identifies itself with its own X.509-SVID
    When client "alpha" requests the desired state
    Then the WFM presented an X.509-SVID with exactly the SPIFFE ID client "alpha" expects

  @req:TLS-002
  Scenario: The WFM negotiates TLS 1.3 by default
    When client "alpha" requests the desired state
    Then the connection used TLS 1.3

  @req:SEC-005 @req:TLS-001
  Scenario: A caller without a client certificate is refused
    When a caller without a client certificate requests the desired state
    Then the WFM refuses the caller

  @req:SEC-005 @req:IDN-011
  Scenario: A client certificate from a CA outside the trust bundle is refused
    When a caller presenting the "foreign-ca" certificate requests the desired state
    Then the WFM refuses the caller

  @req:IDN-011 @req:TLS-003
  Scenario: An expired client SVID is refused
    When a caller presenting the "expired" certificate requests the desired state
    Then the WFM refuses the caller

  @req:SEC-005 @req:IDN-012
  Scenario: A certificate without a SPIFFE ID is refused
    When a caller presenting the "no-spiffe-id" certificate requests the desired state
    Then the WFM refuses the caller

  @req:IDN-006
  Scenario: A client SVID issued for another WFM is refused
    When a caller presenting the "wrong-wfm-id" certificate requests the desired state
    Then the WFM refuses the caller

  @req:IDN-008 @req:SEC-010
  Scenario: A client missing from the accepted-client policy is refused
    When a caller presenting the "not-accepted" certificate requests the desired state
    Then the WFM refuses the caller

  @req:SEC-011
  Scenario: A policy denial is a 403 problem of type not-authorized
    When a caller presenting the "not-accepted" certificate requests the desired state
    Then the response status is 403
    And the response is a problem of type "not-authorized"
