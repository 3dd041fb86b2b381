"""Fixtures of the account checks: the deployed test world, reset to its snapshot per check.

``account_world`` (session) deploys the world around the target the run names
(``conformance.targets.account.open_account_world``); a target that cannot be deployed ends
the run as unable to start (exit 2). ``world`` (per check) reverts it to the snapshot taken
after set-up, so every check starts from the same fresh state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.engine.plugin import LOG_DIR, RunState, abort_run, rule_ids_of
from conformance.errors import UsageError
from conformance.suites.account._support import need_target_cluster
from conformance.targets.account import open_account_world
from conformance.targets.account_world import AccountWorld
from conformance.targets.evm.backend import BackendError


@pytest.fixture(scope="session")
def account_world(amc_state: RunState, pytestconfig: pytest.Config) -> Iterator[AccountWorld]:
    """The world around the account under test (deployed once per worker)."""
    try:
        world = open_account_world(amc_state.config.target, amc_state.profile)
    except (UsageError, BackendError, OSError) as exc:
        abort_run(pytestconfig, f"account target could not be deployed: {exc}")
        raise AssertionError("unreachable") from exc
    _write_identity(amc_state, world)
    try:
        yield world
    finally:
        world.close()


def _write_identity(state: RunState, world: AccountWorld) -> None:
    """The target's identity (its runtime code hash): in results.json's ``target`` (the issue's
    "a target's identity in the report is its code hash") and as a run log."""
    lines = [f"{key}: {value}" for key, value in sorted(world.target_info.items())]
    lines.append(f"chain_id: {world.chain_id}")
    lines.append(f"entry_point: 0x{world.entry_point.hex()}"
                 + (f" (absent: {world.entry_point_missing})" if world.entry_point_missing else ""))
    directory = state.report_dir / LOG_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "account-target.log").write_text("\n".join(lines) + "\n")
    state.record_target({**world.target_info, "chain_id": world.chain_id,
                         "entry_point": "0x" + world.entry_point.hex()})


@pytest.fixture
def world(account_world: AccountWorld, request: pytest.FixtureRequest) -> AccountWorld:
    """The world, back at its snapshot (fresh state for this check). A check of cluster rules
    only SKIPs when the target is not the bundled reference (``need_target_cluster``)."""
    need_target_cluster(account_world, rule_ids_of(request.node))
    account_world.reset()
    return account_world
