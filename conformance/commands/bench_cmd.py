"""``amc bench``: measure each registered benchmark against its bare loop and print the ratios.

Exit code 0 (it reports); with ``--require-goals``, 1 when a benchmark misses its goal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from conformance.bench import DEFAULT_SECONDS, Benchmark, BenchResult, load_benchmarks, measure
from conformance.bench.core import Clock

CLOCK: Clock = time.perf_counter
"""The clock ``amc bench`` measures with (tests replace it with a fake one)."""

_HEADER = ("BENCHMARK", "MEASURED/S", "LIMIT/S", "RATIO", "GOAL", "MET")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="measure speed as ratios against exactly defined bare loops")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only this benchmark (repeatable)")
    p.add_argument("--seconds", type=_positive_seconds, default=DEFAULT_SECONDS,
                   help=f"time budget per benchmark (default {DEFAULT_SECONDS:g})")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--require-goals", action="store_true",
                   help="exit 1 when a benchmark misses its goal")
    p.set_defaults(handler=bench_command)


def format_table(results: Sequence[BenchResult], benches: Sequence[Benchmark]) -> str:
    """The text report: an aligned table, then what each side of each benchmark does."""
    rows = [_HEADER] + [
        (r.name, f"{r.measured_per_s:,.0f}", f"{r.bare_per_s:,.0f}", f"{r.ratio:.2f}",
         f"{r.goal:.2f}" if r.goal else "—", ("yes" if r.met else "NO") if r.goal else "—")
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    lines.append("")
    for bench in benches:
        lines.append(f"{bench.name}: measured = {bench.description}; limit = {bench.limit}")
    return "\n".join(lines)


def harness_figures(names: set[str], seconds: float) -> str:
    """The harnesses' standalone figures (issues #3 and #4), for the benchmarks selected: cases/s
    of a generated mix and, for the webhook, the suite's own time per case outside ``send``."""
    lines = []
    if "webhook-case" in names:
        from conformance.bench.webhook_bench import measure_webhook

        w = measure_webhook(seconds)
        lines.append(f"webhook mix: {w.cases:,} cases, {w.cases_per_s:,.0f}/s against the "
                     f"reference; suite overhead {w.overhead_per_case * 1e3:.2f} ms per case "
                     f"(goal < 1 ms), target {w.target_per_case * 1e3:.2f} ms")
    if "account-case" in names:
        from conformance.bench.account_bench import measure_account

        a = measure_account(seconds)
        lines.append(f"account mix: {a.cases:,} judged cases, {a.cases_per_s:,.0f}/s on pyrevm "
                     "(owner path, bootstrap, invalid signature)")
    return "\n".join(["", *lines]) if lines else ""


def bench_command(args: argparse.Namespace) -> int:
    if "fuzz" in args.only:  # minutes: only when asked for (conformance.bench.fuzz_bench)
        from conformance.bench.fuzz_bench import run_fuzz_bench

        args.only = [name for name in args.only if name != "fuzz"]
        run_fuzz_bench(args.seconds, print)
        if not args.only:
            return 0
    benches = load_benchmarks().select(args.only)
    results = []
    for bench in benches:
        print(f"measuring {bench.name} ({args.seconds:g} s)…", file=sys.stderr)
        results.append(measure(bench, seconds=args.seconds, clock=CLOCK))
    if args.format == "json":
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        print(format_table(results, benches))
        print(harness_figures({b.name for b in benches}, args.seconds))
    missed = [r.name for r in results if not r.met]
    return 1 if args.require_goals and missed else 0
