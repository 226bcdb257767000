"""Steps for judging a WFM Client: the harness plays the WFM (and registry, MIS, probes) and watches.

Steps stay thin: `Given`/`When` steps change what the counterpart serves or start the agent;
`Then` steps read the counterpart's records through `checks.client_observe.Observer` and hand them
to `checks.client_*`. Every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from margo_conformance.checks import expect, fail
from margo_conformance.checks.client_documents import (
    check_capabilities,
    check_extensions,
    check_status,
    json_object,
)
from margo_conformance.checks.client_observe import Observer, Report
from margo_conformance.checks.client_status import (
    check_components,
    check_error_sources,
    check_order,
    check_precedence,
)
from margo_conformance.checks.client_wire import (
    check_accept,
    check_conditional,
    check_first_request,
    check_http11,
    check_refresh,
    check_retry_after,
    check_tls,
)
from margo_conformance.counterpart import stimuli
from margo_conformance.counterpart.agents import StartOptions
from margo_conformance.counterpart.records import ConnectionRecord, RequestRecord, WaitTimeout
from margo_conformance.counterpart.target import ClientTarget
from margo_conformance.counterpart.wfm_api import Throttle
from margo_conformance.errors import ConformanceFailure, HarnessError
from margo_conformance.plugin import TAG_MARKER

#: polls that make an observation window for "nothing happens" checks
WINDOW_POLLS = 3


@dataclass
class ClientWorld:
    """One scenario against the client under test."""

    target: ClientTarget
    requirements: list[str]
    observer: Observer
    plans: dict[str, stimuli.DeploymentPlan] = field(default_factory=dict)
    #: label -> manifestVersion that first listed the deployment's current content
    versions: dict[str, int] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)
    options: StartOptions = field(default_factory=StartOptions)
    device_id: str = ""
    started: bool = False

    @property
    def counterpart(self):
        return self.target.counterpart

    def start(self, fresh: bool = True) -> RequestRecord:
        """Start the agent and wait for its capabilities report (the first thing it must send)."""
        self.options.fresh = fresh
        self.target.agent.start(self.options)
        self.started = True
        try:
            self.observer.await_connection(self.target.connect_timeout_s,
                                           "the client's first request (its capabilities report)")
        except HarnessError as exc:
            raise HarnessError(f"{exc}{self.target.agent.exit_note()}") from None
        report = self.observer.await_(lambda: next(iter(self.observer.capabilities_reports()), None),
                                      "report its capabilities (PUT /api/v1/capabilities/{deviceId})", "CAP-001")
        self.device_id = self.device_id or self.observer.device_of(report)
        return report

    def publish(self, plan: stimuli.DeploymentPlan, *, publish: bool = True) -> None:
        """Publish the plan's components and its YAML; a new manifest unless `publish` is False."""
        stimuli.render(plan, self.counterpart.registry_host)
        for repository, artifact in stimuli.artifacts(plan, self.counterpart.registry_host):
            self.counterpart.aux.publish(repository, stimuli.REVISION, artifact)
        self.plans[plan.label] = plan
        self.counterpart.desired.put(plan.yaml())
        if publish:
            version = self.counterpart.desired.publish().version
            for label, each in self.plans.items():
                if label not in self.versions or each is plan or label == plan.label:
                    self.versions[label] = version

    def plan(self, label: str, components: list[str] | None = None, device: str | None = None
             ) -> stimuli.DeploymentPlan:
        if not self.device_id:
            raise HarnessError("the client under test has not reported a device yet (start it first)")
        return stimuli.plan(label, device or self.device_id, components or ["app"], self.target.run_tag,
                            self.target.deployment_type)

    def deployment(self, label: str) -> stimuli.DeploymentPlan:
        if label not in self.plans:
            raise HarnessError(f"deployment {label!r} was not assigned in this scenario")
        return self.plans[label]

    def reports(self, label: str, since: int = 0) -> list[Report]:
        return self.observer.reports(self.deployment(label).deployment_id, since)

    def await_state(self, label: str, state: str, requirement: str = "DS-030", since: int = 0) -> Report:
        return self.observer.await_(
            lambda: next((r for r in self.reports(label, since) if r.state == state), None),
            f'report "{state}" for deployment {label!r}', requirement, since)

    def window(self, what: str, since: int | None = None) -> None:
        start = self.observer.mark() if since is None else since
        self.observer.observe_polls(WINDOW_POLLS, start, what)


@pytest.fixture(scope="session")
def client_target(margo_run: Any) -> ClientTarget:
    target = margo_run.targets.get("client")
    if target is None:
        raise HarnessError("no client target was started for this run")
    return target


@pytest.fixture
def cw(client_target: ClientTarget, request: pytest.FixtureRequest) -> Iterator[ClientWorld]:
    tags = [m.args[0] for m in request.node.iter_markers(TAG_MARKER)]
    client_target.agent.stop()
    client_target.counterpart.reset()
    observer = Observer(client_target.counterpart.recorder, client_target.timeout_s, client_target.patience_polls,
                        client_target.counterpart.url, client_target.say, client_target.silence)
    world = ClientWorld(client_target, sorted(t[4:] for t in set(tags) if t.startswith("req:")), observer)
    try:
        yield world
    finally:
        client_target.agent.stop()


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


# -- starting the agent ---------------------------------------------------------------------------
@given("the client under test starts with fresh state")
def starts_fresh(cw: ClientWorld) -> None:
    cw.start()


@given(parsers.parse("the client under test starts downloading {mode}"))
def starts_downloading(cw: ClientWorld, mode: str) -> None:
    wanted = {"the bundle": "bundle", "deployment YAMLs": "deployments"}[mode]
    cw.options.mock_args += ["--download", wanted]
    cw.marks["download"] = {"bundle": 1, "deployments": 2}[wanted]
    cw.start()


@when("the client under test restarts")
def restarts(cw: ClientWorld) -> None:
    if not cw.target.agent.can_restart:
        pytest.skip("the agent cannot be restarted by the harness (no start/stop hooks)")
    cw.marks["restart"] = cw.observer.mark()
    cw.target.agent.restart()


# -- capabilities ---------------------------------------------------------------------------------
@then("the first request of the client under test is its capabilities report")
def first_is_capabilities(cw: ClientWorld) -> None:
    check_first_request(cw.observer.requests("wfm"))


def _capabilities(cw: ClientWorld) -> tuple[RequestRecord, dict[str, Any]]:
    record = cw.observer.capabilities_reports()[0]
    return record, json_object(record.body, "CAP-005", f"the capabilities report {record.describe()}")


@then("the capabilities report is a valid DeviceCapabilitiesManifest for the device it names")
def capabilities_valid(cw: ClientWorld) -> None:
    record, document = _capabilities(cw)
    check_capabilities(document, "CAP-005, CAP-006, CAP-011", f"the report {record.describe()}")
    device = cw.observer.device_of(record)
    expect(bool(re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", device)), "CAP-004",
           f"the reported deviceId {device!r} uses characters outside RFC 3986 unreserved")
    expect(document["properties"].get("id") == device, "CAP-004",
           f"properties.id {document['properties'].get('id')!r} differs from the deviceId {device!r} of the path")


@then("the device reports an OpenTelemetry collector, a runtime and a deployment type")
def capabilities_hosting(cw: ClientWorld) -> None:
    _, document = _capabilities(cw)
    props = document.get("properties", {})
    expect(props.get("otelCollector") is True, "CAP-007",
           f"a hosting device must report otelCollector: true, got {props.get('otelCollector')!r}")
    for name, requirement in (("supportedRuntimes", "CAP-008"), ("supportedDeploymentTypes", "CAP-008")):
        values = props.get(name)
        expect(isinstance(values, list) and len(values) >= 1, requirement,
               f"a hosting device lists at least one {name}, got {values!r}")


@then("every extension in the capabilities report is well-formed")
def capabilities_extensions(cw: ClientWorld) -> None:
    record, document = _capabilities(cw)
    check_extensions(document, "EXT-002", f"the report {record.describe()}")


@when(parsers.parse('the device\'s label "{key}" changes to "{value}"'))
def label_changes(cw: ClientWorld, key: str, value: str) -> None:
    if not cw.target.agent.can_change_capabilities:
        pytest.skip("no 'client.change_capabilities' hook is configured to change the device's labels")
    cw.marks["change"] = cw.observer.mark()
    cw.target.agent.change_label(key, value)


@then(parsers.parse('the client under test reports its capabilities again with label "{key}" set to "{value}"'))
def capabilities_again(cw: ClientWorld, key: str, value: str) -> None:
    since = cw.marks["change"]

    def found() -> RequestRecord | None:
        for record in cw.observer.capabilities_reports(since):
            try:
                labels = json.loads(record.body).get("labels") or {}
            except (ValueError, AttributeError):
                continue
            if labels.get(key) == value:
                return record
        return None

    cw.observer.await_(found, f'report its capabilities again with label "{key}" = "{value}"', "CAP-002", since)


# -- polling --------------------------------------------------------------------------------------
@then(parsers.parse("the client under test polls the desired state at least {count:d} times"))
def polls_repeatedly(cw: ClientWorld, count: int) -> None:
    cw.observer.await_(lambda: len(cw.observer.polls()) >= count, f"poll GET /api/v1/deployments {count} times",
                       "DS-001")


@then("every poll revalidates with the ETag of the manifest the client adopted")
def polls_conditional(cw: ClientWorld) -> None:
    adopted = _adopted_poll(cw)
    etag = adopted.response_header("ETag") or ""
    cw.window("after the client adopted the manifest", adopted.seq)
    later = cw.observer.polls(adopted.seq)
    check_conditional(later, etag)
    expect(all(p.status == 304 for p in later), "DS-028",
           f"later polls got {[p.status for p in later]}: the client revalidated with an ETag the WFM does not match")


def _adopted_poll(cw: ClientWorld) -> RequestRecord:
    """The last 200 poll before the client's first installed report (the manifest it adopted)."""
    label = next(iter(cw.plans))
    installed = cw.await_state(label, "installed", "DS-030")
    polls = [p for p in cw.observer.polls() if p.status == 200 and p.seq < installed.record.seq]
    if not polls:
        raise fail("DS-001", f"deployment {label!r} was installed without a 200 poll of the manifest")
    return polls[-1]


@then("every poll asks for the manifest media type")
def polls_accept(cw: ClientWorld) -> None:
    cw.window("to see its polls")
    check_accept(cw.observer.polls())


@then("the client under test speaks HTTP/1.1 over TLS 1.3 with its X.509-SVID")
def wire_basics(cw: ClientWorld) -> None:
    cw.window("to see its connections")
    check_http11(cw.observer.requests("wfm"))
    domain = cw.target.client_spiffe_id.split("/")[2]
    check_tls(cw.observer.connections(), domain, cw.target.client_spiffe_id)


@then("after the restart the client revalidates with the ETag of the manifest it had adopted")
def restart_keeps_etag(cw: ClientWorld) -> None:
    since = cw.marks["restart"]
    adopted = cw.marks["adopted_etag_seq"]
    etag = next(p for p in cw.observer.polls() if p.seq == adopted).response_header("ETag") or ""
    first = cw.observer.await_(lambda: next(iter(cw.observer.polls(since)), None), "poll again after the restart",
                               "DS-001", since)
    check_conditional([first], etag, "DS-026")


@given(parsers.parse('the client under test has adopted the manifest listing deployment "{label}"'))
def has_adopted(cw: ClientWorld, label: str) -> None:
    cw.await_state(label, "installed")
    cw.marks["adopted_etag_seq"] = _adopted_poll(cw).seq


# -- deployments ----------------------------------------------------------------------------------
@given(parsers.parse('the harness\'s WFM assigns deployment "{label}"'))
@when(parsers.parse('the harness\'s WFM assigns deployment "{label}"'))
def assigns(cw: ClientWorld, label: str) -> None:
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(cw.plan(label))


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with components "{names}"'))
def assigns_components(cw: ClientWorld, label: str, names: str) -> None:
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(cw.plan(label, _names(names)))


@given(parsers.parse('the client under test has installed deployment "{label}"'))
def has_installed(cw: ClientWorld, label: str) -> None:
    if label not in cw.plans:
        assigns(cw, label)
    cw.await_state(label, "installed")


@when(parsers.parse('the harness\'s WFM updates deployment "{label}"'))
def updates(cw: ClientWorld, label: str) -> None:
    plan = cw.deployment(label)
    plan.document["spec"]["parameters"]["greeting"]["value"] = f"hello again {time.monotonic_ns()}"
    cw.marks[f"updated:{label}"] = cw.observer.mark()
    cw.marks[f"previous:{label}"] = cw.versions[label]
    cw.publish(plan)


@when(parsers.parse('the harness\'s WFM removes deployment "{label}"'))
def removes(cw: ClientWorld, label: str) -> None:
    plan = cw.deployment(label)
    cw.marks[f"removed:{label}"] = cw.observer.mark()
    cw.counterpart.desired.drop(plan.deployment_id)
    cw.versions[f"removed:{label}"] = cw.counterpart.desired.publish().version


@then(parsers.parse('the client under test reports "{state}" for deployment "{label}"'))
def reports_state(cw: ClientWorld, state: str, label: str) -> None:
    since = max(cw.marks.get(f"assigned:{label}", 0), cw.marks.get(f"updated:{label}", 0),
                cw.marks.get(f"removed:{label}", 0))
    cw.await_state(label, state, "DS-030", since)


@then(parsers.parse('deployment "{label}" is installed only after its components were pulled'))
def installed_after_pull(cw: ClientWorld, label: str) -> None:
    plan = cw.deployment(label)
    for report in cw.reports(label):
        if report.state != "installed":
            continue
        pulled = {r.path.split("/manifests/")[0][4:] for r in cw.observer.requests("aux")
                  if "/manifests/" in r.path and r.seq < report.record.seq and r.status == 200}
        missing = [repo for repo in plan.repositories() if repo not in pulled]
        expect(not missing, "DS-030", f"deployment {label!r} was reported installed ({report.record.describe()}) "
                                      f"before its components {missing} were pulled from the registry")


@then(parsers.parse('every status report for "{label}" is valid, complete and in a sensible order'))
def reports_valid(cw: ClientWorld, label: str) -> None:
    plan = cw.deployment(label)
    reports = cw.reports(label)
    expect(bool(reports), "STS-001", f"the client sent no status report for deployment {label!r}")
    documents = []
    for report in reports:
        document = json_object(report.record.body, "STS-002", f"status report {report.record.describe()}")
        check_status(document, "STS-002, STS-004", f"status report {report.record.describe()}")
        expect(document["deploymentId"] == plan.deployment_id, "STS-002",
               f"{report.record.describe()} names deploymentId {document['deploymentId']!r}, the path says "
               f"{plan.deployment_id!r}")
        check_components(document, plan.component_names, label)
        check_precedence(document, label)
        documents.append(document)
    check_order(documents, label)


@then(parsers.parse('the reports for "{label}" name the manifestVersion that listed it as adopted'))
def reports_adopted(cw: ClientWorld, label: str) -> None:
    version = cw.versions[label]
    for report in cw.reports(label):
        expect(report.adopted == version, "STS-011",
               f"{report.record.describe()} says adoptedManifestVersion {report.adopted!r}; the deployment was "
               f"adopted from manifestVersion {version}")


@then(parsers.parse('the removal reports for "{label}" name the manifestVersion without it as adopted'))
def removal_adopted(cw: ClientWorld, label: str) -> None:
    version = cw.versions[f"removed:{label}"]
    for report in cw.reports(label, cw.marks[f"removed:{label}"]):
        expect(report.adopted == version, "STS-011",
               f"{report.record.describe()} says adoptedManifestVersion {report.adopted!r}; the removal comes from "
               f"manifestVersion {version}")


@then(parsers.parse('the client under test reports the removal of deployment "{label}" as removing, then removed'))
def removing_removed(cw: ClientWorld, label: str) -> None:
    since = cw.marks[f"removed:{label}"]
    removed = cw.await_state(label, "removed", "DS-030", since)
    removing = [r for r in cw.reports(label, since) if r.state == "removing" and r.record.seq < removed.record.seq]
    expect(bool(removing), "DS-030", f"deployment {label!r} was reported removed without a removing report first")


@then(parsers.parse('the device no longer runs deployment "{label}"'))
def device_no_longer_runs(cw: ClientWorld, label: str) -> None:
    state = cw.target.agent.device_state()
    if state is None:
        return  # a real device is judged by its reports alone
    expect(cw.deployment(label).deployment_id not in state.get("runtime", {}), "DS-029",
           f"the device still runs deployment {label!r} after reporting it removed")


# -- recovery -------------------------------------------------------------------------------------
@when(parsers.parse("the harness's WFM is unreachable until the client under test has run into it {count:d} times"))
def outage(cw: ClientWorld, count: int) -> None:
    """Counted, not timed: a loaded machine cannot shorten the outage the client has to get through."""
    cw.marks["outage"] = cw.observer.mark()
    cw.counterpart.wfm.script.outage_until = float("inf")
    try:
        with contextlib.suppress(WaitTimeout):  # judged by the next steps from what was seen
            cw.observer.recorder.wait_for(
                lambda: len([c for c in cw.observer.connections() if c.handshake == "refused"]) >= count,
                cw.target.timeout_s, f"{count} connection attempts during the outage")
    finally:
        cw.counterpart.wfm.script.outage_until = 0.0


@then("the client under test comes back to the WFM after the outage")
def comes_back(cw: ClientWorld) -> None:
    since = cw.observer.mark()
    cw.observer.await_(lambda: next(iter(cw.observer.requests("wfm", since)), None),
                       "come back to the WFM after the outage ended", "SEC-013", since)


@then("the client under test tried to reach the WFM during the outage")
def tried_during_outage(cw: ClientWorld) -> None:
    refused = [c for c in cw.observer.connections() if c.handshake == "refused"]
    if not refused:
        raise HarnessError("the client did not try to connect during the simulated outage; lengthen it or shorten "
                           "the client's poll interval")


# -- integrity ------------------------------------------------------------------------------------
@when(parsers.parse('the harness\'s WFM updates deployment "{label}" with content that does not match its digest'))
def updates_tampered(cw: ClientWorld, label: str) -> None:
    updates(cw, label)
    cw.counterpart.wfm.script.replaced[cw.deployment(label).deployment_id] = stimuli.tampered_yaml(cw.deployment(label))


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with content that does not match its digest'))
def assigns_tampered(cw: ClientWorld, label: str) -> None:
    plan = cw.plan(label)
    stimuli.render(plan, cw.counterpart.registry_host)
    cw.counterpart.wfm.script.replaced[plan.deployment_id] = stimuli.tampered_yaml(plan)
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


def _fetched_content(cw: ClientWorld, label: str, since: int) -> RequestRecord | None:
    plan = cw.deployment(label)
    for record in cw.observer.requests("wfm", since):
        if record.method == "GET" and (f"/{plan.deployment_id}/" in record.path or
                                       record.path.startswith("/api/v1/bundles/")):
            return record
    return None


@then(parsers.parse('the client under test fetches the content of deployment "{label}"'))
def fetches_content(cw: ClientWorld, label: str) -> None:
    since = max(cw.marks.get(f"updated:{label}", 0), cw.marks.get(f"assigned:{label}", 0))
    cw.marks[f"fetched:{label}"] = cw.observer.await_(
        lambda: _fetched_content(cw, label, since), f"fetch the content of deployment {label!r}", "DS-029", since).seq


@then(parsers.parse('the client under test reports "failed" for deployment "{label}" without adopting the new '
                    'version'))
def failed_not_adopted(cw: ClientWorld, label: str) -> None:
    since = cw.marks[f"updated:{label}"]
    failed = cw.await_state(label, "failed", "DS-030", since)
    previous = cw.marks[f"previous:{label}"]
    expect(failed.adopted == previous, "STS-012",
           f"{failed.record.describe()} says adoptedManifestVersion {failed.adopted!r}; the update was never "
           f"applied, so the adopted version is still {previous}")


@then(parsers.parse('the client under test never installs the new version of deployment "{label}"'))
def never_installs_new(cw: ClientWorld, label: str) -> None:
    since = cw.marks[f"updated:{label}"]
    cw.window(f"after it fetched the update of {label!r}", cw.marks.get(f"fetched:{label}", since))
    for report in cw.reports(label, since):
        expect(report.state not in ("installing", "installed", "removing", "removed"), "DS-025",
               f"{report.record.describe()} reports {report.state!r} for content that failed its digest check; "
               "the client must abort the update and keep the previous state")
    _no_tampered_pull(cw, since)


def _no_tampered_pull(cw: ClientWorld, since: int) -> None:
    pulled = [r for r in cw.observer.requests("aux", since) if r.path.startswith("/v2/tampered/")]
    expect(not pulled, "DS-024", f"the client used content that failed verification: it pulled {pulled[0].describe()}"
           if pulled else "")


@then(parsers.parse('the client under test never installs deployment "{label}"'))
def never_installs(cw: ClientWorld, label: str) -> None:
    since = cw.marks[f"assigned:{label}"]
    cw.window(f"after deployment {label!r} was assigned", cw.marks.get(f"fetched:{label}", since))
    for report in cw.reports(label, since):
        expect(report.state not in ("installing", "installed"), "DS-024",
               f"{report.record.describe()} reports {report.state!r} for content that failed its digest check")
    _no_tampered_pull(cw, since)


@then("the client under test keeps polling with the ETag of the manifest it had adopted")
def keeps_old_etag(cw: ClientWorld) -> None:
    adopted = next(p for p in cw.observer.polls() if p.seq == cw.marks["adopted_etag_seq"])
    since = max(v for k, v in cw.marks.items() if k.startswith(("updated:", "fetched:")))
    cw.window("after the failed update", since)
    check_conditional(cw.observer.polls(since)[-1:], adopted.response_header("ETag") or "", "DS-025")


@then(parsers.parse('deployment "{label}" is neither removed nor reinstalled'))
def neither_removed(cw: ClientWorld, label: str) -> None:
    since = max(cw.marks.get(f"updated:{label}", 0), cw.marks.get(f"missing:{label}", 0))
    cw.window(f"after the content of {label!r} went missing", cw.marks.get(f"fetched:{label}", since))
    for report in cw.reports(label, since):
        expect(report.state not in ("removing", "removed"), "DS-034",
               f"{report.record.describe()} reports {report.state!r}: a 404 on listed content is not a deletion")
    state = cw.target.agent.device_state()
    if state is not None:
        expect(cw.deployment(label).deployment_id in state.get("runtime", {}), "DS-034",
               f"the device no longer runs deployment {label!r} after a 404 on its content")


@when(parsers.parse('the harness\'s WFM answers 404 for the new content of deployment "{label}"'))
def answers_404(cw: ClientWorld, label: str) -> None:
    cw.counterpart.wfm.script.content_404.add(cw.deployment(label).deployment_id)
    cw.marks[f"missing:{label}"] = cw.observer.mark()
    updates(cw, label)


@when(parsers.parse('the harness\'s WFM updates deployments "{first}" and "{second}", the second with content that '
                    'does not match its digest'))
def updates_two_one_bad(cw: ClientWorld, first: str, second: str) -> None:
    for label in (first, second):
        plan = cw.deployment(label)
        plan.document["spec"]["parameters"]["greeting"]["value"] = f"update {time.monotonic_ns()}"
        cw.marks[f"updated:{label}"] = cw.observer.mark()
        cw.marks[f"previous:{label}"] = cw.versions[label]
        cw.counterpart.desired.put(plan.yaml())
    bad = cw.deployment(second)
    cw.counterpart.wfm.script.replaced[bad.deployment_id] = stimuli.tampered_yaml(bad)
    version = cw.counterpart.desired.publish().version
    cw.versions[first] = cw.versions[second] = version


@then(parsers.parse('the client under test applies neither update of "{first}" nor of "{second}"'))
def applies_neither(cw: ClientWorld, first: str, second: str) -> None:
    since = cw.marks[f"updated:{first}"]
    fetches_content(cw, second)
    cw.window("after the update with one bad deployment", cw.marks[f"fetched:{second}"])
    for label in (first, second):
        for report in cw.reports(label, since):
            expect(report.state not in ("installing", "installed"), "DS-025",
                   f"{report.record.describe()} reports {report.state!r}: one deployment failed its digest check, "
                   "so the whole update must be aborted and the previous state kept")


# -- manifest variants ----------------------------------------------------------------------------
@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with an understated sizeBytes'))
def assigns_wrong_size(cw: ClientWorld, label: str) -> None:
    cw.counterpart.desired.options.size_skew = -7
    assigns(cw, label)


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with CRLF line ends and trailing spaces'))
def assigns_crlf(cw: ClientWorld, label: str) -> None:
    plan = cw.plan(label)
    plan.crlf = True
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with unknown extensions'))
def assigns_extensions(cw: ClientWorld, label: str) -> None:
    plan = cw.plan(label)
    plan.document["spec"]["x-acme-extensions"] = {"rollout": {"wave": 2}}
    plan.document["spec"]["deploymentProfile"]["x-acme-extensions"] = {"hint": "ignore me"}
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    stimuli.render(plan, cw.counterpart.registry_host)
    plan.document["spec"]["deploymentProfile"]["components"][0]["x-acme-extensions"] = {"note": "unknown"}
    cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with a parameter that targets no component'))
def assigns_stray_parameter(cw: ClientWorld, label: str) -> None:
    plan = cw.plan(label)
    plan.document["spec"]["parameters"]["legacySetting"] = {
        "value": "unused", "targets": [{"pointer": "LEGACY", "components": ["not-in-this-deployment"]}]}
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployments "{first}" and "{second}" in one bundle with opaque '
                     'file names'))
def assigns_opaque(cw: ClientWorld, first: str, second: str) -> None:
    cw.counterpart.desired.options.bundle_names = "opaque"
    for label in (first, second):
        cw.marks[f"assigned:{label}"] = cw.observer.mark()
        plan = cw.plan(label)
        cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployments "{first}" and "{second}" where "{second}" has a sha512 '
                     'digest'))
def assigns_sha512(cw: ClientWorld, first: str, second: str) -> None:
    plan_first, plan_second = cw.plan(first), cw.plan(second)
    cw.counterpart.desired.options.sha512.add(plan_second.deployment_id)
    for plan in (plan_first, plan_second):
        cw.marks[f"assigned:{plan.label}"] = cw.observer.mark()
        cw.publish(plan, publish=plan is plan_second)


@then(parsers.parse('the client under test installs neither "{first}" nor "{second}"'))
def installs_neither(cw: ClientWorld, first: str, second: str) -> None:
    since = cw.marks[f"assigned:{first}"]
    cw.window("after the manifest with an unsupported digest algorithm", cw.marks[f"assigned:{second}"])
    for label in (first, second):
        for report in cw.reports(label, since):
            expect(report.state not in ("installing", "installed"), "DS-039",
                   f"{report.record.describe()} reports {report.state!r}: a digest with an unsupported algorithm "
                   "makes the whole manifest invalid")


@then(parsers.parse("the client under test downloaded {mode}"))
def downloaded(cw: ClientWorld, mode: str) -> None:
    bundle = any(r.path.startswith("/api/v1/bundles/") for r in cw.observer.requests("wfm"))
    used = "the bundle" if bundle else "deployment YAMLs"
    if used != mode:
        pytest.skip(f"the client under test downloads {used}; this row judges clients that download {mode}")


# -- manifest versions ----------------------------------------------------------------------------
@when(parsers.parse('the harness\'s WFM publishes a manifest with a {relation} manifestVersion that removes "{label}" '
                    'and adds "{added}"'))
def publishes_rollback(cw: ClientWorld, relation: str, label: str, added: str) -> None:
    current = cw.counterpart.desired.current.version
    forced = {"lower": current - 1, "equal": current}[relation]
    plan = cw.plan(added)
    stimuli.render(plan, cw.counterpart.registry_host)
    for repository, artifact in stimuli.artifacts(plan, cw.counterpart.registry_host):
        cw.counterpart.aux.publish(repository, stimuli.REVISION, artifact)
    cw.plans[added] = plan
    cw.counterpart.desired.drop(cw.deployment(label).deployment_id)
    cw.counterpart.desired.put(plan.yaml())
    cw.marks["rollback"] = cw.observer.mark()
    cw.counterpart.desired.publish(version=forced)


@then(parsers.parse('the client under test neither removes "{label}" nor installs "{added}"'))
def rollback_rejected(cw: ClientWorld, label: str, added: str) -> None:
    since = cw.marks["rollback"]
    cw.window("after the manifest whose version did not go up", since)
    got_it = [p for p in cw.observer.polls(since) if p.status == 200]
    if not got_it:
        raise HarnessError("the client never fetched the manifest whose version did not go up")
    for report in cw.reports(label, since):
        expect(report.state not in ("removing", "removed"), "DS-027",
               f"{report.record.describe()}: the client acted on a manifest whose manifestVersion is not greater "
               "than the one it adopted")
    expect(not cw.reports(added, since), "DS-027",
           f"the client reported status for {added!r}, listed only by a manifest whose manifestVersion did not go up")
    fetched = [r for r in cw.observer.requests("wfm", since) if f"/{cw.deployment(added).deployment_id}/" in r.path]
    expect(not fetched, "DS-027", f"the client fetched {fetched[0].describe()} from a rejected manifest"
           if fetched else "")


# -- failures ---------------------------------------------------------------------------------------
@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with components "{names}" where "{broken}" '
                     'cannot be pulled'))
def assigns_broken(cw: ClientWorld, label: str, names: str, broken: str) -> None:
    plan = cw.plan(label, _names(names))
    for component in plan.components:
        if component.name == broken:
            component.repository = "missing/" + component.repository.split("/", 1)[1]
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    stimuli.render(plan, cw.counterpart.registry_host)
    for repository, artifact in stimuli.artifacts(plan, cw.counterpart.registry_host):
        if not repository.startswith("missing/"):
            cw.counterpart.aux.publish(repository, stimuli.REVISION, artifact)
    cw.plans[label] = plan
    cw.counterpart.desired.put(plan.yaml())
    cw.versions[label] = cw.counterpart.desired.publish().version


@then(parsers.parse('the failed report for "{label}" carries a complete error attributed to the deployment and to '
                    '"{component}"'))
def failed_report_error(cw: ClientWorld, label: str, component: str) -> None:
    plan = cw.deployment(label)
    failed = cw.await_state(label, "failed", "DS-030")
    document = json_object(failed.record.body, "STS-002", f"status report {failed.record.describe()}")
    check_status(document, "STS-002, STS-007, STS-012", f"the failed report {failed.record.describe()}")
    check_precedence(document, label)
    check_error_sources(document, plan.name, label)
    errors = [c for c in document["components"] if c.get("name") == component and isinstance(c.get("error"), dict)]
    expect(bool(errors), "STS-007", f"the failed report lists no error for component {component!r}")


# -- retries ----------------------------------------------------------------------------------------
@when(parsers.parse("the harness's WFM answers the next poll with {status:d}, Retry-After {seconds:d} and "
                    "retryAfterSeconds 0"))
def throttles(cw: ClientWorld, status: int, seconds: int) -> None:
    cw.marks["throttle"] = cw.observer.mark()
    cw.marks["retry_after"] = seconds
    cw.counterpart.wfm.script.throttle = Throttle(status, seconds, body_retry_after=0)


@then("the client under test sends no request before Retry-After has elapsed")
def honours_retry_after(cw: ClientWorld) -> None:
    since = cw.marks["throttle"]
    throttled = cw.observer.await_(
        lambda: next((r for r in cw.observer.requests("wfm", since) if r.scripted.startswith("throttled")), None),
        "poll and get the throttled answer", "DS-001", since)
    seconds = cw.marks["retry_after"]
    # The lower bound (nothing before Retry-After elapsed) is what ERR-014 judges, and load cannot break
    # it; coming back at all gets Retry-After plus the harness's whole wait bound, measured from the answer.
    cw.observer.recorder.wait_for(lambda: throttled.answered_at, cw.target.timeout_s, "the throttled answer")
    back = throttled.answered_at + seconds + cw.target.timeout_s
    try:
        cw.observer.recorder.wait_for(lambda: next(iter(cw.observer.requests("wfm", throttled.seq)), None),
                                      max(0.0, back - time.monotonic()), "come back after Retry-After")
    except WaitTimeout:
        raise fail("DS-001", f"the client did not come back to the WFM within {seconds + cw.target.timeout_s:g} s "
                             f"of {throttled.describe()} (Retry-After: {seconds}); a client keeps polling") from None
    check_retry_after(cw.observer.requests("wfm"), throttled, seconds)


@when("the harness's WFM answers the next poll with a problem whose type URI points at the harness")
def problem_type_probe(cw: ClientWorld) -> None:
    cw.marks["problem"] = cw.observer.mark()
    cw.counterpart.wfm.script.problem_type = f"{cw.counterpart.aux_url}/problem-types/conformance-probe"


@then("the client under test never dereferences the problem type URI")
def never_dereferences(cw: ClientWorld) -> None:
    since = cw.marks["problem"]
    cw.observer.await_(lambda: any(r.scripted.startswith("problem type") for r in cw.observer.requests("wfm", since)),
                       "poll and get the problem", "DS-001", since)
    cw.window("after the problem answer", since)
    fetched = [r for r in cw.observer.requests("aux", since) if r.path.startswith("/problem-types/")]
    expect(not fetched, "ERR-007", f"the client dereferenced the problem type URI: {fetched[0].describe()}"
           if fetched else "")


# -- identity ---------------------------------------------------------------------------------------
@given(parsers.parse('the harness\'s WFM presents the SVID "{name}"'))
def presents(cw: ClientWorld, name: str) -> None:
    if not cw.target.server_identity(name):
        pytest.skip(f"the PKI of this run has no {name!r} server material (see `margo-conformance pki`)")
    cw.counterpart.wfm.script.identity = name


@when("the client under test starts with fresh state against it")
def starts_against_negative(cw: ClientWorld) -> None:
    cw.target.agent.start(cw.options)
    cw.started = True


@then("the client under test sends no HTTP request to that WFM")
def no_request(cw: ClientWorld) -> None:
    observer = cw.observer
    what = f"the client's first connection to the WFM at {cw.counterpart.url}"
    if observer.await_first(lambda: observer.connections(), cw.target.connect_timeout_s, what) is None:
        raise HarnessError(f"no connection from the client under test within {cw.target.connect_timeout_s:g} s: "
                           f"waited for {what}{cw.target.agent.exit_note()}")
    with contextlib.suppress(WaitTimeout):  # judged below from what was seen
        observer.recorder.wait_for(lambda: len(observer.connections()) >= 2 or observer.requests("wfm"),
                                   cw.target.timeout_s, "two connection attempts")
    sent = observer.requests("wfm")
    presented = cw.counterpart.wfm.script.identity
    requirement = {"wfm-foreign-ca": "IDN-011", "wfm-leaf-only": "IDN-010"}.get(presented, "IDN-007")
    expect(not sent, requirement, f"the client sent {sent[0].describe()} to a WFM presenting {presented!r}; it must "
           "verify the WFM's SVID and SPIFFE ID before sending anything" if sent else "")


@then("once the harness's WFM presents its own SVID the client under test reports its capabilities")
def recovers_with_right_identity(cw: ClientWorld) -> None:
    cw.counterpart.wfm.script.identity = "wfm"
    cw.observer.await_(lambda: next(iter(cw.observer.capabilities_reports()), None),
                       "report its capabilities once the WFM presents its own SVID", "IDN-007")


# -- components, registry and runtime ---------------------------------------------------------------
def _component_requests(cw: ClientWorld, component: stimuli.ComponentPlan, since: int = 0) -> list[RequestRecord]:
    """Registry requests for a component's artifact or its images."""
    base = component.repository.split("/", 1)[1]
    prefixes = (f"/v2/{component.repository}/", f"/v2/images/{base}-")
    return [r for r in cw.observer.requests("aux", since) if r.path.startswith(prefixes)]


@then(parsers.parse('the components of "{label}" were pulled one after another in the listed order'))
def pulled_in_order(cw: ClientWorld, label: str) -> None:
    plan = cw.deployment(label)
    spans = []
    for component in plan.components:
        seen = _component_requests(cw, component)
        expect(bool(seen), "DEP-013", f"component {component.name!r} of {label!r} was never pulled")
        spans.append((component.name, min(r.seq for r in seen), max(r.seq for r in seen)))
    for (first, _, first_end), (second, second_start, _) in itertools.pairwise(spans):
        expect(first_end < second_start, "DEP-013",
               f"component {second!r} was pulled (request #{second_start}) before {first!r} was done (request "
               f"#{first_end}); components install one after another in the order the deployment lists them")


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" whose component may take {limit} but whose '
                     'registry stalls for {seconds:g} seconds'))
def assigns_stalled(cw: ClientWorld, label: str, limit: str, seconds: float) -> None:
    plan = cw.plan(label)
    plan.components[0].timeout = limit
    cw.counterpart.aux.script.stall[plan.components[0].repository] = seconds
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@then(parsers.parse('the client under test never reports "installed" for deployment "{label}"'))
def never_installed(cw: ClientWorld, label: str) -> None:
    installed = [r for r in cw.reports(label) if r.state == "installed"]
    expect(not installed, "DEP-011", f"{installed[0].record.describe()} reports installed although the component "
           "exceeded its timeout" if installed else "")


@given("the harness's registry requires a Bearer token for every pull")
def registry_token(cw: ClientWorld) -> None:
    cw.counterpart.aux.script.require_token = True


@then(parsers.parse('the client under test pulled the components of "{label}" the OCI Distribution way'))
def pulled_oci_way(cw: ClientWorld, label: str) -> None:
    plan = cw.deployment(label)
    seen = [r for c in plan.components for r in _component_requests(cw, c)]
    manifests = [r for r in seen if "/manifests/" in r.path]
    expect(bool(manifests), "REG-008", f"the client pulled no manifest for {label!r}")
    for request in manifests:
        accept = (request.header("Accept") or "").lower()
        expect("application/vnd.oci.image.manifest.v1+json" in accept, "REG-008",
               f"{request.describe()} asks for Accept: {request.header('Accept') or '(none)'}; OCI pulls name the "
               "manifest media types they accept")
    for request in seen:
        if "/blobs/" in request.path:
            expect(bool(re.search(r"/blobs/sha256:[0-9a-f]{64}$", request.path)), "REG-008",
                   f"{request.describe()}: blobs are fetched by digest")
    challenged = [r for r in seen if r.status == 401]
    tokens = [r for r in cw.observer.requests("aux") if r.path == "/token"]
    expect(bool(challenged), "REG-008", "the registry never challenged the client (harness trouble)")
    expect(bool(tokens), "REG-008", "the client never asked the token realm for a token after a 401 Bearer challenge")
    authorised = [r for r in seen if (r.header("Authorization") or "").startswith("Bearer ") and r.status == 200]
    expect(bool(authorised), "REG-008", "the client never retried with the token it was given")


def _reported_properties(cw: ClientWorld) -> dict[str, Any]:
    record = cw.observer.capabilities_reports()[0]
    return (json_object(record.body, "CAP-005", "the capabilities report").get("properties") or {})


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" with eligibility rules where {case}'))
def assigns_eligibility(cw: ClientWorld, label: str, case: str) -> None:
    plan = cw.plan(label)
    rules, why_not = stimuli.eligibility_rules(_reported_properties(cw), case, cw.target.run_tag)
    if rules is None:
        pytest.skip(why_not)
    plan.document["spec"]["deploymentProfile"]["deviceConstraints"] = {"eligibilityRules": rules}
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@then(parsers.parse('the client under test does not install deployment "{label}" and pulls none of its components'))
def not_installed_no_pull(cw: ClientWorld, label: str) -> None:
    failed = cw.await_state(label, "failed", "DEP-008", cw.marks[f"assigned:{label}"])
    plan = cw.deployment(label)
    pulled = [r for c in plan.components for r in _component_requests(cw, c)]
    expect(not pulled, "DEP-008", f"the client pulled {pulled[0].describe()} for a deployment the device is not "
           "eligible for; eligibility is evaluated before deploying" if pulled else "")
    installs = [r for r in cw.reports(label) if r.state in ("installing", "installed")
                and r.record.seq <= failed.record.seq]
    expect(not installs, "DEP-008", f"{installs[0].record.describe()} for a deployment the device is not eligible "
           "for" if installs else "")


# -- probes ----------------------------------------------------------------------------------------
def _needs_probes(cw: ClientWorld) -> None:
    if not cw.target.probe_images:
        pytest.skip("needs runnable probe images, which the harness cannot build offline; only the bundled mock's "
                    "simulated runtime runs them (client.probe_images)")


@given(parsers.parse('the harness\'s WFM assigns a probe deployment "{label}" that reports its environment'))
def assigns_probe(cw: ClientWorld, label: str) -> None:
    _needs_probes(cw)
    plan = cw.plan(label, ["probe"])
    plan.components[0].behaviours = ["report"]
    plan.document["spec"]["parameters"]["probeReport"] = {
        "value": f"{cw.counterpart.aux_url}/probe/report",
        "targets": [{"pointer": "PROBE_REPORT_URL", "components": ["probe"]}]}
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@then("the probe saw an OTLP endpoint in its environment and a collector answering there")
def probe_saw_collector(cw: ClientWorld) -> None:
    record = cw.observer.await_(
        lambda: next((r for r in cw.observer.requests("aux") if r.path == "/probe/report"), None),
        "run the probe container (it reports to the harness)", "DEVR-003")
    report = json_object(record.body, "OBS-002", "the probe report")
    endpoint = (report.get("env") or {}).get("HTTP_OTEL_EXPORTER_OTLP_ENDPOINT")
    expect(bool(endpoint), "OBS-002", "the workload's environment has no HTTP_OTEL_EXPORTER_OTLP_ENDPOINT")
    otlp = report.get("otlp") or {}
    status = otlp.get("status")
    expect(isinstance(status, int) and 200 <= status < 300, "OBS-001",
           f"the probe's OTLP export to {endpoint} got {status or otlp.get('error') or 'nothing'}; the device must "
           "run an OpenTelemetry collector receiving OTLP there")


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" of type {kind}'))
def assigns_kind(cw: ClientWorld, label: str, kind: str) -> None:
    _needs_probes(cw)
    types = _reported_properties(cw).get("supportedDeploymentTypes") or []
    if kind not in types:
        pytest.skip(f"the device does not report the {kind} deployment type (it reports {types})")
    plan = stimuli.plan(label, cw.device_id, ["app"], cw.target.run_tag, kind)
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


# -- Compose archives -------------------------------------------------------------------------------
@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" whose Compose archive\'s top directory is '
                     'named "{name}"'))
def assigns_top_dir(cw: ClientWorld, label: str, name: str) -> None:
    _needs_probes(cw)
    plan = cw.plan(label)
    plan.components[0].top_dir = name
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" whose Compose archive holds {unsafe}'))
def assigns_unsafe(cw: ClientWorld, label: str, unsafe: str) -> None:
    plan = cw.plan(label)
    plan.components[0].extra_members = [stimuli.UNSAFE_MEMBERS[unsafe]]
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@then(parsers.parse('the client under test reports "failed" for deployment "{label}" and runs none of its images'))
def failed_no_images(cw: ClientWorld, label: str) -> None:
    since = cw.marks[f"assigned:{label}"]
    cw.await_state(label, "failed", "CMP-009", since)
    images = [r for r in cw.observer.requests("aux", since) if r.path.startswith("/v2/images/")]
    requirement = "CMP-010" if any(r.scripted.startswith("blob bytes") for r in cw.observer.requests("aux", since)) \
        else "CMP-009"
    expect(not images, requirement, f"the client pulled {images[0].describe()}: the archive must be rejected before "
           "anything is extracted or deployed" if images else "")


@given(parsers.parse('the harness\'s registry serves the Compose archive of "{label}" with bytes that do not match '
                     'its digest'))
def registry_tampers(cw: ClientWorld, label: str) -> None:
    plan = cw.plan(label)
    stimuli.render(plan, cw.counterpart.registry_host)
    tampered = copy.deepcopy(plan)
    tampered.components[0].repository = "tampered/" + plan.components[0].repository.split("/", 1)[1]
    tampered.components[0].top_dir = "tampered"
    other = dict(stimuli.artifacts(tampered, cw.counterpart.registry_host))[tampered.components[0].repository]
    cw.counterpart.aux.script.replaced_layers[plan.components[0].repository] = next(
        data for digest, data in other.blobs.items() if digest in other.layer_digests())
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" whose container exits with code {code:d} at '
                     'start'))
def assigns_exiting(cw: ClientWorld, label: str, code: int) -> None:
    _needs_probes(cw)
    plan = cw.plan(label)
    plan.components[0].behaviours = [f"exit:{code}"]
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


# -- gateways ---------------------------------------------------------------------------------------
@given(parsers.parse('the client under test starts as a see-thru gateway with children "{names}"'))
def starts_gateway(cw: ClientWorld, names: str) -> None:
    for child in _names(names):
        cw.options.mock_args += ["--gateway-child", child]
    _start_gateway(cw)


@given("the client under test starts as a see-thru gateway that cannot place deployments on its children itself")
def starts_gateway_no_placement(cw: ClientWorld) -> None:
    if cw.target.kind != "mock":
        pytest.skip("needs a gateway that cannot place gw/* deployments itself; the harness can set that up only "
                    "for the bundled mock")
    cw.options.mock_args += ["--gateway-child", "sensor-1", "--no-placement"]
    _start_gateway(cw)


def _start_gateway(cw: ClientWorld) -> None:
    report = cw.start()
    cw.device_id = cw.observer.device_of(report).split("/", 1)[0]
    cw.observer.await_(lambda: _children(cw), "report at least one child device of the gateway", "GW-001")


def _children(cw: ClientWorld) -> list[str]:
    prefix = cw.device_id + "/"
    return sorted({cw.observer.device_of(r) for r in cw.observer.capabilities_reports()
                   if cw.observer.device_of(r).startswith(prefix)})


@then("the gateway reports itself before any of its children, and each of them")
def gateway_first(cw: ClientWorld) -> None:
    cw.window("to see every device reported")
    devices = [cw.observer.device_of(r) for r in cw.observer.capabilities_reports()]
    expect(cw.device_id in devices, "GW-001", f"the gateway {cw.device_id!r} never reported its own capabilities")
    first_child = next((i for i, d in enumerate(devices) if d.startswith(cw.device_id + "/")), None)
    expect(first_child is not None, "GW-001", f"the gateway {cw.device_id!r} reported no child device")
    assert first_child is not None
    expect(devices.index(cw.device_id) < first_child, "GW-002",
           f"the gateway reported child {devices[first_child]!r} before itself; order was {devices}")
    args = cw.options.mock_args
    configured = [a for i, a in enumerate(args) if i and args[i - 1] == "--gateway-child"]
    if cw.target.kind == "mock" and configured:
        missing = [c for c in configured if f"{cw.device_id}/{c}" not in devices]
        expect(not missing, "GW-001", f"the gateway never reported its children {missing}")


@then("the gateway's own report leaves out every hosting property")
def gateway_not_hosting(cw: ClientWorld) -> None:
    record = cw.observer.await_(
        lambda: next((r for r in cw.observer.capabilities_reports() if cw.observer.device_of(r) == cw.device_id), None),
        "report the gateway's own capabilities", "GW-001")
    props = json_object(record.body, "CAP-005", "the gateway's capabilities report").get("properties") or {}
    hosting = ("cpus", "memory", "storage", "peripherals", "interfaces", "supportedRuntimes",
               "supportedDeploymentTypes", "otelCollector")
    present = [k for k in hosting if k in props]
    expect(not present, "CAP-009", f"the non-hosting see-thru gateway reports {present}")


def _assign_to(cw: ClientWorld, label: str, device: str) -> None:
    plan = cw.plan(label, device=device)
    cw.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.publish(plan)


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" to the gateway\'s first child'))
def assigns_child(cw: ClientWorld, label: str) -> None:
    _assign_to(cw, label, _children(cw)[0])


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" to any child of the gateway'))
def assigns_wildcard(cw: ClientWorld, label: str) -> None:
    _assign_to(cw, label, f"{cw.device_id}/*")


@given(parsers.parse('the harness\'s WFM assigns deployment "{label}" to a child the gateway does not have'))
def assigns_unknown_child(cw: ClientWorld, label: str) -> None:
    _assign_to(cw, label, f"{cw.device_id}/no-such-child-{cw.target.run_tag}")


@then(parsers.parse('every status report for "{label}" names the child it is about'))
def reports_name_child(cw: ClientWorld, label: str) -> None:
    child = cw.deployment(label).document["metadata"]["deviceId"]
    for report in cw.reports(label):
        device = (report.document or {}).get("deviceId")
        expect(device == child, "STS-003", f"{report.record.describe()} names deviceId {device!r}; a report for a "
                                           f"child device must name it ({child!r})")


@then(parsers.parse('every status report for "{label}" names one of the gateway\'s children'))
def reports_name_chosen_child(cw: ClientWorld, label: str) -> None:
    children = _children(cw)
    for report in cw.reports(label):
        device = (report.document or {}).get("deviceId")
        expect(device in children, "DEP-003", f"{report.record.describe()} names deviceId {device!r}; for a gw/* "
                                              f"deployment the gateway reports the child it chose, one of {children}")


@then(parsers.parse('the client under test reports "failed" for deployment "{label}" with gateway error {code}'))
def gateway_error(cw: ClientWorld, label: str, code: str) -> None:
    failed = cw.await_state(label, "failed", "GW-004", cw.marks[f"assigned:{label}"])
    document = json_object(failed.record.body, "STS-002", f"status report {failed.record.describe()}")
    error = (document.get("status") or {}).get("error") or {}
    requirement = "DEP-004" if code == "103" else "GW-004"
    expect(error.get("code") == code, requirement,
           f"{failed.record.describe()} carries error code {error.get('code')!r}; the gateway reports {code}")
    check_error_sources(document, cw.deployment(label).name, label, gateway=cw.device_id)


# -- custom runtimes and content encoding -----------------------------------------------------------
@given("the client under test starts reporting a custom runtime")
def starts_custom(cw: ClientWorld) -> None:
    cw.options.mock_args += ["--custom-runtime"]
    cw.start()


@then("a device that reports the custom runtime also reports labels")
def custom_has_labels(cw: ClientWorld) -> None:
    record, document = _capabilities(cw)
    props = document.get("properties") or {}
    custom = "custom" in (props.get("supportedRuntimes") or []) + (props.get("supportedDeploymentTypes") or [])
    if not custom:
        pytest.skip("the device does not report the custom runtime or deployment type")
    expect(bool(document.get("labels")), "CAP-013",
           f"{record.describe()} reports a custom runtime without labels apps could target")


@given("the harness's WFM serves content gzip-encoded to clients that accept it")
def serves_gzip(cw: ClientWorld) -> None:
    cw.counterpart.wfm.script.gzip_content = True


@then("the content went out gzip-encoded")
def content_was_encoded(cw: ClientWorld) -> None:
    encoded = [r for r in cw.observer.requests("wfm") if r.response_header("Content-Encoding") == "gzip"]
    if not encoded:
        pytest.skip("the client never sent Accept-Encoding: gzip, so no content was encoded")


# -- trust bundles from the MIS ---------------------------------------------------------------------
@given("the client under test fetches its trust bundle from the harness's MIS")
def uses_mis(cw: ClientWorld) -> None:
    cw.options.mis = True


MIS_VARIANTS = {
    "presents a key that does not match the pin": {"identity": "wfm-wrong-id"},
    "names an http:// trustBundleUri": {"http_bundle_uri": True},
    "answers 404 for the bundle": {"bundle_404": True},
    "adds unknown fields and a JWT-SVID key": {"unknown_fields": True, "jwt_key": True},
    "asks for a refresh every second under long HTTP caching": {"refresh_hint": 1, "long_cache": True},
}


@given(parsers.parse("the harness's MIS {variant}"))
def mis_variant(cw: ClientWorld, variant: str) -> None:
    for key, value in MIS_VARIANTS[variant].items():
        setattr(cw.counterpart.mis.script, key, value)


def _bundle_fetches(cw: ClientWorld, since: int = 0) -> list[RequestRecord]:
    return [r for r in cw.observer.requests("mis", since) if r.path == "/.well-known/spiffe/bundle.json"]


def _mis_attempts(cw: ClientWorld) -> int:
    """Attempts to get trust from the MIS: each starts with the discovery document (or fails before it)."""
    discovery = [r for r in cw.observer.requests("mis") if r.path == "/.well-known/margo"]
    silent = [c for c in cw.observer.connections("mis") if c.closed_at is not None and c.requests == 0]
    return len(discovery) + len(silent)


@then("the client under test never reaches the WFM and keeps trying its MIS")
def never_reaches_wfm(cw: ClientWorld) -> None:
    what = f"the client's first connection to the harness's MIS at {cw.counterpart.mis_url}"
    if cw.observer.await_first(lambda: cw.observer.connections("mis"), cw.target.connect_timeout_s, what) is None:
        raise HarnessError(f"no connection from the client under test within {cw.target.connect_timeout_s:g} s: "
                           f"waited for {what}{cw.target.agent.exit_note()}")
    with contextlib.suppress(WaitTimeout):  # judged below from what was seen
        cw.observer.recorder.wait_for(lambda: _mis_attempts(cw) >= 2, cw.target.timeout_s, "two attempts at the MIS")
    script = cw.counterpart.mis.script
    requirement = "TB-001" if script.identity != "wfm" else "TB-006" if script.http_bundle_uri else "TB-012"
    reached = cw.observer.requests("wfm")
    expect(not reached, requirement, f"the client sent {reached[0].describe()} to the WFM without a trust bundle it "
           "may trust" if reached else "")
    if script.identity != "wfm":
        sent = cw.observer.requests("mis")
        expect(not sent, "TB-002", f"the client sent {sent[0].describe()} to a trust endpoint whose key does not "
               "match its pin" if sent else "")
    if script.http_bundle_uri:
        plain = [r for r in cw.observer.requests("aux") if r.path == "/.well-known/spiffe/bundle.json"]
        expect(not plain, "TB-006", f"the client fetched its bundle over plain HTTP: {plain[0].describe()}"
               if plain else "")


@then("once the harness's MIS serves its bundle normally the client under test reports its capabilities")
def mis_recovers(cw: ClientWorld) -> None:
    cw.counterpart.mis.reset()
    cw.observer.await_(lambda: next(iter(cw.observer.capabilities_reports()), None),
                       "report its capabilities once the MIS serves a trustworthy bundle", "TB-012")


@then("the client under test accepts that bundle and reports its capabilities")
def accepts_bundle(cw: ClientWorld) -> None:
    cw.observer.await_(lambda: next(iter(cw.observer.capabilities_reports()), None),
                       "accept a bundle with unknown fields and a JWT-SVID key, and report its capabilities",
                       "TB-004/TB-010")


@when("the harness's MIS starts serving a bundle without X.509 anchors")
def mis_empty(cw: ClientWorld) -> None:
    _mis_changes(cw, "none")


@when("the harness's MIS rotates the bundle to a new anchor")
def mis_rotates(cw: ClientWorld) -> None:
    _mis_changes(cw, "foreign")


def _mis_changes(cw: ClientWorld, anchors: str) -> None:
    script = cw.counterpart.mis.script
    cw.marks["mis_change"] = cw.observer.mark()
    cw.marks["mis_sequence"] = script.sequence + 1
    script.anchors, script.sequence = anchors, script.sequence + 1


def _served_sequence(record: RequestRecord) -> object:
    """The spiffe_sequence of the bundle a fetch was answered with (None if it got no bundle)."""
    if record.status != 200:
        return None
    try:
        document = json.loads(record.response_body)
    except (ValueError, UnicodeDecodeError):
        return None
    return document.get("spiffe_sequence") if isinstance(document, dict) else None


def _refresh_tolerance(cw: ClientWorld, hint: float) -> float:
    """How late a hinted refresh may come on a loaded machine: the harness's wait bound, at least 2 hints."""
    return max(cw.target.timeout_s, 2 * hint)


@then("the client under test fetches the bundle again when the hint says, not when HTTP caching says")
def refetches(cw: ClientWorld) -> None:
    sequence, hint = cw.marks["mis_sequence"], float(cw.counterpart.mis.script.refresh_hint)
    tolerance = _refresh_tolerance(cw, hint)
    # The refresh is the first fetch answered with the changed bundle (its spiffe_sequence), whenever the
    # client made it; the previous fetch is the last one answered with a bundle before it.
    served = [r for r in _bundle_fetches(cw) if _served_sequence(r) is not None]
    if not served:
        raise HarnessError("the client under test never fetched a bundle from the harness's MIS")
    due = served[-1].answered_at + hint + tolerance
    try:
        refresh = cw.observer.recorder.wait_for(
            lambda: next((r for r in _bundle_fetches(cw) if _served_sequence(r) == sequence), None),
            max(0.0, due - time.monotonic()), "a bundle refresh")
    except WaitTimeout:
        raise fail("TB-009", f"the client did not fetch the bundle again within {hint + tolerance:g} s of its "
                             f"previous fetch ({served[-1].describe()}) although spiffe_refresh_hint said {hint:g} s "
                             f"(tolerance {tolerance:g} s); HTTP caching (max-age=3600) must not delay a due "
                             "refresh") from None
    previous = [r for r in _bundle_fetches(cw) if r.seq < refresh.seq and _served_sequence(r) is not None]
    if not previous:
        raise HarnessError("the changed bundle was the first one the client fetched: the scenario changed it too early")
    check_refresh(previous[-1], refresh, hint, tolerance)
    cw.marks["refetched"] = refresh.seq


def _at(cw: ClientWorld, seq: int) -> float:
    return next((r.at for r in cw.observer.requests(None) if r.seq == seq), 0.0)


@then("the client under test keeps talking to the WFM with the bundle it had")
def keeps_old_bundle(cw: ClientWorld) -> None:
    since = cw.marks["refetched"]
    try:
        cw.window("after it was offered a bundle without anchors", since)
    except ConformanceFailure:
        raise fail("TB-007", "after it was offered a bundle without anchors the client stopped talking to the WFM; "
                             "it must reject such a bundle and keep validating with the current one") from None
    failed = [c for c in cw.observer.connections() if c.handshake == "failed" and c.at > _at(cw, since)]
    expect(not failed, "TB-007", f"after the empty bundle the client's handshakes fail ({failed[0].error}): it must "
           "reject a bundle without anchors and keep validating with the current one (TB-008)" if failed else "")


@then("the client under test refuses the WFM's SVID from the replaced anchor")
def refuses_old_anchor(cw: ClientWorld) -> None:
    refetch = next(r for r in cw.observer.requests("mis") if r.seq == cw.marks["refetched"])
    cw.observer.recorder.wait_for(lambda: refetch.answered_at, cw.target.timeout_s, "the bundle refresh's answer")
    # Judged by order, not by a clock: of the connections to the WFM accepted after the new bundle left
    # the harness, one must end without a request. A few may still be served: a poll can be in flight
    # while the client takes the new bundle in, and on a loaded machine an accept can lag its connect.
    in_flight = WINDOW_POLLS

    def outcome() -> tuple[str, list[ConnectionRecord]] | None:
        after = [c for c in cw.observer.connections() if c.at >= refetch.answered_at]
        refused = [c for c in after if c.closed_at is not None and c.requests == 0]
        if refused:
            return "refused", refused
        served = [c for c in after if c.requests]
        return ("served", served) if len(served) > in_flight else None

    try:
        found, connections = cw.observer.recorder.wait_for(outcome, cw.target.timeout_s,
                                                           "a connection to the WFM after the rotation")
    except WaitTimeout:
        raise HarnessError("the client did not connect to the WFM after the bundle rotation") from None
    if found != "refused":
        ids = {c.id for c in connections}
        sent = [r for r in cw.observer.requests("wfm") if r.connection in ids]
        raise fail("TB-008", f"after the rotation the client talked {len(connections)} times to a WFM whose SVID "
                             f"chains only to the replaced anchor (first: {sent[0].describe() if sent else '?'}) and "
                             "never refused it; new anchors replace old ones")


@then("the client under test accepts the WFM's SVID from the new anchor")
def accepts_new_anchor(cw: ClientWorld) -> None:
    if not cw.target.server_identity("wfm-foreign-ca"):
        pytest.skip("the PKI of this run has no wfm-foreign-ca server material")
    since = cw.observer.mark()
    cw.counterpart.wfm.script.identity = "wfm-foreign-ca"
    cw.observer.await_(lambda: next(iter(cw.observer.requests("wfm", since)), None),
                       "talk to the WFM presenting an SVID from the new anchor", "TB-008", since)
