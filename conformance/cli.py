"""``amc``: the command line, a thin shell over the Python API (STYLE.md 9).

Exit codes (ARCHITECTURE.md): 0 every applicable MUST rule passes; 1 a MUST rule FAILs or ERRORs
(SHOULD too with ``--strict``); 2 the run could not start or go on (bad option, profile or
target), always with a one-line cause and never a traceback; 130/143 interrupted by
SIGINT/SIGTERM (the partial report says ``aborted``; ``engine.run``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from conformance.errors import UsageError

Handler = Callable[[argparse.Namespace], int]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that keeps the examples' line breaks and shows every option's real default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or action.option_strings == [] or default is None
                or default is False or default == [] or default is argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


EXAMPLES = """examples:
  amc run webhook --url http://127.0.0.1:8787 --target-version 2.4.0
  amc run account --artifact out/ClusterMember.json --baseline known.toml
  amc run webhook --reference --mutant skip-chain-check --rule WH-013 --repeat 3
  amc rules WH-013
  amc report diff reports/v2.3/ reports/v2.4/ --format markdown
  amc report matrix reports/*/ --report-dir reports/matrix
  amc report attest reports/v2.4/ --key amc-attest.key --output v2.4.intoto.json

exit codes: 0 every applicable MUST rule passes; 1 a rule fails the gate; 2 bad input
(one line on stderr)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (the usage is one ``amc X --help`` away), defaults in
    the help and examples kept as written."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        where = self.prog.removeprefix("amc").strip()
        raise UsageError(f"{where}: {message}" if where else message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options every running verb shares, with the same names everywhere."""
    parser.add_argument(
        "--profile", default=None, help="shipped profile name or path to a profile TOML"
    )
    parser.add_argument(
        "--report-dir",
        default=None,
        type=Path,
        help="where reports go (default: a fresh folder under reports/)",
    )
    parser.add_argument("--seed", type=int, default=None, help="replay a run's seed")
    parser.add_argument(
        "--seconds", type=_seconds, default=None,
        help="time budget in seconds: no check starts after it (amc run all: of the whole command)",
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=1, help="parallel workers (pytest-xdist)"
    )
    parser.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="GLOB",
        help="only rules matching this id glob (repeatable)",
    )
    parser.add_argument(
        "--exclude-rule",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out rules matching this id glob (repeatable)",
    )
    parser.add_argument("--strict", action="store_true", help="SHOULD rules count too")
    parser.add_argument(
        "--max-examples",
        type=_positive_int,
        default=50,
        help="hypothesis examples per generated check",
    )
    parser.add_argument(
        "--slow", action="store_true", help="include checks that wait on wall-clock time (nightly)"
    )
    parser.add_argument(
        "--hypothesis-db",
        default=None,
        help="directory for hypothesis' example database (share it in CI)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole ``amc`` command tree."""
    from conformance import commands

    parser = _Parser(prog="amc", description="AttestMesh protocol conformance suite",
                     epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.register_all(sub)
    return parser


def version_text() -> str:
    """``amc --version``: the suite's version and the rule catalogue it judges against."""
    from conformance import __version__
    from conformance.rules import load_catalogue

    catalogue = load_catalogue()
    return (f"amc (attestmesh-conformance) {__version__}, rule catalogue "
            f"{catalogue.digest} ({len(catalogue)} rules), Python {sys.version.split()[0]}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``amc`` console script."""
    try:
        args = build_parser().parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except UsageError as exc:
        print(f"amc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("amc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # an internal fault of the suite, not of the target
        if os.environ.get("AMC_DEBUG"):
            traceback.print_exc()
        print(
            f"amc: internal error: {type(exc).__name__}: {exc} (AMC_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


def print_json(data: object) -> None:
    """Machine output on stdout."""
    print(json.dumps(data, indent=2, sort_keys=False))


if __name__ == "__main__":
    sys.exit(main())
