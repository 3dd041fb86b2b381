"""Sidecar figures (issue 9): a full reference lifecycle — registration plus five operations,
each sponsored, signed, submitted through the real EntryPoint and polled — end to end, and the
share of that time spent inside the suite's peers (goal: under 5 s, peers under 20 %).

The bare figure, measured in the same run, is the same sidecar process started with nothing to
do (it exits at once): the interpreter and import cost every run pays.

    python -m conformance.bench.sidecar_bench [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from conformance.profiles import load_profile
from conformance.targets.sidecar import SidecarTarget, Timing, run_scenario
from conformance.targets.sidecar_scenarios import SCENARIOS
from conformance.targets.sidecar_world import open_sidecar_world

GOAL_SECONDS = 5.0
GOAL_PEER_SHARE = 0.20


@dataclass(frozen=True)
class SidecarFigures:
    """Median figures over ``runs`` lifecycles."""

    runs: int
    lifecycle_s: float
    """Sidecar start to the sixth landed operation, stopped (settle time excluded)."""
    peers_s: float
    """Time inside the peers' handlers (node, bundler + EntryPoint, paymaster, dstack)."""
    bare_s: float
    """The sidecar process started with nothing to do, until it exited."""
    operations: int

    @property
    def peer_share(self) -> float:
        """peers_s / lifecycle_s."""
        return self.peers_s / self.lifecycle_s if self.lifecycle_s else 0.0

    def describe(self) -> str:
        """One line for the terminal and the README."""
        return (f"sidecar lifecycle ({self.operations} operations, median of {self.runs}): "
                f"{self.lifecycle_s:.2f} s end to end (goal < {GOAL_SECONDS:g} s), "
                f"{self.peers_s:.2f} s in the peers = {self.peer_share:.0%} (goal < "
                f"{GOAL_PEER_SHARE:.0%}); bare sidecar start/exit {self.bare_s:.2f} s")


def measure_sidecar(runs: int = 3) -> SidecarFigures:
    """Play the ``lifecycle`` scenario ``runs`` times with the reference sidecar."""
    profile = load_profile("pimlico")
    timing = Timing.of(profile.sidecar)
    world = open_sidecar_world(profile)
    lifecycle, peers, bare = [], [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(runs):
                run = run_scenario(world, SidecarTarget(), SCENARIOS["lifecycle"], timing,
                                   log_dir=Path(tmp), seed=b"bench")
                last = max(e.at for e in run.transcript)
                lifecycle.append(last)
                peers.append(sum(e.duration for e in run.transcript))
                started = time.perf_counter()
                idle = run_scenario(world, SidecarTarget(), SCENARIOS["bare"], timing,
                                    log_dir=Path(tmp), seed=b"bench")
                bare.append(min(idle.elapsed, time.perf_counter() - started))
    finally:
        world.close()
    return SidecarFigures(runs, statistics.median(lifecycle), statistics.median(peers),
                          statistics.median(bare), SCENARIOS["lifecycle"].landed)


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="python -m conformance.bench.sidecar_bench")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(measure_sidecar(args.runs).describe())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
