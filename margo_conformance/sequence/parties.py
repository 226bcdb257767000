"""The parties of a sequence scenario: the one role it judges, and the others it only needs.

A sequence scenario judges exactly one role (`@role:`); every other party (`@party:` tags) is
whatever the run configured for it, started by the runner. Honest verdicts need one rule here: a
party that does not play its part is trouble in the scenario's environment (verdict error, naming
the party and what it did), never a failure of the role under test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..errors import HarnessError

PROFILE = "secure-package-download"


@contextlib.contextmanager
def playing(party: str, judged: str, what: str) -> Iterator[None]:
    """Run a party's part of the sequence; its failure fails the scenario only if it is the judged role."""
    try:
        yield
    except AssertionError as exc:
        if party == judged:
            raise
        raise HarnessError(f"the {party} (a party in this scenario, not the role under test) did not play its "
                           f"part in {what}: {exc}") from None


def missing_profile(parties: dict[str, object]) -> str:
    """Why the scenario cannot run when a party does not play the profile, or "" when all do."""
    for role, target in sorted(parties.items()):
        features = getattr(target, "features", frozenset())
        if role in ("registry", "secret-provider") and PROFILE not in features:
            return (f"the {role} this run uses does not declare the optional profile '{PROFILE}' (run.features), "
                    "so the sequence has no private registry or secret provider to cooperate with")
    return ""
