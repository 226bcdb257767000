@role:client @profile:core
Feature: manifestVersion only goes up
  The client persists the manifestVersion it adopted and rejects any manifest whose version is not
  strictly greater, as a security event (DS-027).

  @req:DS-027
  Scenario Outline: A manifest whose manifestVersion does not go up is rejected
    Given the client under test starts with fresh state
    And the client under test has installed deployment "web"
    When the harness's WFM publishes a manifest with a <relation> manifestVersion that removes "web" and adds "db"
    Then the client under test neither removes "web" nor installs "db"

    Examples:
      | relation |
      | lower    |
      | equal    |
