"""Terminal reporter: renders run events as progress and the results as a per-rule summary.

The engine never prints; this module is the one place a run meets the terminal (rich).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.report.model import RunResults, Verdict

_STYLE = {
    Verdict.PASS: "green",
    Verdict.FAIL: "bold red",
    Verdict.ERROR: "yellow",
    Verdict.SKIP: "dim",
}


class ProgressReporter:
    """Consumes ``events.ndjson`` events: a progress bar of checks, failures as they happen."""

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
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
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "collected":
            self.progress.update(self.task, total=event["total"])
        elif kind == "check":
            self.progress.advance(self.task)
            verdict = Verdict(event["verdict"])
            if verdict in (Verdict.FAIL, Verdict.ERROR):
                rules = ", ".join(event["rules"])
                self.console.print(
                    f"  [{_STYLE[verdict]}]{verdict.value}[/] {rules}  {event['check']}"
                )


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
        for failure in r.failures[:3]:
            console.print(f"[bold red]FAIL {r.rule_id}[/] {failure.message}")
            if failure.reproducer:
                console.print(failure.reproducer, markup=False, highlight=False)
    counts = run.summary()
    console.print(
        "  ".join(f"[{_STYLE[Verdict(k)]}]{v} {k}[/]" for k, v in counts.items())
        + f"  in {run.duration_seconds:.1f} s · reports: {report_dir}"
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


def _first_reason(statement: str, reasons: list[str], verdict: Verdict) -> str:
    if verdict in (Verdict.SKIP, Verdict.ERROR) and reasons:
        return f"{statement} [dim]({reasons[0]})[/]"
    return statement
