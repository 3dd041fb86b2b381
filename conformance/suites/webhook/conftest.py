"""Fixtures of the webhook checks: one harness per session (per xdist worker).

``wh`` is the ``Harness``: the launched implementation (or ``--url``), its chain and cache
peers, the oracle inputs and the failure builder. A target that never becomes ready aborts the
run (exit 2) with the one-line cause. Before each check the peers return to the standard chain
with no faults.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conformance.engine.plugin import RunState, abort_run
from conformance.errors import TargetError
from conformance.suites.webhook.harness import Harness


@pytest.fixture(scope="session")
def wh(amc_state: RunState, pytestconfig: pytest.Config) -> Iterator[Harness]:
    """The session's harness (started once, stopped at the end)."""
    harness = Harness(
        profile=amc_state.profile, profile_arg=amc_state.config.profile,
        target=amc_state.config.target, report_dir=amc_state.report_dir,
        worker=os.environ.get("PYTEST_XDIST_WORKER", "main"),
    )
    try:
        harness.start()
    except (TargetError, OSError) as exc:
        harness.close()
        abort_run(pytestconfig, f"webhook target never became ready: {exc}")
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(autouse=True)
def _fresh_peers(request: pytest.FixtureRequest) -> None:
    """The standard chain, no faults, empty logs before every check that uses the harness."""
    if "wh" in request.fixturenames:
        request.getfixturevalue("wh").begin_test()


LAST = "test_no_answer_of_the_run_carries_a_secret"
"""WH-071's run-wide report: it reads what the scan of every other check's answers found."""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run WH-071's run-wide report after every other check (after any shuffling)."""
    last = [item for item in items if item.name == LAST]
    if last:
        items[:] = [item for item in items if item.name != LAST] + last
