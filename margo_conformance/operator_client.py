"""`margo-conformance mock operator`: assign or remove deployments on a running mock WFM.

This is what an operator command template calls when the harness judges the mock as if it were a
vendor's WFM (remote mode), so the command-template path is exercised end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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


def _package_body(args: argparse.Namespace) -> bytes:
    """The operator API's package request; the credential comes from the environment only."""
    def read(path, what: str) -> str:
        try:
            return path.read_text() if path is not None and str(path) not in ("", ".") else ""
        except OSError as exc:
            raise ConfigError(f"--{what} {path}: cannot read ({exc.strerror})") from None

    try:
        parameters = json.loads(read(args.parameters, "parameters") or "{}")
    except ValueError:
        raise ConfigError(f"--parameters {args.parameters}: is not JSON") from None
    body = {"deviceId": args.device, "registry": args.registry, "repository": args.repository, "tag": args.tag,
            "registryCa": read(args.registry_ca, "registry-ca") or None, "parameters": parameters,
            "username": os.environ.get("MARGO_REGISTRY_USERNAME", ""),
            "password": os.environ.get("MARGO_REGISTRY_PASSWORD", ""), "deploymentId": args.deployment or None}
    return json.dumps(body).encode()


def operate(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/") + "/operator/v1/clients/" + quote(args.client, safe="")
    headers = {"Authorization": f"Bearer {_token(args)}"}
    if args.action == "deploy-package":
        body = _package_body(args)
        try:
            with httpx.Client(timeout=60.0) as client:
                response = client.post(f"{base}/packages", content=body,
                                       headers={**headers, "Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise HarnessError(f"mock operator API at {args.url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 422:  # the WFM refused: exit 1 with the reason
            try:
                detail = str(response.json().get("detail", ""))
            except ValueError:
                detail = response.text.strip()[:200]
            print(f"refused: {detail}", file=sys.stderr)
            return 1
        if response.status_code != 201:
            raise HarnessError(f"mock operator API answered {response.status_code} to deploy-package: "
                               f"{response.text.strip()[:200]}")
        print(response.json().get("deploymentId", ""))
        return 0
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
