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

  # Choice: SPIFFE ID path segments compare exactly, so an ID that differs from an accepted one only in
  # letter case is another ID, and not on the policy. Refusal in the handshake or with 403 both count.
  @req:IDN-004
  Scenario Outline: A client SVID that differs from an accepted one only in letter case is refused
    When a caller presenting the "<material>" certificate requests the desired state
    Then the WFM refuses the caller

    Examples:
      | material             |
      | wrong-case-wfm-id    |
      | wrong-case-client-id |

  @req:IDN-010
  Scenario: The WFM presents its intermediate certificates with its leaf
    Given the trust bundle holds only root certificates
    When client "alpha" requests the desired state
    Then the WFM's certificate chain validated against the trust bundle alone

  @req:IDN-013
  Scenario: A client SVID with an ECDSA P-256 key and a SHA-256 signature is accepted
    Given client "alpha" presents an ECDSA P-256 SVID signed with SHA-256
    When client "alpha" requests the desired state
    Then the response status is 200

  # Choice: no identity-forwarding proxy stands between the harness and the WFM's TLS endpoint (or, if
  # one does, it must strip the header), so the caller is the certificate of the handshake and a
  # Client-Cert header claiming another client's certificate changes nothing.
  @req:TLS-006 @req:SEC-006
  Scenario: A Client-Cert header naming another client does not change who the caller is
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "beta" sends a Client-Cert header with client "alpha"'s certificate while requesting the desired state
    Then the response status is 200
    And the manifest does not list deployment "web"
