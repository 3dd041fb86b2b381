"""The sponsored path of the seed, hop by hop (PROTOCOL.md §5–§7): the webhook accepts the
paymaster's requests and approves a member's operations, the account accepts correctly signed
operations, the sidecar signs what was sponsored, and the end-to-end promises hold — a node with
no ETH becomes a registered member with its owner installed in one sponsored operation."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.sidecar import Finding, RunView
from conformance.oracle.sidecar_e2e import (
    judge_account_accepts,
    judge_webhook_approves,
    judge_webhook_signature,
    judged_end_to_end,
)
from conformance.oracle.sidecar_flow import (
    judge_no_eth,
    judge_one_op_registers,
    judge_sign_after_sponsorship,
)
from conformance.suites.sidecar._support import SidecarRuns, judge


def _after_hops(fn: Callable[[RunView], Finding | None]) -> Callable[[RunView], Finding | None]:
    """``fn`` judged only when every earlier hop let the operation through."""
    def judged(view: RunView) -> Finding | None:
        judged_end_to_end(view)
        return fn(view)
    return judged


@rules("WH-057")
def test_webhook_accepts_the_paymasters_signature(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "WH-057", "fresh", judge_webhook_signature)


@rules("WH-016")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_webhook_approves_member_operations(runs: SidecarRuns, observe: Observer,
                                            scenario: str) -> None:
    """Factory members (the reference account world)."""
    if runs.path_a_members:
        pytest.skip("--account-artifact members are Path A members (allowlisted app ids): "
                    "their approval is judged by WH-017")
    judge(runs, observe, "WH-016", scenario, judge_webhook_approves)


@rules("WH-017")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_webhook_approves_path_a_members(runs: SidecarRuns, observe: Observer,
                                         scenario: str) -> None:
    """Path A members (an --account-artifact deployed behind the proxy, app id allowlisted)."""
    if not runs.path_a_members:
        pytest.skip("the reference account world's members are factory members: WH-016")
    judge(runs, observe, "WH-017", scenario, judge_webhook_approves)


@rules("AC-009")
def test_account_accepts_the_registration(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "AC-009", "fresh",
          functools.partial(judge_account_accepts, bootstrap=True))


@rules("AC-012")
def test_account_accepts_owner_operations(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "AC-012", "envelopes-alchemy",
          functools.partial(judge_account_accepts, bootstrap=False))


@rules("SC-011")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_sidecar_signs_what_was_sponsored(runs: SidecarRuns, observe: Observer,
                                          scenario: str) -> None:
    judge(runs, observe, "SC-011", scenario, judge_sign_after_sponsorship)


@rules("SC-027")
@pytest.mark.parametrize("scenario", ["fresh", "envelopes-alchemy"])
def test_no_eth_every_change_sponsored(runs: SidecarRuns, observe: Observer,
                                       scenario: str) -> None:
    judge(runs, observe, "SC-027", scenario, _after_hops(judge_no_eth))


@rules("SC-028")
def test_one_sponsored_operation_registers(runs: SidecarRuns, observe: Observer) -> None:
    judge(runs, observe, "SC-028", "fresh", _after_hops(judge_one_op_registers))
