"""Sponsor-then-sign, eth_sendUserOperation [op, entryPoint], receipts polled with a bound,
success false as a failure, failed submissions retried from a fresh nonce (PROTOCOL.md §7
steps 3–5)."""

from __future__ import annotations

import functools

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar_flow import (
    judge_failed_receipt,
    judge_failed_submission,
    judge_receipt_polling,
    judge_send_params,
    judge_sign_after_sponsorship,
)
from conformance.suites.sidecar._support import SidecarRuns, judge


@rules("SC-011")
@pytest.mark.parametrize("scenario", ["lifecycle", "envelopes-alchemy"])
def test_signed_after_sponsorship(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "SC-011", scenario, judge_sign_after_sponsorship)


@rules("SC-012")
def test_send_user_operation_params(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-012", "fresh", judge_send_params)


@rules("SC-013")
@pytest.mark.parametrize("scenario", ["fresh", "receipt-never"])
def test_receipt_polled_with_a_bound(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    bound = 2 * runs.timing.receipt_polls
    judge(runs, observe, "SC-013", scenario, functools.partial(judge_receipt_polling, bound=bound))


@rules("SC-014")
def test_success_false_is_a_failure(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-014", "receipt-failed", judge_failed_receipt)


@rules("SC-025")
@pytest.mark.parametrize("scenario", ["bundler-rejects", "receipt-never"])
def test_failed_submission_retried(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "SC-025", scenario, judge_failed_submission)
