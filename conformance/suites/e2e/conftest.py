"""Fixtures of the end-to-end checks: the chain with the account under test, the webhook
launched against it, the sidecar runs with the paymaster asking that webhook first; at the end
of the session one timeline per operation and scenario is written to ``<report>/e2e/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.engine.plugin import RunState, abort_run
from conformance.errors import TargetError, UsageError
from conformance.oracle.sidecar_e2e import render_timeline, timeline
from conformance.suites.sidecar._support import SidecarRuns
from conformance.targets.evm.backend import BackendError
from conformance.targets.sidecar import Timing
from conformance.targets.sidecar_e2e import E2EParts, open_e2e


@pytest.fixture(scope="session")
def runs(amc_state: RunState, pytestconfig: pytest.Config) -> Iterator[SidecarRuns]:
    """Every hop started; the scenario runs shared by the checks."""
    spec = amc_state.config.target
    try:
        parts = E2EParts.from_json(spec.parts)
        e2e = open_e2e(parts, amc_state.profile, amc_state.config.profile,
                       log_dir=amc_state.report_dir / "logs", ready_timeout=spec.ready_timeout,
                       request_timeout=spec.request_timeout)
    except (UsageError, BackendError, TargetError, OSError, RuntimeError, ValueError) as exc:
        abort_run(pytestconfig, f"e2e world could not be built: {exc}")
        raise AssertionError("unreachable") from exc
    amc_state.record_target({hop: parts.describe(hop) for hop in ("webhook", "account",
                                                                   "sidecar")})

    def label(rule: str) -> str:
        hop = parts.owner_of(rule)
        return f"{hop}: {parts.describe(hop)}"

    built = SidecarRuns(e2e.world, e2e.sidecar, Timing.of(amc_state.profile.sidecar),
                        amc_state.profile, amc_state.report_dir, links=e2e.links, label=label,
                        path_a_members="artifact" in parts.account)
    try:
        yield built
    finally:
        _write_timelines(built)
        e2e.close()


def _write_timelines(runs: SidecarRuns) -> None:
    """``<report>/e2e/timeline-<scenario>.txt``, and the same text as a run log (so
    results.json and report.html carry it with the other logs)."""
    directory = runs.report_dir / "e2e"
    directory.mkdir(parents=True, exist_ok=True)
    logs = runs.report_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for name in list(runs._runs):  # noqa: SLF001 - the runs this session played
        text = render_timeline(timeline(runs.view(name))) + "\n"
        (directory / f"timeline-{name}.txt").write_text(text)
        (logs / f"e2e-timeline-{name}.log").write_text(text)
