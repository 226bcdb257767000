"""How many worker processes a run uses (`run --jobs N|auto`), and why it is sometimes one.

Parallel runs (parallel.py) start one set of targets per worker. That is only safe when every
selected target is a bundled mock, which the harness starts privately for each worker on its own
loopback ports. A vendor endpoint from `--config` (a real WFM, a device agent behind hook
commands, a registry, or the real registry or OpenBao server the harness starts from its
configuration) is one shared system: concurrent sessions could interfere with each other (two
workers assigning deployments to the same test clients), a product may limit or refuse them, and a
human operator answering prompts cannot follow two runs at once. So `auto` means
min(2, CPU count) when every target is a bundled mock, and 1 otherwise; asking for more than one
job with a vendor endpoint is refused. Parallel runs need `fork` (Linux, macOS); elsewhere `auto`
is 1.
"""

from __future__ import annotations

import multiprocessing
import os

from .config import RunConfig
from .errors import ConfigError

JOBS_AUTO = "auto"
#: `auto` never uses more workers than this: the suite is split in roughly equal halves already,
#: and every worker starts its own mocks.
MAX_AUTO_JOBS = 2


def parse_jobs(value: str) -> int | None:
    """`--jobs` as given: a whole number of at least 1, or `auto` (None)."""
    text = str(value).strip().lower()
    if text == JOBS_AUTO:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"--jobs {value!r}: expected a whole number of at least 1, or 'auto'")
    return int(text)


def vendor_roles(config: RunConfig, roles: list[str]) -> list[str]:
    """The selected roles whose target is not a bundled mock (configured in `--config`)."""
    vendor = {
        "wfm": config.wfm is not None,
        "client": config.client is not None and bool(getattr(config.client, "remote", False)),
        "registry": config.registry is not None and getattr(config.registry, "implementation", "mock") != "mock",
        "secret-provider": config.secret_provider is not None and config.secret_provider.implementation != "mock",
    }
    return [role for role in roles if vendor.get(role, True)]


def can_fork() -> bool:
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


def resolve_jobs(requested: int | None, config: RunConfig, roles: list[str]) -> int:
    """The number of workers for a run of `roles`; ConfigError when the request cannot be honoured."""
    vendor = vendor_roles(config, roles)
    if requested is None:
        if vendor or not can_fork():
            return 1
        return max(1, min(MAX_AUTO_JOBS, os.cpu_count() or 1))
    if requested > 1 and vendor:
        raise ConfigError(f"--jobs {requested}: role(s) {', '.join(vendor)} use a vendor endpoint from the "
                          "configuration, which must not see concurrent sessions; use --jobs 1 (or auto)")
    if requested > 1 and not can_fork():
        raise ConfigError(f"--jobs {requested}: parallel runs need fork(), which this platform lacks; use --jobs 1")
    return requested
