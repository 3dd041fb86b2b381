"""Terminal reporter: renders run events as progress and the results as a per-rule summary.

The engine never prints; this module is the one place a run meets the terminal (rich). Fit
for a terminal and a CI log (issue 7 §8): without a TTY the progress is a plain line at least
every ``PLAIN_INTERVAL`` seconds; a failing rule is one line (its first failure, where its
reproducer is), never the reproducer itself; ``amc run all`` ends with one table of its runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.report.external import is_pointer
from conformance.report.model import Failure, RunResults, Verdict

if TYPE_CHECKING:
    from conformance.commands.run_all import ComponentRun

PLAIN_INTERVAL = 9.0
"""Seconds between progress lines without a TTY (the CI log shows one at least every 10 s)."""
LINE_LIMIT = 160
REPLAYABLE = ("webhook", "account")
"""Components whose failures ``amc replay`` replays."""
"""Characters of a failure message on a rule's one line."""

_STYLE = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.ERROR: "yellow",
    Verdict.SKIP: "dim",
}


class ProgressReporter:
    """Consumes ``events.ndjson`` events: a progress bar of checks on a terminal, plain progress
    lines elsewhere (``tick`` events keep them coming during a long check), failures as they
    happen."""

    def __init__(self, console: Console, label: str, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.label = label
        self.plain = not console.is_terminal
        self.clock = clock
        self.started = self.last_line = clock()
        self.total: int | None = None
        self.counts: Counter[str] = Counter()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(label, total=None)

    def __enter__(self) -> ProgressReporter:
        if not self.plain:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.plain:
            self.progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "collected":
            self.total = int(event["total"])
            self.progress.update(self.task, total=event["total"])
        elif kind == "check":
            self.progress.advance(self.task)
            verdict = Verdict(event["verdict"])
            self.counts[verdict.value] += 1
            if verdict in (Verdict.FAIL, Verdict.ERROR):
                rules = ", ".join(event["rules"])
                self.console.print(
                    f"  [{_STYLE[verdict]}]{verdict.value}[/] {rules}  {event['check']}",
                    soft_wrap=True,
                )
        if self.plain and self.clock() - self.last_line >= PLAIN_INTERVAL:
            self.console.print(self.line(), markup=False, highlight=False, soft_wrap=True)

    def line(self) -> str:
        """The plain progress line: checks done of total, verdict counts, elapsed seconds."""
        self.last_line = self.clock()
        done = sum(self.counts.values())
        counts = " ".join(f"{self.counts[v.value]} {v.value}" for v in Verdict)
        total = "?" if self.total is None else str(self.total)
        return (f"{self.label}: {done}/{total} checks done · {counts} · "
                f"{self.last_line - self.started:.0f} s")


TIMELINE_LOG_PREFIX = "e2e-timeline-"
"""Run logs holding an e2e operation timeline (written by the e2e suite, one per scenario)."""
_TIMELINE_LINES = 60


def _print_timelines(console: Console, run: RunResults, report_dir: str) -> None:
    """An e2e run's timelines, one block per scenario and operation across every hop (issue 9
    §5); a long one is cut with a pointer to its file in the report folder."""
    for name, text in sorted(run.logs.items()):
        if not name.startswith(TIMELINE_LOG_PREFIX):
            continue
        scenario = name.removeprefix(TIMELINE_LOG_PREFIX)
        lines = text.rstrip("\n").splitlines()
        console.print(f"[bold]timeline · {_escape(scenario)}[/]", soft_wrap=True)
        for line in lines[:_TIMELINE_LINES]:
            console.print(_escape(line), soft_wrap=True, highlight=False)
        if len(lines) > _TIMELINE_LINES:
            console.print(f"  … {len(lines) - _TIMELINE_LINES} more lines in "
                          f"{report_dir}/e2e/timeline-{_escape(scenario)}.txt", soft_wrap=True)


def print_summary(console: Console, run: RunResults, report_dir: str) -> None:
    """The per-rule table, the failures with their reproducers, and where the reports are."""
    _print_roots(console, run)
    table = Table(title=f"{run.component} · profile {run.profile} · seed {run.seed}")
    for column in ("rule", "level", "verdict", "cases", "statement"):
        table.add_column(column, overflow="fold")
    for r in run.results:
        table.add_row(
            r.rule_id,
            r.level,
            f"[{_STYLE[r.verdict]}]{r.verdict.value}[/]",
            str(r.cases),
            _first_reason(r.statement, r.reasons, r.verdict),
        )
    console.print(table)
    for r in run.results:
        if r.verdict is Verdict.FAIL and r.failures:
            console.print(f"[bold red]FAIL {r.rule_id}[/] "
                          + _failure_line(r.rule_id, r.failures, report_dir, run.component),
                          markup=True, highlight=False, soft_wrap=True)
    _print_timelines(console, run, report_dir)
    if run.aborted is not None:
        cause = _escape(_one_line(run.aborted.cause, 2 * LINE_LIMIT))
        console.print(f"[bold red]RUN ABORTED (exit {run.aborted.exit_code}): {cause}[/] · "
                      "rules it did not judge are ERROR", soft_wrap=True)
    counts = run.summary()
    console.print(
        "  ".join(f"[{_STYLE[Verdict(k)]}]{v} {k}[/]" for k, v in counts.items())
        + f"  in {run.duration_seconds:.1f} s · reports: {report_dir}", soft_wrap=True
    )


def _print_roots(console: Console, run: RunResults) -> None:
    """The FAILs grouped by root cause, most rules first (``report.roots``), before anything."""
    from conformance.report.roots import format_roots_headline

    roots = run.roots()
    if not roots:
        return
    console.print(f"[bold red]{format_roots_headline(roots)}[/]")
    for number, root in enumerate(roots, 1):
        console.print(f"  {number}. {root.cause} -> {', '.join(root.rules)}",
                      markup=False, highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _one_line(text: str, limit: int = LINE_LIMIT) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _failure_line(rule_id: str, failures: Sequence[Failure], report_dir: str,
                  component: str) -> str:
    """A failing rule in one line: its first failure's message (short), how many more, and
    where the reproducer is (its file, the ``amc replay`` that replays it, or results.json for
    a component replay does not know)."""
    more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
    first = failures[0]
    if is_pointer(first.reproducer):
        where = str(Path(report_dir) / first.reproducer["external"])
    elif component in REPLAYABLE:
        where = f"amc replay {report_dir} --rule {rule_id}"
    else:
        where = f"{Path(report_dir) / 'results.json'} ({rule_id})"
    return f"{_escape(_one_line(first.message))}{more} · reproducer: {_escape(where)}"


def print_all_summary(console: Console, runs: Sequence[ComponentRun]) -> None:
    """The one summary of ``amc run all``: a row per run and the command's exit code."""
    from conformance.commands.run_all import overall_exit_code

    table = Table(title="amc run all")
    for column in ("run", *(v.value for v in Verdict), "exit", "reports"):
        table.add_column(column, overflow="fold")
    totals: Counter[str] = Counter()
    for run in runs:
        counts = run.summary or {}
        totals.update(counts)
        cells = [str(counts.get(v.value, "-")) for v in Verdict]
        table.add_row(f"{run.component} · {run.profile}", *cells, str(run.exit_code),
                      _escape(run.report_dir or run.note))
    console.print(table)
    for run in runs:
        if run.note and run.report_dir:
            console.print(f"  {run.component} · {run.profile}: {_escape(run.note)}")
    code = overall_exit_code(runs)
    console.print(f"amc run all: {len(runs)} runs · "
                  + " ".join(f"{totals[v.value]} {v.value}" for v in Verdict)
                  + f" · exit {code}", highlight=False)


def _first_reason(statement: str, reasons: list[str], verdict: Verdict) -> str:
    if verdict in (Verdict.SKIP, Verdict.ERROR) and reasons:
        return f"{_escape(statement)} [dim]({_escape(_one_line(reasons[0]))})[/]"
    return _escape(statement)
