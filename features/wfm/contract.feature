@role:wfm @profile:core
Feature: The Management Interface contract a WFM serves
  The WFM implements the server side of the Management Interface: six operations, over HTTP/1.1 and
  mutual TLS, to every client its accepted-client policy admits. The pre-MIAF contract (onboarding,
  /api/v1/clients/{clientId}/...) was replaced by MIAF, and a removed contract version is not served.

  @req:SEC-001
  Scenario: An accepted client is served each of the six operations
    Given the operator has assigned deployment "web" for device "edge-1" to client "alpha"
    When client "alpha" reports the capabilities of device "edge-1"
    Then the response status is 201
    When client "alpha" requests the desired state
    Then the response is a valid state manifest
    When client "alpha" fetches deployment "web" by the digest in its manifest
    Then the response status is 200
    When client "alpha" fetches the bundle named in its manifest
    Then the response status is 200
    When client "alpha" reports status "installed" for deployment "web"
    Then the response status is 201
    When client "alpha" removes device "edge-1"
    Then the response status is 204

  # Choice: whether offering h2 through ALPN breaks the HTTP/1.1 rule is open (question 29); the harness
  # offers only http/1.1 and judges the protocol version of the answer's status line.
  @req:SEC-003
  Scenario: The WFM answers over HTTP/1.1
    When client "alpha" requests the desired state
    Then the response came over HTTP/1.1

  # Choice: a contract version that is no longer served answers 404 (or 410 Gone); rc.3 defines no other
  # answer for a path outside its contract. {client id} is the caller's client-id segment.
  @req:VER-002
  Scenario Outline: The superseded pre-MIAF API is not served
    When client "alpha" requests "<request>" of the pre-MIAF API
    Then the WFM does not serve it

    Examples:
      | request                                     |
      | GET /api/v1/onboarding/certificate          |
      | GET /api/v1/clients/{client id}/deployments |
