"""What the validator found, and how it is shown.

A finding always names the file (inside the package when there is one) and the field, so an app
vendor can go straight to the line; severity `error` makes the package invalid (exit 1), `warning`
is advice that does not (e.g. a stray file beside margo.yaml).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
Path_ = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def json_path(path: Path_) -> str:
    """`$.deploymentProfiles[0].type` from ("deploymentProfiles", 0, "type")."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part) + "]"
    return out


@dataclass(frozen=True)
class Finding:
    """One rule the package or document breaks (or, as a warning, should look at)."""

    severity: Severity
    file: str
    message: str
    path: str = ""  # JSON path inside the document, "" for package-level findings
    line: int | None = None
    requirement: str | None = None  # catalogue ID, when one rule of the spec is at stake

    def location(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.path}" if self.path else where

    def text(self) -> str:
        req = f" [{self.requirement}]" if self.requirement else ""
        return f"{self.severity.upper():7} {self.location()}: {self.message}{req}"


@dataclass
class Report:
    """Everything one `validate` run found, plus what it looked at."""

    target: str
    form: str = ""  # "document", "directory", "archive", "oci-layout", "oci-registry"
    documents: list[str] = field(default_factory=list)  # "margo.yaml (ApplicationDescription)"
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        verdict = "VALID" if self.valid else "INVALID"
        looked = ", ".join(self.documents) or "nothing validated"
        return (f"{verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s) "
                f"[{self.form}: {self.target}; {looked}]")

    def to_text(self) -> str:
        lines = [f.text() for f in self.findings]
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"target": self.target, "form": self.form, "valid": self.valid, "documents": self.documents,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "findings": [asdict(f) for f in self.findings]}
