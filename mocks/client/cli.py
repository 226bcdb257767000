"""`serve_main`: run the mock WFM Client as a process until SIGTERM/SIGINT (`margo-conformance mock client`).

Prints one ready line on stdout once the agent runs, so a supervisor can wait for it. Exit codes:
0 after a clean stop, 2 for usage errors, 3 if it cannot start.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from margo_conformance import pki as pki_module

from ..common.cli import EXIT_ENVIRONMENT, EXIT_OK, Parser, UsageError, parse_command_line
from .agent import MockClient
from .config import DOWNLOADS, MockClientConfig
from .faults import FAULTS


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="margo-conformance mock client", description="Run the bundled mock WFM Client (device agent).")
    p.add_argument("--wfm-url", help="https:// URL of the WFM")
    p.add_argument("--pki", type=Path, help="folder written by `margo-conformance pki` (SVID and trust bundle)")
    p.add_argument("--client", default="alpha", help="which client SVID of --pki to use (default alpha)")
    p.add_argument("--cert", type=Path, help="client SVID chain (leaf + intermediates), instead of --pki")
    p.add_argument("--key", type=Path, help="client SVID key, instead of --pki")
    p.add_argument("--trust-bundle", type=Path, help="trust bundle file, instead of --pki")
    p.add_argument("--mis-url", help="fetch the trust bundle from this MIS discovery URL instead")
    p.add_argument("--mis-pin", help="base64 SHA-256 SPKI pin authenticating the MIS (with --mis-url)")
    p.add_argument("--state-dir", type=Path, help="where the agent keeps its state (created)")
    p.add_argument("--device-id", help="the device id to report (default edge-<client>)")
    p.add_argument("--poll-interval", type=float, default=5.0, help="seconds between desired-state polls")
    p.add_argument("--max-backoff", type=float, default=60.0, help="longest wait after failures, seconds")
    p.add_argument("--download", choices=DOWNLOADS, default="deployments",
                   help="fetch changed deployment YAMLs (default) or the bundle")
    p.add_argument("--gateway-child", action="append", default=[], metavar="NAME",
                   help="act as a see-thru gateway with this child device (repeatable)")
    p.add_argument("--no-placement", action="store_true", help="as a gateway, do not place gw/* deployments")
    p.add_argument("--custom-runtime", action="store_true", help="also report the custom runtime")
    p.add_argument("--secret-provider-url", help="https:// URL of the secret provider holding registry credentials")
    p.add_argument("--secret-provider-ca", type=Path, help="CA certificate of the secret provider's server")
    p.add_argument("--registry-ca", type=Path, help="CA certificate of private registries (default: the trust bundle)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME", help="enable a fault (repeatable)")
    p.add_argument("--list-faults", action="store_true", help="list fault names and exit")
    p.add_argument("--verbose", action="store_true", help="log what the agent does on stderr")
    return p


def config_from_args(args: argparse.Namespace) -> MockClientConfig:
    """A MockClientConfig from parsed arguments; UsageError naming the option on bad input."""
    if not args.wfm_url:
        raise UsageError("--wfm-url is required")
    if args.state_dir is None:
        raise UsageError("--state-dir is required")
    cert, key, bundle = args.cert, args.key, args.trust_bundle
    device = args.device_id or f"edge-{args.client}"
    if args.pki is not None:
        if not (args.pki / "pki.json").is_file():
            raise UsageError(f"--pki {args.pki}: no pki.json (create one with `margo-conformance pki`)")
        made = pki_module.load(args.pki)
        if args.client not in made.clients:
            raise UsageError(f"--client {args.client!r}: not in {args.pki} (has {', '.join(made.clients)})")
        ident = made.clients[args.client]
        cert, key, bundle = cert or ident.cert, key or ident.key, bundle or made.trust_bundle
    if cert is None or key is None:
        raise UsageError("give --pki DIR, or --cert and --key")
    if args.mis_url:
        bundle = None
    for name, path in (("--cert", cert), ("--key", key), ("--trust-bundle", bundle),
                       ("--secret-provider-ca", args.secret_provider_ca), ("--registry-ca", args.registry_ca)):
        if path is not None and not Path(path).is_file():
            raise UsageError(f"{name} {path}: no such file")
    try:
        return MockClientConfig(
            wfm_url=args.wfm_url, cert=Path(cert), key=Path(key), trust_bundle=Path(bundle) if bundle else None,
            mis_url=args.mis_url, mis_pin=args.mis_pin, state_dir=args.state_dir, device_id=device,
            poll_interval=args.poll_interval, max_backoff=args.max_backoff, download=args.download,
            faults=frozenset(args.fault), children=tuple(args.gateway_child), placement=not args.no_placement,
            custom_runtime=args.custom_runtime, secret_provider_url=args.secret_provider_url,
            secret_provider_ca=args.secret_provider_ca, registry_ca=args.registry_ca,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse(argv: list[str]) -> MockClientConfig:
    """Parse a command line (also used by the harness to start the mock in-process)."""
    return config_from_args(_parser().parse_args(argv))


def serve_main(argv: list[str]) -> int:
    parsed = parse_command_line(_parser(), argv, "mock client", FAULTS, config_from_args)
    if isinstance(parsed, int):
        return parsed
    args, config = parsed
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="mock client: %(message)s", stream=sys.stderr)
    try:
        agent = MockClient(config)
    except (OSError, ValueError) as exc:
        print(f"mock client: cannot start: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT

    def handler(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    print(f"mock client ready spiffe_id={agent.own_id} wfm={config.wfm_url} state={config.state_dir}", flush=True)
    agent.run()
    return EXIT_OK
