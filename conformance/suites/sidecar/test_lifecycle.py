"""A node's life: registration first (skipped when memberOf shows it), the owner key for later
operations, execute(own cluster, 0, allowlisted inner), the dstack proof normalised, few
operations, no ETH, one operation to a registered member (PROTOCOL.md §4, §7)."""

from __future__ import annotations

import functools

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar_flow import (
    judge_execute_shape,
    judge_key_path,
    judge_lifecycle_budget,
    judge_no_eth,
    judge_one_op_registers,
    judge_owner_signs,
    judge_proof_v,
    judge_registration_first,
    judge_registration_skipped,
)
from conformance.suites.sidecar._support import SidecarRuns, judge


@rules("SC-015")
@pytest.mark.parametrize("scenario", ["fresh", "lifecycle"])
def test_registration_first(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    judge(runs, observe, "SC-015", scenario, judge_registration_first)


@rules("SC-016")
def test_registration_skipped_when_registered(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-016", "registered", judge_registration_skipped)


@rules("SC-017")
@pytest.mark.parametrize("scenario", ["lifecycle", "registered"])
def test_later_operations_signed_by_the_owner(runs: SidecarRuns, observe: Observer,
                                              scenario: str) -> None:
    judge(runs, observe, "SC-017", scenario, judge_owner_signs)


@rules("SC-019")
@pytest.mark.parametrize("scenario", ["lifecycle", "envelopes-alchemy"])
def test_execute_own_cluster_allowlisted(runs: SidecarRuns, observe: Observer,
                                         scenario: str) -> None:
    judge(runs, observe, "SC-019", scenario, judge_execute_shape)


@rules("SC-020")
def test_proof_v_normalised(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-020", "fresh", judge_proof_v)


@rules("SC-021")
@pytest.mark.parametrize("scenario", ["fresh", "fresh-alchemy"])
def test_registration_key_path(runs: SidecarRuns, observe: Observer, scenario: str) -> None:
    """Over HTTP (fresh) and over the per-run Unix socket (fresh-alchemy)."""
    judge(runs, observe, "SC-021", scenario,
          functools.partial(judge_key_path, derived_pubkey=runs.derived_pubkey()))


@rules("SC-026")
def test_lifecycle_budget(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-026", "lifecycle", judge_lifecycle_budget)


@rules("SC-027")
@pytest.mark.parametrize("scenario", ["lifecycle", "envelopes-alchemy", "declined"])
def test_no_eth_every_change_sponsored(runs: SidecarRuns, observe: Observer,
                                       scenario: str) -> None:
    judge(runs, observe, "SC-027", scenario, judge_no_eth)


@rules("SC-028")
def test_one_operation_registers(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-028", "fresh", judge_one_op_registers)
