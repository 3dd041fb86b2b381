"""``amc run all`` as one command (issue 7 §8): one time budget, one summary, one exit code.

``--seconds`` is the budget of the whole command: each component run gets an equal share of
what is left when it starts (a run that finishes early leaves more to the next); a run whose
turn comes after the budget is spent is not started and counts as an ERROR (exit 1), never as
a pass. A stop signal ends the plan: the runs not started are listed as interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

BUDGET_SPENT = "not run: the --seconds budget of the whole command was spent"
INTERRUPTED = "not run: interrupted"
_SIGNAL_EXITS = (130, 143)


@dataclass(frozen=True)
class ComponentRun:
    """One run of ``amc run``: its exit code, verdict counts (None when it did not run), where
    its reports are and, when it ended early or never started, why."""

    component: str
    profile: str
    exit_code: int
    summary: dict[str, int] | None = None
    report_dir: str | None = None
    note: str = ""


RunOne = Callable[[str, str, float | None], ComponentRun]
"""Runs one (component, profile) with a budget in seconds (None: unbounded)."""


def run_plan(
    plan: Sequence[tuple[str, str]],
    seconds: float | None,
    run_one: RunOne,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> list[ComponentRun]:
    """Run every (component, profile) of ``plan`` within ``seconds`` in all."""
    deadline = None if seconds is None else clock() + seconds
    runs: list[ComponentRun] = []
    for index, (component, profile) in enumerate(plan):
        budget = None
        if deadline is not None:
            left = deadline - clock()
            if left <= 0:
                runs.append(ComponentRun(component, profile, 1, note=BUDGET_SPENT))
                continue
            budget = left / (len(plan) - index)
        run = run_one(component, profile, budget)
        runs.append(run)
        if run.exit_code in _SIGNAL_EXITS:
            runs += [ComponentRun(c, p, run.exit_code, note=INTERRUPTED)
                     for c, p in plan[index + 1:]]
            break
    return runs


def overall_exit_code(runs: Sequence[ComponentRun]) -> int:
    """The command's one exit code: a signal's (130/143) over 2 (a run could not start or go
    on) over 1 (a gating FAIL or ERROR, or a run not started) over 0."""
    return max((r.exit_code for r in runs), default=0)
