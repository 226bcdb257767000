"""`margo-conformance mock operator`: assign or remove deployments on a running mock WFM.

This is what an operator command template calls when the harness judges the mock as if it were a
vendor's WFM (remote mode), so the command-template path is exercised end to end.
"""

from __future__ import annotations

import argparse
from urllib.parse import quote

import httpx

from .errors import ConfigError, HarnessError


def _token(args: argparse.Namespace) -> str:
    try:
        token = args.token_file.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"--token-file {args.token_file}: cannot read ({exc.strerror})") from None
    if not token:
        raise ConfigError(f"--token-file {args.token_file}: is empty")
    return token


def operate(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/") + "/operator/v1/clients/" + quote(args.client, safe="")
    headers = {"Authorization": f"Bearer {_token(args)}"}
    try:
        with httpx.Client(timeout=10.0) as client:
            if args.action == "assign":
                try:
                    body = args.file.read_bytes()
                except OSError as exc:
                    raise ConfigError(f"--file {args.file}: cannot read ({exc.strerror})") from None
                response = client.put(f"{base}/deployments", content=body, headers=headers)
                expected = 201
            else:
                response = client.delete(f"{base}/deployments/{quote(args.deployment, safe='')}", headers=headers)
                expected = 204
    except httpx.HTTPError as exc:
        raise HarnessError(f"mock operator API at {args.url}: {type(exc).__name__}: {exc}") from None
    if response.status_code != expected:
        raise HarnessError(f"mock operator API answered {response.status_code} to {args.action}: "
                           f"{response.text.strip()[:200]}")
    return 0
