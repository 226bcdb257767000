"""Plumbing shared by the bundled mocks: HTTP(S) serving and standalone-process helpers.

Plumbing only: no mock's correctness logic (schemas, digests, SPIFFE parsing, authorisation) lives
here, and nothing here imports from `margo_conformance.checks`.
"""
