"""The `margo-conformance` command.

Exit codes (docs/architecture.md): 0 every selected required check passed; 1 the system under
test failed a check; 2 usage or configuration error; 3 harness or environment error. Errors are
one line naming the file, field or endpoint; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__, pki, spec
from .errors import EXIT_HARNESS, EXIT_USAGE, ConfigError, HarnessError
from .results import ScenarioResult

PROG = "margo-conformance"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=f"Conformance test harness for the {spec.SPEC_NAME} {spec.SPEC_VERSION}.",
        epilog="Exit codes: 0 passed, 1 the system under test failed a check, 2 usage or configuration "
        "error, 3 harness or environment error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} (spec {spec.SPEC_VERSION})")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of harness errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _run_parser(sub)
    _mock_parser(sub)
    _pki_parser(sub)
    _requirements_parser(sub)
    _validate_parser(sub)
    from .signing.commands import add_parsers as _evidence_parsers

    _evidence_parsers(sub)
    return parser


def _run_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the suite (default: every role, against the bundled mocks)")
    run.add_argument("--config", type=Path, help="TOML file pointing roles at real endpoints")
    run.add_argument("--output", type=Path, help="folder for results (default: a fresh reports/run-<time>/)")
    run.add_argument("--role", action="append", default=[], help="only scenarios judging this role (repeatable)")
    run.add_argument("--profile", action="append", default=[], help="only scenarios of this profile (repeatable)")
    run.add_argument("--requirement", action="append", default=[], metavar="ID",
                     help="only scenarios tagged with this requirement (repeatable)")
    run.add_argument("--tags", default="", metavar="EXPR",
                     help="tag expression, e.g. 'req:DS-007 or (role:wfm and not profile:gateways)'")
    run.add_argument("--fault", action="append", default=[], metavar="ROLE:NAME",
                     help="inject a named fault into a bundled mock, to prove scenarios can fail")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--jobs", default="auto", metavar="N|auto",
                     help="worker processes (default auto: min(2, CPUs) when every target is a bundled mock, "
                     "else 1; vendor endpoints are never judged concurrently)")
    run.add_argument("--expected-failures", type=Path, metavar="FILE",
                     help="known failures (scenario or requirement ids, each with a reason): exit 0 unless a new "
                     "one appears; see docs/ci-gating.md")


def _mock_parser(sub: argparse._SubParsersAction) -> None:
    mock = sub.add_parser("mock", help="serve a bundled mock as a standalone process")
    roles = mock.add_subparsers(dest="mock_role", metavar="ROLE", required=True)
    for role in STANDALONE_MOCKS:
        roles.add_parser(role, help=f"the bundled mock {role} (see 'mock {role} --help')", add_help=False)
    op = roles.add_parser("operator", help="operate a running mock WFM: assign or remove deployments")
    op.add_argument("--url", required=True, help="the mock's operator URL (from its ready line)")
    op.add_argument("--token-file", type=Path, required=True, help="file holding the operator token")
    action = op.add_subparsers(dest="action", metavar="ACTION", required=True)
    assign = action.add_parser("assign", help="assign a deployment YAML to a client")
    assign.add_argument("--client", required=True, help="the client's SPIFFE ID")
    assign.add_argument("--file", type=Path, required=True, help="ApplicationDeployment YAML")
    remove = action.add_parser("remove", help="remove a deployment from a client")
    remove.add_argument("--client", required=True, help="the client's SPIFFE ID")
    remove.add_argument("--deployment", required=True, help="the deployment id")
    package = action.add_parser("deploy-package", help="import a package from a registry and deploy it to a device "
                                "(registry credential from MARGO_REGISTRY_USERNAME/MARGO_REGISTRY_PASSWORD); "
                                "exit 1 when the WFM refuses")
    package.add_argument("--client", required=True, help="the client's SPIFFE ID")
    package.add_argument("--device", required=True, help="the deviceId the client reported")
    package.add_argument("--registry", required=True, help="the registry's https:// URL")
    package.add_argument("--repository", required=True, help="the package's repository")
    package.add_argument("--tag", required=True, help="the package's tag (its metadata.version)")
    package.add_argument("--registry-ca", type=Path, help="PEM CA certificate(s) for the registry")
    package.add_argument("--parameters", type=Path, help="JSON file: parameter name -> value")
    package.add_argument("--deployment", default="", help="change this deployment's values instead")


def _pki_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pki", help="write a test PKI (trust bundle, WFM and client SVIDs, negative material)")
    p.add_argument("--out", type=Path, required=True, help="folder to write (created; must be empty)")
    p.add_argument("--trust-domain", default=pki.DEFAULT_TRUST_DOMAIN)
    p.add_argument("--wfm-id", default=pki.DEFAULT_WFM_ID)
    p.add_argument("--client", action="append", default=[], help="client id (repeatable; default alpha, beta)")


def _validate_parser(sub: argparse._SubParsersAction) -> None:
    from .validate.command import configure

    configure(sub.add_parser("validate", help="validate an application package or a Margo document "
                             "(exit 0 valid, 1 invalid); see docs/validate.md"))


def _requirements_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("requirements", help="list the requirement catalogue")
    r.add_argument("--coverage", action="store_true", help="per role, area and level: how many have scenarios")
    r.add_argument("--json", action="store_true", help="machine-readable output")


#: Bundled mocks with their own command line: `mock <role> ...` hands the rest of argv to them.
STANDALONE_MOCKS = {"wfm": "margo_conformance.mocks.wfm", "client": "margo_conformance.mocks.client"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and argv[0] == "mock" and argv[1] in STANDALONE_MOCKS:
        return _standalone_mock(argv[1], argv[2:])
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HarnessError as exc:
        print(f"{PROG}: harness error: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_HARNESS
    except Exception as exc:
        if args.debug:
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_HARNESS


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "mock":
        return _cmd_mock(args)
    if args.command == "pki":
        return _cmd_pki(args)
    if args.command == "validate":
        from .validate.command import run as run_validate

        return run_validate(args)
    if args.command in ("keygen", "bundle", "verify"):
        from .signing.commands import run_command

        return run_command(args)
    return _cmd_requirements(args)


def _faults(values: list[str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for value in values:
        role, sep, name = value.partition(":")
        if not sep or role not in spec.ROLES or not name:
            raise ConfigError(f"--fault {value!r}: expected ROLE:NAME with ROLE one of {', '.join(spec.ROLES)}")
        out.setdefault(role, set()).add(name)
    from .fault_matrix import fault_names

    for role, names in out.items():
        try:
            known = fault_names(role)
        except ValueError:
            raise ConfigError(f"--fault {role}:...: the bundled {role} mock has no named faults") from None
        unknown = sorted(names - set(known))
        if unknown:
            hint = (f"see 'margo-conformance mock {role} --list-faults'" if role in STANDALONE_MOCKS
                    else f"known: {', '.join(sorted(known))}")
            raise ConfigError(f"--fault {role}:{unknown[0]}: unknown fault ({hint})")
    return {k: frozenset(v) for k, v in out.items()}


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .runner import RunRequest, execute
    from .selection import Selection

    for role in args.role:
        if role not in spec.ROLES:
            raise ConfigError(f"--role {role!r}: unknown role (known: {', '.join(spec.ROLES)})")
    config = load_config(args.config)
    selection = Selection(roles=frozenset(args.role), profiles=frozenset(args.profile),
                          requirements=frozenset(args.requirement), expression=args.tags)
    faults = _faults(args.fault)
    if config.certification and (args.profile or args.requirement or args.tags or faults):
        raise ConfigError(f"{config.source}: run.certification is true: a certification run judges every core "
                          "scenario of the selected roles, so --profile, --requirement, --tags and --fault are refused")
    if faults and config.wfm is not None and "wfm" in faults:
        raise ConfigError("--fault wfm:...: faults apply to the bundled mock, but the configuration names a real WFM")
    if faults and config.client is not None and config.client.remote and "client" in faults:
        raise ConfigError("--fault client:...: faults apply to the bundled mock client, "
                          "but [client] runs a remote agent")
    from .jobs import parse_jobs

    jobs = parse_jobs(args.jobs)
    request = RunRequest(config=config, selection=selection, output=args.output, faults=faults,
                         progress=None if args.quiet else _progress, expected_failures=args.expected_failures,
                         jobs=jobs)
    outcome = execute(request)
    _summary(outcome)
    return outcome.exit_code


_LABEL = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR", "skip": "SKIP "}


def _progress(result: ScenarioResult, done: int, total: int) -> None:
    width = len(str(total))
    line = f"[{done:>{width}}/{total}] {_LABEL[result.verdict]} {result.feature_file}: {result.name}"
    if result.verdict != "pass" and result.reason:
        line += f"\n{' ' * (width * 2 + 4)}{result.reason.splitlines()[0][:300]}"
    print(line, flush=True)


def _summary(outcome: object) -> None:
    result = outcome.result  # type: ignore[attr-defined]
    counts = result.summary["scenarios"]
    reqs = result.summary["requirements"]
    print(
        f"\n{counts['total']} scenarios: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['error']} errors, {counts['skip']} skipped"
        f"\n{reqs['judged']} of {reqs['total']} catalogue requirements judged: {reqs['pass']} pass, "
        f"{reqs['fail']} fail, {reqs['error']} error, {reqs['skip']} skip"
        f"\nverdict: {result.summary['verdict'].upper()} (exit {outcome.exit_code})"  # type: ignore[attr-defined]
    )
    if result.gate:
        from .gate import format_gate

        print(format_gate(result.gate))
    for name, path in outcome.files.items():  # type: ignore[attr-defined]
        print(f"{name}: {path}")


def _standalone_mock(role: str, argv: list[str]) -> int:
    import importlib

    return importlib.import_module(STANDALONE_MOCKS[role]).serve_main(argv)


def _cmd_mock(args: argparse.Namespace) -> int:
    from .operator_client import operate

    return operate(args)


def _cmd_pki(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {out}: exists and is not an empty folder")
    made = pki.generate(out, trust_domain=args.trust_domain, wfm_id=args.wfm_id,
                        clients=args.client or list(pki.DEFAULT_CLIENTS))
    print(f"test PKI written to {out} (private keys are mode 0600; never commit them)")
    print(f"trust bundle:  {made.trust_bundle}")
    print(f"WFM SVID:      {made.wfm.spiffe_id}  {made.wfm.cert}")
    for ident in made.clients.values():
        print(f"client SVID:   {ident.spiffe_id}  {ident.cert}")
    for ident in made.negative.values():
        print(f"negative:      {ident.name:<15} {ident.note}")
    print(f"accepted-client policy: {out / 'accepted-clients.txt'}")
    return 0


def _cmd_requirements(args: argparse.Namespace) -> int:
    from .catalogue import load_catalogue
    from .catalogue.coverage import coverage, format_catalogue, format_coverage
    from .features_index import index_features
    from .runner import features_root

    catalogue = load_catalogue()
    scenarios = index_features(features_root())
    if args.coverage:
        cov = coverage(catalogue, scenarios)
        print(json.dumps(cov.to_dict(), indent=2) if args.json else format_coverage(cov))
        return 0
    if args.json:
        print(json.dumps([r.__dict__ for r in catalogue.requirements], indent=2, default=list))
        return 0
    print(format_catalogue(catalogue, scenarios))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
