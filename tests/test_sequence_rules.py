"""The profile's rules are honest data: defined once, documented word for word, cited by scenarios.

The catalogue holds Margo requirements only, so profile rules (SPD-PP-*, SPD-SP-*, SPD-SEQ-*,
SPD-WFM-*, SPD-CL-*) are not counted by the coverage figure; this test is their coverage: every
rule is judged by at least one scenario and every `@rule:` tag names a rule that exists. It also
pins the sequence features' tag contract: one judged role, parties that are other roles the
runner can start, and the runner starting them.
"""

from __future__ import annotations

import re
from pathlib import Path

from margo_conformance.checks.sequence_rules import RULES as SEQUENCE_RULES
from margo_conformance.features_index import index_features
from margo_conformance.oci.profile import RULES as PACKAGE_PROVIDER_RULES
from margo_conformance.runner import PARTY_TAG, _selected_roles
from margo_conformance.secrets.profile import RULES as SECRET_PROVIDER_RULES
from margo_conformance.selection import Selection
from margo_conformance.targets import PROVIDERS

ROOT = Path(__file__).resolve().parent.parent
PROFILE_DOC = ROOT / "docs" / "profiles" / "secure-package-download.md"
ALL_RULES = {**PACKAGE_PROVIDER_RULES, **SECRET_PROVIDER_RULES, **SEQUENCE_RULES}


def _scenarios():
    return index_features(ROOT / "features")


def _cited() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for scenario in _scenarios():
        for tag in scenario.tags:
            if tag.startswith("rule:"):
                cited.setdefault(tag[5:], []).append(scenario.id)
    return cited


def test_every_rule_tag_names_a_defined_rule():
    assert sorted(set(_cited()) - set(ALL_RULES)) == []


#: Rules no scenario tags, with the reason they are judged anyway.
IMPLICIT = {
    "SPD-SP-01": "the secret-provider steps cite it whenever the Vault-compatible API itself does not work "
                 "(creating a user token, a certificate role), in every scenario that talks to the provider",
}


def test_every_profile_rule_is_judged_by_a_scenario():
    assert sorted(set(ALL_RULES) - set(_cited())) == sorted(IMPLICIT)


def test_the_profile_document_states_each_sequence_rule_word_for_word():
    text = PROFILE_DOC.read_text()
    rows = dict(re.findall(r"^\| (SPD-(?:SEQ|WFM|CL)-\d\d) \| (.+) \|$", text, re.MULTILINE))
    assert rows == SEQUENCE_RULES


def test_a_sequence_scenario_judges_one_role_with_parties_the_runner_starts():
    sequence = [s for s in _scenarios() if s.feature_file.startswith("sequence/")]
    assert {s.role for s in sequence} == {"wfm", "client", "registry", "secret-provider"}
    for scenario in sequence:
        assert [t for t in scenario.tags if t.startswith("role:")] == [f"role:{scenario.role}"]
        assert scenario.profile == "secure-package-download"
        parties = {t[len(PARTY_TAG):] for t in scenario.tags if t.startswith(PARTY_TAG)}
        assert parties and scenario.role not in parties, scenario.id
        assert parties <= set(PROVIDERS), scenario.id
        assert any(t.startswith("rule:SPD-") for t in scenario.tags), scenario.id


def test_selecting_one_role_starts_the_parties_its_sequence_scenarios_need():
    index = _scenarios()
    assert _selected_roles(Selection(roles=frozenset({"client"})), index) == ["client", "registry",
                                                                               "secret-provider"]
    # The WFM's application-import scenarios pull from the registry; without them nothing else starts.
    assert _selected_roles(Selection(roles=frozenset({"wfm"}), expression="not profile:secure-package-download"),
                           index) == ["registry", "wfm"]
    assert _selected_roles(Selection(roles=frozenset({"wfm"}), expression="not party:registry"), index) == ["wfm"]
