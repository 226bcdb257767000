"""The `keygen`, `bundle` and `verify` subcommands (wired into cli.py).

Exit codes: 0 done / verified; 1 `verify` found an alteration (each one printed, naming the file,
the statement/signature, or the part of the archive); 2 bad input (missing or unreadable file,
wrong key type, not a run folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EXIT_FAIL, EXIT_OK
from . import keys
from .bundle import build
from .verify import verify_bundle

COMMANDS = ("keygen", "bundle", "verify")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    keygen = sub.add_parser("keygen", help="write an ECDSA P-256 key pair for signing result bundles")
    keygen.add_argument("--out", type=Path, required=True,
                        help=f"folder for {keys.PRIVATE_NAME} (mode 0600) and {keys.PUBLIC_NAME}")
    bundle = sub.add_parser("bundle", help="pack a run folder into a signed bundle (DSSE + in-toto)")
    bundle.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run's output folder")
    bundle.add_argument("--key", type=Path, required=True, help=f"private signing key (PEM; {keys.PASSPHRASE_ENV} "
                        "holds the passphrase of an encrypted one)")
    bundle.add_argument("--out", type=Path, help="bundle file (default: RUN_DIR.bundle.zip next to the folder)")
    verify = sub.add_parser("verify", help="check a bundle's files and signature offline; name what was altered")
    verify.add_argument("bundle", type=Path, metavar="BUNDLE")
    verify.add_argument("--pubkey", type=Path, required=True, help="the signer's public key (PEM)")


def run_command(args: argparse.Namespace) -> int:
    if args.command == "keygen":
        private, public = keys.generate(args.out)
        print(f"private key: {private} (mode 0600: keep it secret, never commit it, never bundle it)")
        print(f"public key:  {public} (publish it; reviewers verify bundles with it)")
        print(f"key id:      {keys.key_id(keys.load_public(public))}")
        return EXIT_OK
    if args.command == "bundle":
        key = keys.load_private(args.key)
        out = build(args.run_dir, key, args.out)
        print(f"bundle: {out} (signed by {keys.key_id(key.public_key())})")
        return EXIT_OK
    return _verify(args.bundle, args.pubkey)


def _verify(bundle: Path, pubkey: Path) -> int:
    public = keys.load_public(pubkey)
    result = verify_bundle(bundle, public)
    if not result.ok:
        for finding in result.findings:
            print(f"ALTERED {finding}")
        print(f"verify: FAILED: {bundle} does not match what {keys.key_id(public)} signed "
              f"({len(result.findings)} problem(s))")
        return EXIT_FAIL
    predicate = result.statement["predicate"]  # type: ignore[index]
    harness, spec = predicate.get("harness", {}), predicate.get("spec", {})
    print(f"verify: OK: {result.files} files match the statement signed by {keys.key_id(public)}")
    print(f"run: {predicate.get('started')} .. {predicate.get('ended')}, "
          f"verdict {predicate.get('verdict', '').upper()} "
          f"(exit {predicate.get('exit_code')}), harness {harness.get('version')} @ {harness.get('commit', '')[:12]}, "
          f"spec {spec.get('version')} @ {spec.get('commit', '')[:12]}")
    return EXIT_OK
