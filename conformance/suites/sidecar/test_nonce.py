"""The nonce, read afresh for every attempt from EntryPoint.getNonce(sender, 0) at latest on the
node RPC (PROTOCOL.md §7 step 1; the two live failures: a swallowed error that fell back to
nonce 0, and getNonce sent to a bundler-only endpoint)."""

from __future__ import annotations

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar import (
    judge_nonce_call,
    judge_nonce_failure,
    judge_nonce_fresh,
    judge_nonce_source,
)
from conformance.suites.sidecar._support import SidecarRuns, judge


@rules("SC-001")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_nonce_is_read_from_the_node(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "SC-001", scenario, judge_nonce_source)


@rules("SC-002")
def test_nonce_key_zero_at_latest(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-002", "fresh", judge_nonce_call)


@rules("SC-003")
@pytest.mark.parametrize("scenario", ["lifecycle", "bundler-rejects"])
def test_nonce_read_afresh_per_attempt(runs: SidecarRuns, observe: Observer,
                                       scenario: str) -> None:
    judge(runs, observe, "SC-003", scenario, judge_nonce_fresh)


@rules("SC-004")
def test_failed_nonce_read_ends_the_attempt(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-004", "nonce-read-fails", judge_nonce_failure)
