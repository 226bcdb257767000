"""The requirement catalogue, the feature index and the coverage arithmetic.

The catalogue drives the coverage figure reviewers read, so these tests pin its completeness
against the digest, its validation messages, and the counting rules on tiny synthetic inputs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from margo_conformance import spec
from margo_conformance.catalogue import ROLES, load_catalogue
from margo_conformance.catalogue.coverage import ALL, coverage, format_catalogue, format_coverage
from margo_conformance.errors import ConfigError
from margo_conformance.features_index import IndexedScenario, index_features, slugify

DIGEST = Path("/work/shared/docs/margo-spec.md")


# --- the real catalogue -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def digest_ids(text: str) -> list[str]:
    """Requirement ids listed in section 7 of the digest, one bullet each."""
    section = text.split("\n## 7.", 1)[1].split("\n## 8.", 1)[0]
    return re.findall(r"^\* ([A-Z]+-\d{3}) ", section, flags=re.MULTILINE)


def test_catalogue_has_every_requirement_of_the_digest(catalogue):
    if not DIGEST.exists():
        pytest.skip(f"{DIGEST} is not available")
    expected = digest_ids(DIGEST.read_text(encoding="utf-8"))
    assert len(catalogue) == len(expected)
    assert [req.id for req in catalogue] == expected


def test_catalogue_names_the_spec_revision_the_harness_targets(catalogue):
    assert catalogue.spec.version == spec.SPEC_VERSION
    assert catalogue.spec.commit == spec.SPEC_COMMIT
    assert catalogue.spec.repository == spec.SPEC_REPOSITORY
    assert catalogue.spec.branch == spec.SPEC_BRANCH
    assert catalogue.sources["API"] == spec.SPEC_OPENAPI_PATH


def test_catalogue_invariants(catalogue):
    for req in catalogue:
        assert set(req.source_keys) <= set(catalogue.sources), req.id
        assert set(req.wire_roles) <= set(req.roles), req.id
        assert req.why or (req.is_wire and req.wire_roles == req.roles), req.id
        assert req.wire_roles or not req.is_wire, req.id
        assert "\n" not in req.text, req.id


def test_catalogue_lookup_and_profiles(catalogue):
    first = catalogue.requirements[0]
    assert catalogue.get(first.id) is first
    assert catalogue.get("NOPE-001") is None
    assert first.id in catalogue
    assert catalogue.profiles()[0] == "core"
    assert {"gateways", "trust-bundle-api", "eligibility"} <= set(catalogue.profiles())


def test_product_roles_match_the_harness_roles():
    assert ROLES[:5] == spec.ROLES


# --- validation -------------------------------------------------------------------------------


def entry(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "DS-001",
        "text": "The client polls",
        "level": "MUST",
        "roles": ["client"],
        "area": "desired-state",
        "profile": "core",
        "source": "[DS]",
        "testing": "wire",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "spec": {
            "name": "Margo",
            "version": "1.0.0-rc.3",
            "repository": "margo/specification",
            "branch": "pre-draft",
            "commit": "5c690f364f9ec47f4c5e7ebc492c21995eb4bae7",
        },
        "sources": {"DS": "desired-state.md", "API": "api.yaml"},
        "requirements": list(entries) or [entry()],
    }


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_valid_small_catalogue_loads(tmp_path):
    path = write(tmp_path, document(entry(), entry(id="DS-002", source="[DS][API]", note="fine")))
    loaded = load_catalogue(path)
    assert [req.id for req in loaded] == ["DS-001", "DS-002"]
    assert loaded.get("DS-002").source_keys == ("DS", "API")
    assert loaded.get("DS-001").wire_roles == ("client",)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([entry(colour="red")], "requirement DS-001: unknown field 'colour'"),
        ([entry(level=None)], "requirement DS-001: missing field 'level'"),
        ([entry(level="MUSTN'T")], "requirement DS-001: field 'level'"),
        ([entry(roles=["wfm", "woa"])], "requirement DS-001: field 'roles'"),
        ([entry(roles=[])], "requirement DS-001: field 'roles'"),
        ([entry(area="plumbing")], "requirement DS-001: field 'area'"),
        ([entry(profile="turbo")], "requirement DS-001: field 'profile'"),
        ([entry(testing="maybe")], "requirement DS-001: field 'testing'"),
        ([entry(), entry()], "requirement DS-001: field 'id': duplicate"),
        ([entry(id="ds-1")], "requirement ds-1: field 'id'"),
        ([entry(testing="not-wire")], "requirement DS-001: field 'why'"),
        ([entry(roles=["wfm", "client"], wire_roles=["client"])], "requirement DS-001: field 'why'"),
        ([entry(wire_roles=["wfm"], why="x")], "requirement DS-001: field 'wire_roles'"),
        ([entry(testing="not-wire", why="x", wire_roles=["client"])], "requirement DS-001: field 'wire_roles'"),
        ([entry(source="[XYZ]")], "requirement DS-001: field 'source'"),
        ([entry(source="DS")], "requirement DS-001: field 'source'"),
        ([entry(text="two\nlines")], "requirement DS-001: field 'text'"),
        ([entry(id=None)], "requirements[0]: missing field 'id'"),
    ],
)
def test_validation_errors_name_the_file_requirement_and_field(tmp_path, entries, expected):
    path = write(tmp_path, document(*entries))
    with pytest.raises(ConfigError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda doc: doc.update(extra=1), "top level: unknown field 'extra'"),
        (lambda doc: doc.pop("sources"), "top level: missing field 'sources'"),
        (lambda doc: doc["spec"].pop("commit"), "spec: missing field 'commit'"),
        (lambda doc: doc["spec"].update(date="x"), "spec: unknown field 'date'"),
        (lambda doc: doc["sources"].update({"[DS]": "x"}), "sources: key '[DS]'"),
        (lambda doc: doc.update(requirements=[]), "requirements: expected a non-empty list"),
    ],
)
def test_structural_errors_name_the_file_and_section(tmp_path, mutate, expected):
    data = document()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError, match=re.escape(expected)) as caught:
        load_catalogue(path)
    assert str(caught.value).startswith(str(path))


def test_broken_yaml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "spec:\n  name: [unclosed\nsources: {}\n")
    with pytest.raises(ConfigError, match=r"catalogue\.yaml: line \d+ not valid YAML"):
        load_catalogue(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "absent.yaml")


# --- feature index ----------------------------------------------------------------------------

FEATURE = """\
@role:wfm @profile:core
Feature: Desired state served by the WFM

  Background:
    Given a client

  # Choice: first choice, which runs
  #   over two lines.
  # Choice: second choice.
  @req:DS-007 @req:DS-006
  Scenario: The manifest ETag is a strong validator!
    Then it holds

  # A plain comment, not a choice.
  @profile:revalidation @req:DS-036
  Scenario Outline: Content answers <code> to If-None-Match
    Then the status is <code>

    Examples:
      | code |
      | 304  |
      | 200  |

  @profile:gateways
  Rule: Children
    @req:GW-002
    Scenario: A child before its parent is refused
      Then it is refused
"""


def write_feature(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_index_reads_ids_tags_profiles_and_choices(tmp_path):
    write_feature(tmp_path, "wfm/desired-state.feature", FEATURE)
    first, outline, child = index_features(tmp_path)

    assert first.id == "wfm/desired-state:the-manifest-etag-is-a-strong-validator"
    assert first.feature == "Desired state served by the WFM"
    assert first.feature_file == "wfm/desired-state.feature"
    assert (first.role, first.profile, first.line) == ("wfm", "core", 11)
    assert first.requirements == ("DS-007", "DS-006")
    assert first.tags == ("role:wfm", "profile:core", "req:DS-007", "req:DS-006")
    assert first.choices == ("first choice, which runs over two lines.", "second choice.")

    assert outline.id == "wfm/desired-state:content-answers-code-to-if-none-match"
    assert (outline.profile, outline.requirements, outline.choices) == ("revalidation", ("DS-036",), ())

    assert child.profile == "gateways"
    assert child.role == "wfm"
    assert child.requirements == ("GW-002",)


def test_index_orders_files_by_path_and_defaults_profile_to_core(tmp_path):
    write_feature(tmp_path, "wfm/b.feature", "@role:wfm\nFeature: B\n  Scenario: One\n    Given x\n")
    write_feature(tmp_path, "client/a.feature", "Feature: A\n  Scenario: Two\n    Given x\n")
    scenarios = index_features(tmp_path)
    assert [s.id for s in scenarios] == ["client/a:two", "wfm/b:one"]
    assert (scenarios[0].role, scenarios[0].profile) == (None, "core")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Feature: X\n  Scenario: A\n    Given x\n  @tag\n", r"^bad\.feature:5: Gherkin parse error"),
        ("Scenario: no feature\n", r"^bad\.feature:1: Gherkin parse error"),
        ("@role:woa\nFeature: X\n  Scenario: A\n    Given x\n", r"^bad\.feature:3: tag @role:woa"),
        ("Feature: X\n  @profile:turbo\n  Scenario: A\n    Given x\n", r"^bad\.feature:3: tag @profile:turbo"),
        ("Feature: X\n  Scenario: A b\n    Given x\n  Scenario: A-B\n    Given y\n", r"^bad\.feature:4: .*a-b"),
    ],
)
def test_index_errors_name_the_file_and_line(tmp_path, text, expected):
    write_feature(tmp_path, "bad.feature", text)
    with pytest.raises(ConfigError, match=expected):
        index_features(tmp_path)


def test_index_of_the_packaged_features_parses():
    scenarios = index_features()
    assert all(s.id.count(":") == 1 for s in scenarios)
    assert len({s.id for s in scenarios}) == len(scenarios)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("The manifest ETag is a strong validator", "the-manifest-etag-is-a-strong-validator"),
        ("  304 -- on If-None-Match!  ", "304-on-if-none-match"),
        ("Résumé <param>", "r-sum-param"),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


# --- coverage ---------------------------------------------------------------------------------


def scenario(sid: str, role: str | None, *reqs: str) -> IndexedScenario:
    return IndexedScenario(
        id=sid,
        feature="F",
        feature_file=f"{sid.split(':')[0]}.feature",
        name=sid,
        role=role,
        profile="core",
        requirements=reqs,
        tags=(),
        choices=(),
        line=1,
    )


@pytest.fixture
def tiny(tmp_path):
    return load_catalogue(
        write(
            tmp_path,
            document(
                entry(id="DS-001", roles=["wfm"]),
                entry(id="DS-002", roles=["wfm", "client"], level="SHOULD"),
                entry(id="DS-003", roles=["wfm", "client"], wire_roles=["client"], why="wfm side internal"),
                entry(id="DS-004", roles=["operator"], testing="not-wire", why="practice"),
                entry(id="DS-005", roles=["app-vendor"], area="application"),
            ),
        )
    )


def test_coverage_counts_per_role_area_and_level(tiny):
    scenarios = [
        scenario("wfm/a:one", "wfm", "DS-001", "DS-002"),
        scenario("client/a:two", "client", "DS-003", "DS-999"),
        scenario("registry/a:three", "registry", "DS-005", "DS-004"),
        scenario("client/a:four", "client", "DS-001"),
    ]
    cov = coverage(tiny, scenarios)

    wfm = cov.by_role["wfm"]
    assert (wfm[ALL].total, wfm[ALL].wire, wfm[ALL].covered) == (3, 2, 2)
    assert (wfm["MUST"].total, wfm["MUST"].wire, wfm["MUST"].covered) == (2, 1, 1)
    assert wfm["SHOULD"].percent == 100.0

    client = cov.by_role["client"]
    assert (client[ALL].total, client[ALL].wire, client[ALL].covered) == (2, 2, 1)
    assert client[ALL].percent == 50.0

    assert (cov.by_role["operator"][ALL].wire, cov.by_role["operator"][ALL].percent) == (0, None)
    assert cov.by_role["app-vendor"][ALL].covered == 1
    assert cov.by_role["secret-store"][ALL].total == 0

    assert (cov.by_area["desired-state"][ALL].total, cov.by_area["desired-state"][ALL].covered) == (4, 3)
    assert cov.by_area["application"][ALL].covered == 1
    assert (cov.by_level[ALL].total, cov.by_level[ALL].wire, cov.by_level[ALL].covered) == (5, 4, 4)

    assert cov.scenarios["DS-001"] == ("wfm/a:one", "client/a:four")
    assert cov.scenarios["DS-002"] == ("wfm/a:one",)
    assert cov.unknown == {"DS-999": ("client/a:two",)}
    assert cov.not_wire_cited == {"DS-004": ("registry/a:three",)}
    assert cov.role_mismatches == (("client/a:four", "DS-001"),)


def test_a_scenario_citing_an_id_twice_counts_once(tiny):
    cov = coverage(tiny, [scenario("wfm/a:one", "wfm", "DS-001", "DS-001")])
    assert cov.scenarios["DS-001"] == ("wfm/a:one",)


def test_format_coverage_is_a_plain_table(tiny):
    text = format_coverage(coverage(tiny, [scenario("wfm/a:one", "wfm", "DS-001", "DS-777")]))
    lines = text.splitlines()
    assert "role/area" in text and "wire-testable" in text and "with scenarios" in text
    assert any(re.fullmatch(r"wfm\s+MUST\s+2\s+1\s+1\s+100\.0", line) for line in lines)
    assert any(re.fullmatch(r"operator\s+all\s+1\s+0\s+0\s+-", line) for line in lines)
    assert any(re.fullmatch(r"secret-store\s+all\s+0\s+0\s+0\s+-", line) for line in lines)
    assert "DEFECT" in text and "DS-777: wfm/a:one" in text


def test_format_catalogue_lists_every_requirement(tiny):
    text = format_catalogue(tiny, [scenario("wfm/a:one", "wfm", "DS-001")])
    lines = text.splitlines()
    assert lines[0].endswith("5 requirements")
    assert re.match(r"DS-001\s+MUST\s+wfm\s+core\s+wire\s+1 scenario$", lines[2])
    assert re.match(r"DS-003\s+MUST\s+wfm,client\s+core\s+wire\(client\)\s+0 scenarios$", lines[4])
    assert lines[5].endswith("why: practice")


def test_real_catalogue_formats(catalogue):
    assert format_coverage(coverage(catalogue, [])).count("\n") > 20
    assert len(format_catalogue(catalogue, []).splitlines()) == len(catalogue) + 2
