"""Named faults of the bundled package provider (OCI registry plus its token service).

Each fault breaks exactly one rule and leaves everything else correct, so the fault table can
prove that some scenario notices. Rules are Margo's ([REG], CMP-*) or, for access control, those
of the non-normative secure-package-download profile (SPD-PP-*, docs/profiles/secure-package-download.md).
The code that honours a fault sits where the behaviour changes (grep for the fault's name).
"""

from __future__ import annotations

from collections.abc import Iterable

#: fault name -> one line: what the provider does wrong and which rule that breaks.
FAULTS: dict[str, str] = {
    # content (Margo [REG])
    "wrong-blob-digest": "serves every blob with its last byte flipped, under the digest it was pushed with (REG-002)",
    "manifest-media-type-rewritten": "serves manifests as application/vnd.docker.distribution.manifest.v2+json "
    "(REG-002)",
    "artifact-type-dropped": "re-serialises manifests without artifactType, as a registry predating OCI 1.1 does "
    "(REG-004, CMP-002)",
    "layer-annotations-dropped": "re-serialises manifests without layer annotations (REG-007, CMP-003)",
    "tag-moves-to-latest": "a manifest pushed by tag becomes the target of every tag of the repository (REG-003)",
    "tags-list-latest-only": "the tags list names only the most recently pushed tag (REG-006)",
    "chunked-upload-keeps-last-chunk": "a chunked upload keeps only its last PATCH, so the final digest check "
    "refuses it (REG-002)",
    # access control (secure-package-download profile)
    "anonymous-pull": "serves pulls (tags, manifests, blobs) without a token (SPD-PP-01)",
    "no-challenge": "answers 401 without a WWW-Authenticate header (SPD-PP-02)",
    "challenge-wrong-scope": 'challenges with scope="registry:catalog:*" instead of the repository and actions '
    "(SPD-PP-02)",
    "token-over-grants": "the token service grants every requested repository and action to any valid credential "
    "(SPD-PP-03, SPD-PP-05)",
    "ignore-token-repository": "the registry checks a token's actions but not the repository they are for "
    "(SPD-PP-04)",
    "pull-token-can-push": "the registry lets any token for a repository push to it (SPD-PP-05)",
    "forged-token-accepted": "the registry does not verify token signatures (SPD-PP-06)",
    "expired-token-accepted": "the registry does not check token expiry (SPD-PP-07)",
    "token-echoed-in-errors": "the registry's 401 message quotes the token it refused (SPD-PP-10)",
    "revoked-credential-accepted": "the token service still issues tokens for revoked credentials (SPD-PP-08)",
    "old-secret-after-rotation": "after a rotation the token service accepts the old secret too (SPD-PP-09)",
}


def check_faults(names: Iterable[str]) -> frozenset[str]:
    """The fault names as a frozenset; an unknown name is a configuration error, never a no-op."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys())
    if unknown:
        raise ValueError(
            f"unknown mock registry fault(s): {', '.join(unknown)}; valid names: {', '.join(sorted(FAULTS))}"
        )
    return chosen
