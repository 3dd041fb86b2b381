"""Declined sponsorships and failed calls: never a tight loop, §7's backoff numbers, at most 12
sponsorship requests a minute, errors never swallowed (PROTOCOL.md §7). The run's clock is the
profile's time factor (compressed in the test command, 1.0 nightly)."""

from __future__ import annotations

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar_flow import (
    judge_backoff_numbers,
    judge_error_ends_attempt,
    judge_no_tight_loop,
    judge_rate,
)
from conformance.suites.sidecar._support import SidecarRuns, judge


@rules("SC-018")
def test_declined_sponsorship_not_hammered(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-018", "declined", judge_no_tight_loop)


@rules("SC-023")
def test_backoff_numbers(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-023", "declined", judge_backoff_numbers)


@rules("SC-024")
def test_sponsorship_rate(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-024", "many-envelopes", judge_rate)


@rules("SC-022")
def test_rpc_error_ends_the_attempt(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-022", "gas-price-fails", judge_error_ends_attempt)
