"""Sponsorship in the dialect BUNDLER_URL names, with a real dummy signature; an answer without
paymaster fields is an error (PROTOCOL.md §2, §7 step 2)."""

from __future__ import annotations

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar import (
    judge_alchemy_request,
    judge_dialect,
    judge_dummy_signature,
    judge_paymaster_required,
    judge_pimlico_fees,
    judge_pimlico_request,
)
from conformance.suites.sidecar._support import SidecarRuns, judge


@rules("SC-005")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_dialect_follows_the_bundler_url(runs: SidecarRuns, observe: Observer,
                                         scenario: str) -> None:
    judge(runs, observe, "SC-005", scenario, judge_dialect)


@rules("SC-006")
def test_alchemy_request_shape(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-006", "envelopes-alchemy", judge_alchemy_request)


@rules("SC-007")
def test_pimlico_standard_fees_first(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-007", "fresh", judge_pimlico_fees)


@rules("SC-008")
def test_pimlico_sponsor_request_shape(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-008", "fresh", judge_pimlico_request)


@rules("SC-009")
def test_answer_without_paymaster_is_an_error(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-009", "no-paymaster", judge_paymaster_required)


@rules("SC-010")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_dummy_signature_is_real(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "SC-010", scenario, judge_dummy_signature)
