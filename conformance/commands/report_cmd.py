"""``amc report``: re-render reports from a results.json, and compare two releases."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="render reports or compare two runs")
    verbs = p.add_subparsers(dest="report_verb", required=True)
    render = verbs.add_parser("render", help="write junit.xml and report.html from results.json")
    render.add_argument("results", type=Path)
    render.add_argument("--out", type=Path, default=None, help="output folder (default: beside)")
    render.set_defaults(handler=render_command)
    diff = verbs.add_parser("diff", help="compare a release's results with the previous one")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    diff.set_defaults(handler=diff_command)


def _read(path: Path):  # type: ignore[no-untyped-def]
    from conformance.report import read_results

    if not path.is_file():
        raise UsageError(f"{path}: no such results file")
    return read_results(path)


def render_command(args: argparse.Namespace) -> int:
    from conformance.report import write_reports

    run = _read(args.results)
    out = args.out or args.results.parent
    for kind, path in write_reports(run, out).items():
        print(f"{kind}: {path}")
    return 0


def diff_command(args: argparse.Namespace) -> int:
    from conformance.report.compare import compare_runs, format_comparison

    comparison = compare_runs(_read(args.old), _read(args.new))
    print(format_comparison(comparison, args.format))
    return comparison.exit_code()
