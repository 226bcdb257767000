"""`MockClient`: the bundled WFM Client agent (device side of the Margo Management Interface).

One loop, in its own thread (or the process's main thread under `margo-conformance mock client`):
refresh trust if due, report capabilities when they are new or changed (the first exchange,
CAP-001/002), poll the desired state conditionally (DS-001, DS-005, DS-028), and reconcile a new
manifest: check its version (DS-027) and digests (DS-039), download and verify the changed content
(DS-024/025), remove what left the manifest (DS-029), install what is new or changed, and report
every state change (DS-030, STS-*). 429/503 pause every request until Retry-After has elapsed
(ERR-014/015); connection failures back off exponentially and never stop the agent (SEC-013).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import documents, store
from .config import MockClientConfig
from .credentials import SecretProvider, SecretStore
from .identity import expected_wfm_id, own_spiffe_id, trust_domain_of
from .oci import Puller
from .otel import Collector, dead_endpoint
from .reconcile import JSON, Reconciler
from .runtime import Runtime
from .trust import Trust
from .wire import Answer, PeerRejected, Unreachable, Wire, plain_request, wfm_context

MANIFEST_MEDIA_TYPE = "application/vnd.margo.manifest.v1+json"
MARGO_PROBLEMS = "https://docs.margo.org/specification/problem-types#"


class Throttled(Exception):
    def __init__(self, delay: float) -> None:
        super().__init__(f"throttled for {delay:g} s")
        self.delay = delay


class MockClient(Reconciler):
    """Start with `start()` (background thread) or `run()` (blocking); stop with `stop()`."""

    def __init__(self, config: MockClientConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.faults = config.faults
        self.log = logger or logging.getLogger("margo_conformance.mocks.client")
        self.own_id = own_spiffe_id(config.cert)
        self.expected_wfm = expected_wfm_id(self.own_id)
        self.state = store.AgentState() if "no-persist" in self.faults else store.load(config.state_dir)
        self.trust = Trust(config, trust_domain_of(self.own_id))
        self.collector = None if "no-otel-collector" in self.faults else Collector()
        self.runtime: Runtime | None = None
        #: registry credentials read from the secret provider (memory only: never in state files or logs)
        self.secret_store = SecretStore()
        self.secret_provider = SecretProvider(config.secret_provider_url, config.secret_provider_ca, config.cert,
                                              config.key, config.request_timeout) \
            if config.secret_provider_url and config.secret_provider_ca else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wire: Wire | None = None
        self._wire_generation = -1
        self._reported: dict[str, dict] = {}
        self._not_before = 0.0
        self._failures = 0
        self._polled = False
        self._failed_once: set[tuple[str, str]] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> MockClient:
        self._prepare()
        self._thread = threading.Thread(target=self._loop, name="mock-client", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Run in the calling thread until `stop()` (or a signal handler calling it)."""
        self._prepare()
        self._loop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self.collector is not None:
            self.collector.stop()

    def _prepare(self) -> None:
        endpoint = self.collector.start().endpoint if self.collector else dead_endpoint()
        puller = Puller(self.faults, self.config.request_timeout, self.config.registry_ca or self.config.trust_bundle)
        self.runtime = Runtime(self.config.state_dir, puller, self.faults, endpoint, self.config.request_timeout)

    def snapshot(self) -> dict[str, Any]:
        """What the device looks like now: adopted version, ETag, deployments, running workloads."""
        return {"manifestVersion": self.state.manifest_version, "etag": self.state.etag,
                "deployments": {k: v.digest for k, v in self.state.deployments.items()},
                "runtime": self.runtime.snapshot() if self.runtime else {},
                "secretStore": self.secret_store.presence()}

    # -- the loop --------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.config.poll_interval
            now = time.monotonic()
            if now < self._not_before:
                self._stop.wait(self._not_before - now)
                continue
            try:
                self._cycle()
                self._failures = 0
            except Throttled as exc:
                self._not_before = time.monotonic() + exc.delay
                wait = 0
            except (Unreachable, PeerRejected) as exc:
                self._failures += 1
                self.log.info("WFM not reachable (%s attempt(s)): %s", self._failures, exc)
                if "gives-up" in self.faults and self._failures >= 3:
                    self.log.warning("giving up after %s failures", self._failures)
                    return
                wait = min(self.config.poll_interval * 2 ** min(self._failures, 10), self.config.max_backoff)
            except Exception:  # the agent must outlive its own bugs; they are logged loudly
                self.log.exception("unexpected error in the agent loop")
            self._stop.wait(wait)

    def _cycle(self) -> None:
        self.trust.refresh_if_due()
        if not self.trust.usable:
            raise Unreachable("no trust bundle: nothing can be validated yet")
        wire = self._wire_now()
        if "caps-not-first" in self.faults and not self._polled:
            self._polled = True
            self._poll(wire)
        self._report_capabilities(wire)
        self._poll(wire)

    def _wire_now(self) -> Wire:
        if self._wire is None or self._wire_generation != self.trust.generation:
            faults = self.faults | ({"accept-any-ca"} if self.trust.insecure else set())
            context = wfm_context(self.config.cert, self.config.key, self.trust.pem, frozenset(faults))
            self._wire = Wire(self.config.wfm_url, context, self.expected_wfm, self.faults,
                              self.config.request_timeout)
            self._wire_generation = self.trust.generation
        return self._wire

    # -- requests --------------------------------------------------------------------------------
    def _call(self, wire: Wire, method: str, path: str, headers: dict[str, str] | None = None,
              body: bytes | None = None) -> Answer:
        held = self.secret_store.all() if "sends-credential-to-wfm" in self.faults else []
        if held:
            basic = base64.b64encode(f"{held[0].username}:{held[0].password}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {basic}"}
        answer = wire.request(method, path, headers, body)
        problem = self._problem(answer)
        if problem is not None and "fetch-problem-type" in self.faults:
            self._dereference(str(problem.get("type", "")))
        retryable = answer.status in (429, 503) or (problem is not None and problem.get("retryable") is True)
        if retryable:
            raise Throttled(self._retry_delay(answer, problem))
        return answer

    @staticmethod
    def _problem(answer: Answer) -> dict | None:
        if not (answer.header("content-type") or "").startswith("application/problem+json"):
            return None
        try:
            found = json.loads(answer.body)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    def _dereference(self, type_uri: str) -> None:
        if type_uri.startswith("http://") and not type_uri.startswith(MARGO_PROBLEMS):
            with contextlib.suppress(Unreachable):
                plain_request(type_uri, timeout=self.config.request_timeout)

    def _retry_delay(self, answer: Answer, problem: dict | None) -> float:
        """Retry-After is authoritative (ERR-015); without it, exponential backoff (ERR-014)."""
        if "ignore-retry-after" in self.faults:
            return self.config.poll_interval
        body_value = (problem or {}).get("retryAfterSeconds")
        if "retry-after-from-body" in self.faults and isinstance(body_value, int):
            return float(body_value)
        header = (answer.header("retry-after") or "").strip()
        if header.isdigit():
            return float(header)
        if header:
            from email.utils import parsedate_to_datetime

            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
        self._failures += 1
        return min(self.config.poll_interval * 2 ** min(self._failures, 10), self.config.max_backoff)

    # -- capabilities ----------------------------------------------------------------------------
    def _devices(self) -> list[tuple[str, bool]]:
        base = self.config.device_id.replace("-", " ", 1) if "caps-bad-device-id" in self.faults \
            else self.config.device_id
        if not self.config.gateway:
            return [(base, True)]
        children = [] if "children-unreported" in self.faults else [(f"{base}/{c}", True)
                                                                     for c in self.config.children]
        gateway = [(base, False)]
        return children + gateway if "child-before-gateway" in self.faults else gateway + children

    def _report_capabilities(self, wire: Wire) -> None:
        for device_id, hosting in self._devices():
            document = documents.capabilities(self.config, device_id, hosting=hosting)
            if self._reported.get(device_id) == document:
                continue
            if device_id in self._reported and "no-re-report" in self.faults:
                continue
            path = f"/api/v1/capabilities/{quote(device_id, safe='/')}"
            answer = self._call(wire, "PUT", path, JSON, json.dumps(document).encode())
            if answer.status in (200, 201):
                self._reported[device_id] = document
            else:
                self.log.warning("capabilities report for %s refused: HTTP %s", device_id, answer.status)

    # -- desired state ---------------------------------------------------------------------------
    def _poll(self, wire: Wire) -> None:
        headers = {} if "no-accept" in self.faults else {"Accept": MANIFEST_MEDIA_TYPE}
        if self.state.etag and "no-if-none-match" not in self.faults:
            headers["If-None-Match"] = self.state.etag
        answer = self._call(wire, "GET", "/api/v1/deployments", headers)
        if answer.status != 200:
            return
        try:
            manifest = json.loads(answer.body)
        except ValueError:
            self.log.warning("the manifest is not JSON; ignored")
            return
        if isinstance(manifest, dict):
            self._reconcile(wire, manifest, answer.header("etag"))

def labels_file(state_dir: Path) -> Path:
    """Where a test changes the device's labels (CAP-002): JSON object, merged over the configured ones."""
    return Path(state_dir) / documents.LABELS_FILE
