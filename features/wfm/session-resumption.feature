@role:wfm @profile:core
Feature: A resumed TLS session never outlives the client's SVID
  TLS session resumption skips the certificate exchange: the server takes the client's identity
  from the session it saved. A WFM must not let that stretch an authentication past the limits
  that bind a full handshake, of which the hardest is the SVID's expiry. The harness mints an
  SVID for an accepted client that expires a few seconds later, opens a session with it, waits
  until it has expired and then offers that session again.

  # Choice: "those limits" (TLS-005) are read as TLS-004's, of which only SVID expiry is a MUST-level
  # bound the harness can provoke. The WFM may decline to resume (the full handshake then refuses
  # the expired SVID) or resume and answer 403; serving the request either way is a failure. A WFM
  # that issues no session tickets passes, since nothing can be resumed.
  @req:TLS-005
  Scenario: A session resumed after the client's SVID expired is not served
    Given client "alpha" holds an SVID that expires in 2 seconds
    When that client requests the desired state on a new TLS session
    And that SVID has expired
    And that client resumes the TLS session to request the desired state again
    Then the WFM does not serve the resumed request
