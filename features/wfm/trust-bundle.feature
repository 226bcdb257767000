@role:wfm @profile:trust-bundle-api
Feature: Trust endpoints the WFM serves as Margo Identity Service
  A WFM that also plays the Margo Identity Service serves the discovery document at
  GET /.well-known/margo and its trust domain's SPIFFE bundle at the https URI that document names.
  Both are read-only HTTPS endpoints without application-layer authorisation. The harness reads them
  as client "alpha", authenticating the origin with the trust bundle it was given.

  # Choice: a discovery document served on the WFM's origin describes the WFM's own trust domain, the
  # one its SVID names. A 404 at the well-known path skips the scenario: serving it there is a SHOULD.
  @req:TB-003 @req:TB-001
  Scenario: The discovery document names the trust domain and an https bundle URI
    When client "alpha" requests the discovery document
    Then the discovery document names the WFM's trust domain and an https trustBundleUri

  # Choice: no catalogue requirement of its own judges what the bundle endpoint serves; [TBAPI] says the
  # response MUST conform to the SPIFFE bundle format. The harness judges it under TB-001 (the trust
  # endpoint): at least one x509-svid key with its certificate in x5c, one of them the trust domain's
  # authority the harness was given.
  @req:TB-001
  Scenario: The SPIFFE bundle holds the trust domain's X.509 authority
    Given client "alpha" has read the discovery document
    When client "alpha" fetches the trust bundle the discovery document names
    Then the SPIFFE bundle holds the trust domain's X.509 authority as an x509-svid key
