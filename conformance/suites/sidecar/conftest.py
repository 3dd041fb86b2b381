"""Fixtures of the sidecar checks: the chain and peers' world (once per worker) and the
scenario runs shared by the checks that read them (PROTOCOL.md §7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.engine.plugin import RunState, abort_run
from conformance.errors import UsageError
from conformance.suites.sidecar._support import SidecarRuns
from conformance.targets.evm.backend import BackendError
from conformance.targets.sidecar import SidecarTarget, Timing
from conformance.targets.sidecar_world import open_sidecar_world


@pytest.fixture(scope="session")
def runs(amc_state: RunState, pytestconfig: pytest.Config) -> Iterator[SidecarRuns]:
    """The sidecar under test and the world it plays in."""
    try:
        target = SidecarTarget.of(amc_state.config.target)
        world = open_sidecar_world(amc_state.profile)
    except (UsageError, BackendError, OSError, RuntimeError) as exc:
        abort_run(pytestconfig, f"sidecar world could not be built: {exc}")
        raise AssertionError("unreachable") from exc
    amc_state.record_target({"kind": target.kind, **({"mutant": target.mutant}
                                                     if target.mutant else {}),
                             **({"launch": target.launch} if target.launch else {}),
                             "chain_id": world.chain_id,
                             "time_factor": amc_state.profile.sidecar.time_factor})
    built = SidecarRuns(world, target, Timing.of(amc_state.profile.sidecar), amc_state.profile,
                        amc_state.report_dir)
    try:
        yield built
    finally:
        built.close()
