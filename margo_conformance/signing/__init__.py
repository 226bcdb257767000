"""Signed result bundles: a vendor's key signs a run's files so a reviewer can check them offline.

`keys` makes and loads ECDSA P-256 key pairs, `dsse` signs and verifies DSSE envelopes, `bundle`
packs a run folder with an in-toto Statement naming every file by sha256, and `verify` checks a
bundle and names exactly what was altered. Format: docs/evidence.md ("Signed bundles").
"""
