@role:client @profile:core
Feature: Installing workloads from the harness's registries
  The deployments the harness assigns name components in its own OCI registry, so every pull the
  client makes is seen: components come in the listed order, one after another, each within its
  timeout, pulled the OCI Distribution way, and only when the device is eligible.

  # Choice: "wait: true" (the default) is judged by what the registry sees: no pull of a component
  # starts before every pull of the previous one has finished.
  @req:DEP-012 @req:DEP-013
  Scenario: Components are pulled and installed one after another in the listed order
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with components "first, second, third"
    Then the client under test reports "installed" for deployment "web"
    And the components of "web" were pulled one after another in the listed order

  # Choice: the registry stalls for three times the component's timeout, so a client whose timer
  # fires late on a loaded machine still meets the stall; its failed report may take the harness's
  # wait bound (client.timeout, 5 s for the bundled mock).
  @req:DEP-011
  Scenario: A component that exceeds its timeout fails
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" whose component may take 0m1s but whose registry stalls for 3 seconds
    Then the client under test reports "failed" for deployment "web"
    And the client under test never reports "installed" for deployment "web"

  @req:REG-008
  Scenario: Components are pulled the OCI Distribution way
    Given the harness's registry requires a Bearer token for every pull
    And the client under test starts with fresh state
    And the harness's WFM assigns deployment "web"
    Then the client under test reports "installed" for deployment "web"
    And the client under test pulled the components of "web" the OCI Distribution way

  # Choice: rc.3 defines no status code or error for a device that is not eligible (open question
  # 24); the harness expects "failed" and no pull of the deployment's components.
  @req:DEP-008
  Scenario: A deployment the device is not eligible for is not installed
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with eligibility rules where fails
    Then the client under test does not install deployment "web" and pulls none of its components

  @req:ELG-006
  Scenario: One eligibility rule that holds is enough
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with eligibility rules where one of two rules holds
    Then the client under test reports "installed" for deployment "web"

  @req:ELG-007
  Scenario: A property selector key is a JSON Pointer into the reported properties
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with eligibility rules where a JSON Pointer holds
    Then the client under test reports "installed" for deployment "web"

  @req:ELG-008
  Scenario: An array of objects matches only through ContainsAny or ContainsAll
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with eligibility rules where In over an array of objects
    And the harness's WFM assigns deployment "db" with eligibility rules where ContainsAny over an array of objects
    Then the client under test does not install deployment "web" and pulls none of its components
    And the client under test reports "installed" for deployment "db"

  @req:ELG-009
  Scenario: String comparisons in eligibility rules are case-sensitive
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" with eligibility rules where the case differs
    Then the client under test does not install deployment "web" and pulls none of its components

  # Choice: the digest names HTTP_OTEL_EXPORTER_OTLP_ENDPOINT as the variable the device injects
  # (OBS-002); the probe sends one OTLP/HTTP export there and reports what it got back.
  @req:OBS-001 @req:OBS-002 @req:DEVR-003
  Scenario: Workloads get an OTLP endpoint with a collector behind it
    Given the client under test starts with fresh state
    And the harness's WFM assigns a probe deployment "probe" that reports its environment
    Then the probe saw an OTLP endpoint in its environment and a collector answering there

  @req:DEVR-004
  Scenario Outline: An app of each deployment type the device reports installs
    Given the client under test starts with fresh state
    And the harness's WFM assigns deployment "web" of type <type>
    Then the client under test reports "installed" for deployment "web"

    Examples:
      | type    |
      | compose |
      | helm    |
