"""The sidecar target: start the implementation under test with the environment the live
sidecar reads, let it play one scenario against the peers for a bounded time, stop it, and keep
the transcript and the chain state for the checks (PROTOCOL.md §7, issue 9).

A sidecar is a client: nothing is probed. It runs in its own process group with stdout and
stderr in a log file; it is stopped (SIGTERM to the group, then SIGKILL) when the scenario's
work has landed and a settle time has passed, when it exits, when it floods the peers, or when
the budget is spent — a hung, crashing or flooding sidecar costs its checks, never the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.peers.dstack_agent import derive_key
from conformance.peers.paymaster import WebhookLink
from conformance.peers.proxy_faults import Exchange
from conformance.protocol.hexutil import checksum
from conformance.protocol.signatures import key_pair
from conformance.targets.sidecar_scenarios import Scenario
from conformance.targets.sidecar_world import BINDING_PATH, PURPOSE, SidecarWorld, serve

STOP_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL."""
FLOOD_LIMIT = 500
"""Exchanges after which a run is stopped as a flood."""
BASE_BUDGET = 3.0
"""Seconds every run gets beyond its scenario's nominal waits (plus 20 s × the time factor:
a sidecar on the real clock polls receipts seconds apart)."""


@dataclass(frozen=True)
class SidecarTarget:
    """How to start the sidecar under test: the reference (optionally a mutant) or a command."""

    kind: str = "reference"
    mutant: str | None = None
    launch: str | None = None

    @classmethod
    def of(cls, spec: Any) -> SidecarTarget:
        """From a TargetSpec (or anything with kind/mutant/launch)."""
        kind = getattr(spec, "kind", "reference")
        if kind not in ("reference", "launch"):
            raise UsageError(f"sidecar target kind={kind!r}: use --reference or --launch CMD")
        launch = getattr(spec, "launch", None)
        if kind == "launch" and not launch:
            raise UsageError("--launch needs a command")
        mutant = getattr(spec, "mutant", None)
        if mutant is not None:
            from conformance.reference.sidecar.mutants import BY_NAME
            if mutant not in BY_NAME:
                raise UsageError(f"--mutant={mutant!r}: no such sidecar mutant (amc mutants list)")
        return cls(kind, mutant, launch)

    def command(self) -> list[str]:
        """The argv that starts the sidecar."""
        if self.kind == "launch":
            assert self.launch is not None
            return shlex.split(self.launch)
        return [sys.executable, "-m", "conformance.reference.sidecar"]


@dataclass
class Timing:
    """The §7 numbers of a run, already multiplied by the time factor."""

    initial: float
    cap: float
    window: float
    max_requests: int
    receipt_polls: int
    receipt_interval: float
    factor: float

    @classmethod
    def of(cls, settings: Any) -> Timing:
        """From a profile's ``SidecarSettings``."""
        f = settings.time_factor
        return cls(settings.backoff_initial_seconds * f, settings.backoff_cap_seconds * f,
                   60.0 * f, settings.max_sponsorships_per_minute, settings.receipt_polls,
                   settings.receipt_interval_seconds * f, f)

    def scaled(self, scale: float) -> Timing:
        """A scenario's clock: the time factor multiplied by ``scale``, but never beyond 0.1
        (a 6 s rate window) unless the profile's own factor is larger (real time stays real)."""
        target = max(self.factor, min(self.factor * scale, 0.1))
        scale = target / self.factor
        if scale == 1.0:
            return self
        return Timing(self.initial * scale, self.cap * scale, self.window * scale,
                      self.max_requests, self.receipt_polls, self.receipt_interval * scale,
                      self.factor * scale)

    def nominal_wait(self, k: int) -> float:
        """The k-th (0-based) backoff wait §7 allows at least: initial·2^k up to the cap."""
        return min(self.initial * 2**k, self.cap)


@dataclass
class SidecarRun:
    """What one run left: the transcript, the process' end, the chain state."""

    scenario: Scenario
    target: SidecarTarget
    timing: Timing
    member: bytes
    owner: bytes
    """The address of the registration key the dstack agent handed out."""
    cluster: bytes
    transcript: list[Exchange]
    ended: str
    """``done``, ``exited <rc>``, ``budget``, ``flood`` or ``error: …`` (the stop reason)."""
    elapsed: float
    log: str
    registered: bool = False
    chain_owner: bytes = b""
    nonce: int = 0
    balance: int = 0
    landed: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = 0.0

    def identity(self) -> dict[str, Any]:
        """For the report: scenario, target, member, how the run ended."""
        return {"scenario": self.scenario.name, "dialect": self.scenario.dialect,
                "member": checksum(self.member), "ended": self.ended,
                "elapsed": round(self.elapsed, 3), "time_factor": self.timing.factor}


def _environment(extra: dict[str, str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, then SIGKILL after the grace period."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_GRACE)


def _watch(proc: subprocess.Popen[bytes], world: SidecarWorld, peers: Any, scenario: Scenario,
           budget: float, settle: float) -> str:
    """Wait until the work landed (+ settle), the process ended, a flood or the budget."""
    deadline = time.monotonic() + budget
    done_at: float | None = None
    start_blocks = len(world.bundles)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited {proc.returncode}"
        if len(peers.transcript.items()) > FLOOD_LIMIT:
            return "flood"
        landed = sum(1 for b in world.bundles[start_blocks:] if b.get("success"))
        if done_at is None and scenario.landed and landed >= scenario.landed:
            done_at = time.monotonic()
        if done_at is not None and time.monotonic() - done_at >= settle:
            return "done"
        time.sleep(0.02)
    return "budget"


def _play(target: SidecarTarget, env: dict[str, str], log: Any, world: SidecarWorld,
          peers: Any, scenario: Scenario, budget: float, settle: float) -> str:
    """Start the sidecar, watch it, always stop it; how the run ended."""
    try:
        proc = subprocess.Popen(target.command(), env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        return f"error: could not start {target.command()[0]!r}: {exc}"
    try:
        return _watch(proc, world, peers, scenario, budget, settle)
    finally:
        _stop(proc)


def run_scenario(world: SidecarWorld, target: SidecarTarget, scenario: Scenario, timing: Timing,
                 *, log_dir: Path, seed: bytes, socket_dir: Path | None = None,
                 webhook: WebhookLink | None = None) -> SidecarRun:
    """Play ``scenario`` with the sidecar ``target``; the run record (never raises on a
    misbehaving sidecar: its end is in ``ended``)."""
    timing = timing.scaled(scenario.time_scale)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"sidecar-{scenario.name}.log"
    member = world.new_member()
    owner_key = derive_key(seed, BINDING_PATH, PURPOSE)
    if scenario.registered:
        world.register_directly(member, owner_key)
    waits = sum(timing.nominal_wait(k) for k in range(scenario.backoff_waits))
    polls = timing.receipt_polls * timing.receipt_interval * (scenario.name == "receipt-never")
    window = timing.window * (scenario.landed > timing.max_requests)
    budget = BASE_BUDGET + 20 * timing.factor + waits + polls + window
    settle = max(0.3, 2 * timing.initial)
    with contextlib.ExitStack() as stack:
        if socket_dir is None and scenario.dstack_socket:
            socket_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="amc-")))
        socket_path = str(socket_dir / f"dstack-{scenario.name}.sock") if socket_dir else None
        return _run_with_peers(world, target, scenario, timing, member, owner_key, log_path,
                               seed, socket_path, webhook, budget, settle)


def _run_with_peers(world: SidecarWorld, target: SidecarTarget, scenario: Scenario,
                    timing: Timing, member: bytes, owner_key: int, log_path: Path, seed: bytes,
                    socket_path: str | None, webhook: WebhookLink | None, budget: float,
                    settle: float) -> SidecarRun:
    """Serve the peers, play the sidecar, read the chain."""
    with serve(world, member, dialect=scenario.dialect, schedule=scenario.schedule(1.0),
               seed=seed, socket_path=socket_path, webhook=webhook) as peers:
        env = _environment({**peers.env, "AMC_SCENARIO": json.dumps(scenario.control()),
                            "AMC_TIME_FACTOR": repr(timing.factor),
                            "SIDECAR_BACKOFF_INITIAL": repr(timing.initial / timing.factor),
                            "SIDECAR_BACKOFF_CAP": repr(timing.cap / timing.factor),
                            "SIDECAR_MAX_SPONSORSHIPS_PER_MINUTE": str(timing.max_requests)})
        if target.mutant:
            env["AMC_MUTANT"] = target.mutant
        started = time.monotonic()
        with log_path.open("wb") as log:
            ended = _play(target, env, log, world, peers, scenario, budget, settle)
        elapsed = time.monotonic() - started
        transcript = peers.transcript.items()
    run = SidecarRun(scenario, target, timing, member, key_pair(owner_key).address,
                     world.accounts.cluster, transcript, ended, elapsed,
                     log_path.read_text(errors="replace")[-20_000:])
    run.registered = world.member_of(member)
    run.chain_owner = world.owner_of(member)
    run.nonce = world.nonce_of(member)
    run.balance = world.balance(member)
    return run
