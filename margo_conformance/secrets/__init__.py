"""The harness's side of the secret provider in the "secure package download" profile.

Margo specifies no mechanism for registry credentials (digest §6.9, margo/specification #15 and
#145). This non-normative profile defines one on a Vault-compatible API so that real deployments
can use OpenBao or Vault; docs/profiles/secure-package-download.md is the contract. Here:
`profile` (names, policies, roles, rules), `client` (a thin Vault client over the harness's
transport, recording only redacted exchanges), `provision` (the profile's configuration written
through the API), `material` (per-run server TLS and impostor certificates), `openbao` (a real
OpenBao server started by the harness), `target` (what the steps talk to), `canary` and
`reference` (planted credential values; the reference a deployment carries instead of a value).
"""
