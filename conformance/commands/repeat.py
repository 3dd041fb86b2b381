"""``amc run --repeat K``: the same configuration K times under seeds S..S+K-1, merged
(``report.flakes``). Each run keeps its own reports in ``seed-N/``; the merged results, JUnit and
HTML go into the run's report folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from conformance.engine.config import RunConfig
from conformance.engine.run import EventHandler, RunOutcome, run_component
from conformance.errors import UsageError


def run_repeated(config: RunConfig, repeat: int, *,
                 on_event: EventHandler | None = None) -> RunOutcome:
    """Run ``config`` ``repeat`` times (seed, seed+1, ...) and merge; once: a plain run."""
    if repeat < 1:
        raise UsageError(f"--repeat={repeat}: must be at least 1")
    if repeat == 1:
        return run_component(config, on_event=on_event)
    from conformance.report import write_reports
    from conformance.report.flakes import merge_repeats

    base = Path(config.report_dir)
    runs = []
    for i in range(repeat):
        seed = config.seed + i
        one = dataclasses.replace(config, seed=seed, report_dir=str(base / f"seed-{seed}"))
        runs.append(run_component(one, on_event=on_event).results)
    merged = merge_repeats(runs)
    write_reports(merged, base)
    return RunOutcome(merged, base, merged.exit_code())
