"""The fuzzing benchmark (``amc bench --only fuzz``): executions per second of each target under
libFuzzer next to the same ``TestOneInput`` in a bare loop over the same inputs, measured in one
run; and, per planted bug, the median time to first detection over several seeds from
canonical-only seeds, with EVM feedback on and off.

Exec/s under the fuzzer is libFuzzer's own ``stat::average_exec_per_sec`` of one in-process
worker (no fork mode) on a scratch copy of the target's canonical seeds; the bare loop runs the
corpus that worker ended with, in this process, uninstrumented. Detection time is wall-clock
from launching ``amc fuzz``'s runner to the finding on disk, start-up included (about 3 s for a
target that deploys nothing). Nothing here is asserted by tests; the figures are reported.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.fuzz.corpus import corpus_entries, write_entries
from conformance.fuzz.findings import judge
from conformance.fuzz.planted import plants
from conformance.fuzz.worker import prepare

SPEED_TARGETS = ("execute_calldata", "decoder_agreement", "register_calldata", "webhook_body",
                 "webhook_signature")
EVM_TARGETS = frozenset({"decoder_agreement"})
"""Targets whose executions reach the EVM: their plants are measured with feedback on and off."""
GOALS = {"execute_calldata": 0.25}
DETECTION_BUDGET = 60
"""Seconds one detection run may take before it counts as not found."""


@dataclass(frozen=True)
class SpeedRow:
    """Exec/s of one target under libFuzzer and in a bare loop."""

    target: str
    fuzzer_per_s: float
    bare_per_s: float

    @property
    def ratio(self) -> float:
        return self.fuzzer_per_s / self.bare_per_s if self.bare_per_s else 0.0


@dataclass(frozen=True)
class DetectionRow:
    """Per planted bug: detection times (None = not found within the budget) per feedback."""

    plant: str
    target: str
    feedback: bool
    times: tuple[float | None, ...]

    @property
    def median(self) -> float | None:
        found = sorted(t if t is not None else float("inf") for t in self.times)
        middle = statistics.median(found)
        return None if middle == float("inf") else middle


def _worker_env(target: str, feedback: bool) -> dict[str, str]:
    return {**os.environ, "AMC_FUZZ_TARGET": target,
            "AMC_FUZZ_EVM_FEEDBACK": "1" if feedback else "0"}


def fuzzer_rate(target: str, corpus: Path, seconds: int) -> float:
    """libFuzzer's average exec/s of one worker on ``corpus`` for ``seconds``."""
    command = [sys.executable, "-m", "conformance.fuzz.worker", f"-max_total_time={seconds}",
               "-print_final_stats=1", "-use_value_profile=1", "-max_len=4096", str(corpus)]
    done = subprocess.run(command, env=_worker_env(target, True), capture_output=True,
                          text=True, timeout=seconds + 120)
    match = re.search(r"stat::average_exec_per_sec:\s+(\d+)", done.stderr)
    return float(match[1]) if match else 0.0


def bare_rate(target: str, inputs: list[bytes], seconds: float) -> float:
    """``TestOneInput`` over ``inputs`` in a loop, in this process (same target, no fuzzer)."""
    module = prepare(target)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for data in inputs:
            judge(module, data)
        count += len(inputs)
    return count / (time.perf_counter() - start)


def measure_speed(target: str, seconds: int) -> SpeedRow:
    """One SpeedRow (the fuzzer first, then the bare loop on the corpus it ended with)."""
    with tempfile.TemporaryDirectory(prefix="amc-fuzz-bench-") as scratch:
        corpus = Path(scratch)
        write_entries(corpus, prepare(target).seeds(canonical_only=True))
        fuzzed = fuzzer_rate(target, corpus, seconds)
        inputs = [p.read_bytes() for p in corpus_entries(corpus)]
    return SpeedRow(target, fuzzed, bare_rate(target, inputs, max(2.0, seconds / 3)))


def detect_once(plant: str, seed: int, feedback: bool, budget: int = DETECTION_BUDGET) -> \
        float | None:
    """Seconds until the planted bug's first finding from canonical seeds (None: not found)."""
    from conformance.fuzz.run_config import FuzzConfig
    from conformance.fuzz.runner import fuzz

    target = plants()[plant].target
    with tempfile.TemporaryDirectory(prefix="amc-fuzz-detect-") as scratch:
        config = FuzzConfig(target, seconds=budget, corpus=Path(scratch), seed=seed, plant=plant,
                            evm_feedback=feedback, minimise_seconds=0, stop_on_finding=True)
        summary = fuzz(config, None, canonical_only=True)
    return summary.first_finding_after


def measure_detection(seeds: int, report: Callable[[str], None]) -> list[DetectionRow]:
    """Every planted bug over ``seeds`` seeds; EVM targets with feedback on and off."""
    rows = []
    for name, plant in plants().items():
        for feedback in (True, False) if plant.target in EVM_TARGETS else (True,):
            times = tuple(detect_once(name, seed, feedback) for seed in range(1, seeds + 1))
            row = DetectionRow(name, plant.target, feedback, times)
            report(format_detection_row(row))
            rows.append(row)
    return rows


def format_detection_row(row: DetectionRow) -> str:
    shown = ", ".join("-" if t is None else f"{t:.1f}" for t in row.times)
    median = "not found" if row.median is None else f"{row.median:.1f} s"
    feedback = ("on" if row.feedback else "off") if row.target in EVM_TARGETS else "n/a"
    return f"{row.plant:<34} {row.target:<18} feedback {feedback:<4} median {median:<10} ({shown})"


def format_speed_row(row: SpeedRow) -> str:
    goal = GOALS.get(row.target)
    verdict = f"goal {goal:.2f} {'met' if row.ratio >= goal else 'NOT met'}" if goal else ""
    return (f"{row.target:<18} fuzzer {row.fuzzer_per_s:>8,.0f}/s  bare {row.bare_per_s:>9,.0f}/s"
            f"  ratio {row.ratio:.2f}  {verdict}").rstrip()


def run_fuzz_bench(seconds: float, report: Callable[[str], None], *, seeds: int = 3) -> int:
    """Print both tables through ``report``; 0."""
    budget = max(5, int(seconds))
    report(f"exec/s per target: libFuzzer ({budget} s, one worker) vs bare loop on its corpus")
    for target in SPEED_TARGETS:
        report(format_speed_row(measure_speed(target, budget)))
    report(f"\ntime to first detection from canonical seeds, {seeds} seeds, budget "
           f"{DETECTION_BUDGET} s each (wall clock from launch, start-up included)")
    measure_detection(seeds, report)
    return 0
