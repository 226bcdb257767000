@role:client @profile:custom-runtime
Feature: Devices with a custom runtime
  A device that reports the custom runtime or deployment type must also report labels that
  applications can target (CAP-013).

  @req:CAP-013
  Scenario: A device reporting a custom runtime also reports labels
    Given the client under test starts reporting a custom runtime
    Then a device that reports the custom runtime also reports labels
