"""Evidence: every HTTP exchange and TLS handshake outcome of a run, redacted, per step.

A verdict is only as good as what a reviewer can check behind it. The plugin hands each
`transport.Exchange` to `EvidenceRecorder.record` together with the scenario and step it happened
in; the recorder turns it into a plain, redacted record (request line, headers, bounded bodies,
status, TLS version, cipher, peer SPIFFE ID and certificate fingerprint, timing) and returns the
evidence id that results.json lists under the step. The document is written as evidence.json next
to results.json (format: docs/evidence.md).

Nothing secret is stored: headers, bodies, URLs and error texts go through `redact.Redactor`, and
`finalize` scrubs every stored string once more with all secrets learned during the run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .errors import ConfigError
from .redact import REDACTED, Redactor
from .transport import Exchange

EVIDENCE_FORMAT_VERSION = "1"
EVIDENCE_FILE = "evidence.json"
#: Longest body text kept, in characters; the rest is summarised by size (and digest).
BODY_TEXT_LIMIT = 64 * 1024

#: Response headers worth showing next to the request line in reports.
KEY_HEADERS = ("content-type", "etag", "location", "if-none-match", "if-match", "content-digest",
               "retry-after", "cache-control", "last-modified")


def _iso(epoch: float) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _media_type(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def body_record(data: bytes, media_type: str, redactor: Redactor) -> dict[str, Any]:
    """A body as evidence: text (redacted, bounded) or, for binary, size and sha256 only.

    The sha256 is of the bytes as received and is left out when anything was redacted (it would
    let a reader confirm a guessed secret).
    """
    record: dict[str, Any] = {"size": len(data), "media_type": media_type}
    if not data:
        return record | {"text": ""}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return record | {"binary": True, "sha256": hashlib.sha256(data).hexdigest()}
    shown = _redacted_text(text, media_type, redactor)
    if shown != text:
        record["redacted"] = True
    else:
        record["sha256"] = hashlib.sha256(data).hexdigest()
    if len(shown) > BODY_TEXT_LIMIT:
        record["truncated"] = True
        shown = shown[:BODY_TEXT_LIMIT]
    return record | {"text": shown}


def _redacted_text(text: str, media_type: str, redactor: Redactor) -> str:
    """JSON bodies: credential fields by name (original bytes kept when nothing changed)."""
    if "json" in media_type or text.lstrip()[:1] in ("{", "["):
        shown, parsed = redactor.json_text(text)
        if parsed:
            try:
                unchanged = json.loads(shown) == json.loads(text)
            except ValueError:
                unchanged = False
            return redactor.text(text) if unchanged else shown
    return redactor.text(text)


def tls_record(exchange: Exchange) -> dict[str, Any] | None:
    tls = exchange.tls
    if tls is None:
        return None
    record: dict[str, Any] = {"version": tls.version, "cipher": tls.cipher,
                              "peer_spiffe_ids": list(tls.peer_spiffe_ids)}
    cert = tls.peer_certificate
    if cert is not None:
        record["peer_certificate_sha256"] = cert.fingerprint(hashes.SHA256()).hex()
        record["peer_not_after"] = cert.not_valid_after_utc.isoformat()
    return record


@dataclass
class EvidenceRecorder:
    """Collects the run's exchanges as redacted records, in the order they happened."""

    redactor: Redactor = field(default_factory=Redactor)
    #: role -> identity name -> SPIFFE ID, to say who the harness was in each exchange.
    identities: dict[str, dict[str, str]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Prepended to each exchange id (`j2` makes `wfm-j2x0007`): parallel workers number their
    #: exchanges independently, and evidence ids must stay unique in the run.
    id_prefix: str = ""

    def record(self, role: str, exchange: Exchange, *, scenario: str = "", step: int | None = None,
               phase: str = "step") -> str:
        """Store one exchange; returns its evidence id (`<role>-<exchange id>`, unique in the run)."""
        r = self.redactor
        evidence_id = f"{role}-{self.id_prefix}{exchange.id}"
        record: dict[str, Any] = {
            "id": evidence_id,
            "role": role,
            "scenario": scenario,
            "step": step,
            "phase": phase,
            "client": {"name": exchange.client,
                       "spiffe_id": self.identities.get(role, {}).get(exchange.client, "")},
            "started": _iso(exchange.started),
            "duration_s": round(exchange.duration_s, 4),
            "request": {
                "method": exchange.method,
                "url": r.url(exchange.url),
                "headers": r.headers(exchange.request_headers),
                "body": body_record(exchange.request_body, _media_type(exchange.request_headers), r),
            },
            "outcome": exchange.outcome,
            "error": r.text(exchange.error),
            "response": None,
            "tls": tls_record(exchange),
        }
        if exchange.status is not None:
            record["response"] = {
                "status": exchange.status,
                "headers": r.headers(exchange.response_headers),
                "body": body_record(exchange.body, _media_type(exchange.response_headers), r),
            }
        self.records.append(record)
        return evidence_id

    def finalize(self) -> None:
        """Scrub every stored string again with all secrets learned during the run."""
        for index, record in enumerate(self.records):
            bodies = {}
            for key in ("request", "response"):
                if record[key] is not None:
                    bodies[key] = record[key].pop("body")
                    _rescrub_body(bodies[key], self.redactor)
            record = scrub_strings(record, self.redactor)
            for key, body in bodies.items():
                record[key]["body"] = body
            self.records[index] = record

    def document(self) -> dict[str, Any]:
        """The evidence.json document."""
        self.finalize()
        return {
            "format_version": EVIDENCE_FORMAT_VERSION,
            "redaction": REDACTION_NOTE,
            "body_text_limit": BODY_TEXT_LIMIT,
            "exchanges": self.records,
        }

    def write(self, path: Path) -> Path:
        from .reports.files import write_text_atomic

        write_text_atomic(path, json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n")
        return path


REDACTION_NOTE = (
    f"Credential headers, credential-named JSON fields, bearer/basic tokens, credential pairs, URL "
    f"passwords and PEM private keys are replaced by {REDACTED}; so is any value learned as secret "
    f"anywhere in the run. A body's sha256 is omitted when anything in it was redacted."
)


def _rescrub_body(body: dict[str, Any], redactor: Redactor) -> None:
    text = body.get("text")
    if not text:
        return
    cleaned = redactor.text(text)
    if cleaned != text:
        body["text"] = cleaned
        body["redacted"] = True
        body.pop("sha256", None)


def scrub_strings(value: Any, redactor: Redactor) -> Any:
    """`value` (JSON-like) with `redactor.text` applied to every string, keys included."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        return {scrub_strings(k, redactor): scrub_strings(v, redactor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_strings(v, redactor) for v in value]
    return value


def read_evidence(path: Path) -> dict[str, Any]:
    """Read an evidence.json; ConfigError naming the file when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read evidence: {exc}") from None
    if not isinstance(data, dict) or data.get("format_version") != EVIDENCE_FORMAT_VERSION \
            or not isinstance(data.get("exchanges"), list):
        raise ConfigError(f"{path}: not an evidence.json of format_version {EVIDENCE_FORMAT_VERSION!r}")
    return data


# --- identities ----------------------------------------------------------------------------------


def certificate_facts(pem_file: Path) -> list[dict[str, str]]:
    """Fingerprint, subject, SPIFFE ID and expiry of each certificate in a PEM file (never keys)."""
    from .spiffe import spiffe_ids_of

    try:
        certs = x509.load_pem_x509_certificates(Path(pem_file).read_bytes())
    except (OSError, ValueError):
        return []
    return [
        {
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
            "subject": cert.subject.rfc4514_string(),
            "spiffe_id": (spiffe_ids_of(cert) or [""])[0],
            "not_after": cert.not_valid_after_utc.isoformat(),
        }
        for cert in certs
    ]


def identity_facts(targets: dict[str, Any]) -> list[dict[str, str]]:
    """What each target's run used: trust anchors and the identities the harness presented.

    Read from the targets' attributes when they have them (`trust_bundle`, `identities`), so a
    role without certificates simply contributes nothing.
    """
    facts: list[dict[str, str]] = []
    for role, target in targets.items():
        bundle = getattr(target, "trust_bundle", None)
        if bundle is not None:
            for cert in certificate_facts(bundle):
                facts.append({"role": role, "kind": "trust-anchor", "name": "trust bundle", "note": ""} | cert)
        for name, ident in sorted((getattr(target, "identities", None) or {}).items()):
            for cert in certificate_facts(ident.cert)[:1]:
                facts.append({"role": role, "kind": "harness", "name": name,
                              "note": getattr(ident, "note", "") or ""} | cert)
    return facts


def peer_facts(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Distinct certificates the roles under test presented, as seen in the evidence."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for record in records:
        tls = record.get("tls") or {}
        sha = tls.get("peer_certificate_sha256")
        if sha and (record["role"], sha) not in seen:
            seen[(record["role"], sha)] = {
                "role": record["role"], "kind": "peer", "name": "presented by the role under test",
                "note": "", "sha256": sha, "subject": "",
                "spiffe_id": ", ".join(tls.get("peer_spiffe_ids") or []), "not_after": tls.get("peer_not_after", ""),
            }
    return list(seen.values())


def spiffe_map(targets: dict[str, Any]) -> dict[str, dict[str, str]]:
    """role -> identity name -> SPIFFE ID, for naming the harness's side of each exchange."""
    return {
        role: {name: ident.spiffe_id or "" for name, ident in (getattr(target, "identities", None) or {}).items()}
        for role, target in targets.items()
    }


def scrub_run(run: Any, redactor: Redactor) -> None:
    """Scrub the texts of a RunResult that may quote the system under test (reasons, messages)."""
    for scenario in run.scenarios:
        scenario.reason = redactor.text(scenario.reason)
        for step in scenario.steps:
            step.message = redactor.text(step.message)
    run.selection = scrub_strings(run.selection, redactor)
    run.targets = scrub_strings(run.targets, redactor)
