"""The sidecar checks' plumbing: one run per scenario per session (shared by every check that
reads it), its reading as an oracle ``RunView``, and the verdict of one judge.

A judge's ``NotJudged`` (the run never reached the rule's precondition: the sidecar crashed,
hung, or never attempted) is ERROR "not judged" with how the run ended and its log tail; a
``Finding`` is a FAIL whose reproducer is the recorded JSON-RPC exchanges (and the path of the
whole transcript in the report directory).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.engine.checks import CheckFailure, Observer
from conformance.errors import TargetError
from conformance.oracle.sidecar import Finding, Judge, NotJudged, RunView
from conformance.peers.dstack_agent import derive_key
from conformance.peers.paymaster import WebhookLink
from conformance.protocol.signatures import key_pair
from conformance.targets.sidecar import SidecarRun, SidecarTarget, Timing, run_scenario
from conformance.targets.sidecar_scenarios import SCENARIOS
from conformance.targets.sidecar_world import BINDING_PATH, POLICY_IDS, PURPOSE, SidecarWorld

SEED = b"attestmesh-conformance/sidecar"
"""The dstack agent's derivation seed (per run the member differs, so keys need not)."""


@dataclass
class SidecarRuns:
    """Scenario runs of one session, each played once on first use."""

    world: SidecarWorld
    target: SidecarTarget
    timing: Timing
    profile: Any
    report_dir: Path
    links: dict[str, WebhookLink] = field(default_factory=dict)
    """e2e: the webhook the paymaster asks first, per dialect (empty: no webhook)."""
    label: Callable[[str], str] | None = None
    """e2e: the hop (and its implementation) a rule's FAIL is attributed to."""
    path_a_members: bool = False
    """e2e with ``--account-artifact``: members are allowlisted app ids (Path A), not factory
    members, so the webhook's provenance step is WH-017's, not WH-016's."""
    _runs: dict[str, SidecarRun] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, name: str) -> SidecarRun:
        """The run of scenario ``name`` (played now if it has not been)."""
        with self._lock:
            if name not in self._runs:
                scenario = SCENARIOS[name]
                run = run_scenario(self.world, self.target, scenario, self.timing,
                                   log_dir=self.report_dir / "logs", seed=SEED,
                                   webhook=self.links.get(scenario.dialect))
                self._runs[name] = run
                self._write(run)
            return self._runs[name]

    def _write(self, run: SidecarRun) -> None:
        directory = self.report_dir / "sidecar"
        directory.mkdir(parents=True, exist_ok=True)
        data = {"run": run.identity(), "transcript": [e.as_json() for e in run.transcript]}
        (directory / f"{run.scenario.name}.json").write_text(json.dumps(data, indent=1))

    def view(self, name: str) -> RunView:
        """The oracle's reading of scenario ``name``'s run."""
        run = self.run(name)
        t = run.timing
        return RunView(
            transcript=tuple(e.as_json() for e in run.transcript),
            member="0x" + run.member.hex(), owner="0x" + run.owner.hex(),
            cluster="0x" + run.cluster.hex(), chain_id=self.world.chain_id,
            entry_point="0x" + self.world.entry_point.hex(), dialect=run.scenario.dialect,
            policy_id=POLICY_IDS[run.scenario.dialect], allowlist=self.profile.allowlist(),
            initial=t.initial, cap=t.cap, window=t.window, max_requests=t.max_requests,
            registered=run.registered, chain_owner="0x" + run.chain_owner.hex(),
            balance=run.balance, expect_registration=not run.scenario.registered,
        )

    @staticmethod
    def derived_pubkey() -> bytes:
        """The compressed public key the agent hands out for the registration path."""
        return key_pair(derive_key(SEED, BINDING_PATH, PURPOSE)).public_compressed

    def close(self) -> None:
        """Release the chain."""
        self.world.close()


def judge(runs: SidecarRuns, observe: Observer, rule: str, scenario: str, fn: Judge) -> None:
    """Play (or reuse) ``scenario``, apply ``fn``; PASS, FAIL (CheckFailure) or ERROR."""
    run = runs.run(scenario)
    view = runs.view(scenario)
    try:
        finding = fn(view)
    except NotJudged as exc:
        tail = " | ".join(run.log.strip().splitlines()[-4:])
        raise TargetError(f"not judged: {exc} (scenario {scenario}: sidecar {run.ended} after "
                          f"{run.elapsed:.1f}s; log: {tail[-400:]})") from None
    observe.case()
    if finding is not None:
        fail(runs, rule, scenario, finding)


def fail(runs: SidecarRuns, rule: str, scenario: str, finding: Finding) -> None:
    """Raise the FAIL of ``rule`` with the exchanges that show it."""
    run = runs.run(scenario)
    path = runs.report_dir / "sidecar" / f"{scenario}.json"
    reproducer = (f"# scenario {scenario} ({run.scenario.description}); whole transcript: "
                  f"{path}\n" + "\n".join(json.dumps(e) for e in finding.evidence))
    message = finding.message if runs.label is None else f"[{runs.label(rule)}] {finding.message}"
    raise CheckFailure(rule, message,
                       minimal_input={"scenario": scenario, "dialect": run.scenario.dialect,
                                      "faults": [f"{m} {k.value} {c}" for m, k, c, _s
                                                 in run.scenario.faults]},
                       reproducer=reproducer, cause=f"sidecar:{rule}:{finding.message[:60]}")
