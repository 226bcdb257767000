"""The rules of the end-to-end sequence in the "secure package download" profile, as data.

Margo 1.0.0-rc.3 leaves private-registry credentials open (digest 6.9; margo/specification #15
and #145). The harness profile (docs/profiles/secure-package-download.md) defines the package
provider's rules (SPD-PP-*, `oci/profile.py`) and the secret provider's (SPD-SP-*,
`secrets/profile.py`); this module adds what the parties owe each other in the sequence the App
Package Definition working group drew: the cooperation (SPD-SEQ-*), the WFM's part (SPD-WFM-*) and
the WFM Client's part (SPD-CL-*). Scenarios under features/sequence/ cite them with `@rule:<id>`;
no catalogue requirement backs them, so they never count towards catalogue coverage.
"""

from __future__ import annotations

#: rule id -> one line, as the profile document states it.
RULES: dict[str, str] = {
    "SPD-SEQ-01": "The sequence runs end to end: a package and its Compose component published to the private "
                  "registry, the credential stored by the secret administrator, a deployment created by the deployer "
                  "that references it, and the device that resolves the reference, pulls and installs",
    "SPD-SEQ-02": "The deployer grants a device exactly the credentials its current deployments reference: a removed "
                  "deployment's credential is withdrawn, the others stay readable",
    "SPD-SEQ-03": "The credential the secret provider holds for a device opens exactly what it was issued for at the "
                  "registry: the device pulls the component with it, but neither another repository nor a push",
    "SPD-WFM-01": "The WFM accepts a deployment carrying registry credential references and serves it with the "
                  "references exactly as the deployer wrote them, so the device can follow them",
    "SPD-WFM-02": "The WFM never resolves a reference: no byte of the manifest, the deployment YAML or the bundle "
                  "(its members decoded) holds a credential value",
    "SPD-CL-01": "The client resolves a reference by logging in to the secret provider with its SVID and reading the "
                 "path the reference names; the credential it presents at the registry is the one stored there",
    "SPD-CL-02": "The client asks the token service only for what the pull needs (repository:<component>:pull) and "
                 "presents tokens scoped to that repository",
    "SPD-CL-03": "The client verifies the digests of what it pulls from the private registry: a component whose "
                 "bytes do not match is reported failed and never installed",
    "SPD-CL-04": "The client never sends a credential value or a registry token to the WFM: no request line, header "
                 "or body of any request to the WFM holds one",
    "SPD-CL-05": "When it cannot obtain or use the credential (not granted, revoked), the client reports the "
                 "deployment failed with an error that says so and holds no secret",
    "SPD-CL-06": "The client keeps the credential in its secret store only: its own output (logs) never holds a "
                 "credential value or token",
    "SPD-CL-07": "After a rotation the client reads the credential again: its next pull presents the new value",
}


def rule_text(rule: str) -> str:
    """The rule's text, for messages; KeyError for an unknown id (a typo in a step is a harness bug)."""
    return RULES[rule]
