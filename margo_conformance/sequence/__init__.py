"""The end-to-end sequence of the "secure package download" profile: the harness's plumbing for it.

The sequence (docs/profiles/secure-package-download.md, section "The sequence") makes every party
cooperate: package provider, secret provider, WFM, WFM Client. Scenarios under features/sequence/
judge one of them; the others are whatever the run configured (`@party:<role>` tags make the
runner start them). Here: `relay` (a recording TLS front of the private registry, so the harness
sees how a client under test pulls), `material` (what the sequence publishes and the deployment
that references the credential) and `parties` (reaching the other parties' targets; a party that
misbehaves is an error of the scenario, never a verdict on the role under test).
"""
