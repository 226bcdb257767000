@role:wfm @profile:rsa
Feature: RSA client SVIDs at a WFM that supports them
  RSA is an optional X.509-SVID algorithm: keys of at least 3072 bits with SHA-256. A WFM that
  supports RSA accepts such a client SVID, and refuses a shorter key even from a client that its
  accepted-client policy names.

  @req:IDN-014
  Scenario: A client SVID with an RSA-3072 key is accepted
    Given client "rsa-3072" presents an RSA SVID of at least 3072 bits
    When client "rsa-3072" requests the desired state
    Then the response status is 200

  # Choice: "RSA keys of at least 3072 bits" is a rule on every SVID, so a verifier that supports RSA
  # refuses a shorter key, in the handshake or with 403. The RSA-2048 client's SPIFFE ID must be on the
  # accepted-client policy (the bundled PKI's accepted-clients.txt lists it), so the policy is not what refuses it.
  @req:IDN-014
  Scenario: A client SVID with an RSA-2048 key is refused
    When a caller presenting the "rsa-2048" certificate requests the desired state
    Then the WFM refuses the caller
