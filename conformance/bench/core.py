"""The measuring harness: a benchmark is a measured body against an exactly defined bare loop.

``measure`` runs both bodies in interleaved rounds (bare, measured, bare, measured, …) so that
machine noise hits both alike, keeps each side's best rate, and reports the ratio
measured / bare against the benchmark's goal. Nothing here asserts a speed: ``amc bench``
reports figures, tests only check the arithmetic (with a fake clock).

A body returns None (it did one operation) or the number of operations it did (a batch, e.g.
N hypothesis examples). The clock is injectable; it defaults to ``time.perf_counter``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from conformance.errors import UsageError, did_you_mean

Body = Callable[[], "int | None"]
Clock = Callable[[], float]

DEFAULT_SECONDS = 2.0
"""Default time budget of one benchmark (both sides, all rounds)."""

DEFAULT_ROUNDS = 5
"""Interleaved rounds per side; the best round counts."""

_MAX_BATCH = 1 << 16


@dataclass(frozen=True)
class Benchmark:
    """A measured body, the bare loop it is compared with, and the goal for their ratio."""

    name: str
    description: str
    """What ``measured`` does, in one line."""
    limit: str
    """What ``bare`` does, exactly: the ceiling the measured body is compared with."""
    bare: Body
    measured: Body
    goal: float
    """The ratio measured / bare to reach (0.5 = at least half the bare loop's rate)."""
    setup: Callable[[], None] | None = None
    """Run once before timing (warm caches, build fixtures); not timed."""


@dataclass(frozen=True)
class BenchResult:
    """One benchmark's figures: operations per second of each side, their ratio, the goal."""

    name: str
    measured_per_s: float
    bare_per_s: float
    goal: float
    rounds: int

    @property
    def ratio(self) -> float:
        """measured / bare (0 when the bare side did nothing measurable)."""
        return self.measured_per_s / self.bare_per_s if self.bare_per_s > 0 else 0.0

    @property
    def met(self) -> bool:
        """Whether the ratio reaches the goal."""
        return self.ratio >= self.goal

    def to_json(self) -> dict[str, object]:
        """Machine form for ``amc bench --format json``."""
        return {"name": self.name, "measured_per_s": self.measured_per_s,
                "limit_per_s": self.bare_per_s, "ratio": self.ratio, "goal": self.goal,
                "met": self.met, "rounds": self.rounds}


def _ops(result: int | None) -> int:
    return 1 if result is None else int(result)


def rate(body: Body, budget: float, clock: Clock) -> float:
    """Operations per second of ``body`` over one slice of at least ``budget`` seconds.

    Calls are batched (1, 2, 4, … between clock reads, never more than the rest of the slice
    is expected to hold) so that reading the clock stays a small part of the slice and a slow
    body does not overrun it by much; at least one call is always made.
    """
    ops = calls = 0
    batch = 1
    start = clock()
    while True:
        for _ in range(batch):
            ops += _ops(body())
        calls += batch
        elapsed = clock() - start
        if elapsed >= budget:
            return ops / elapsed
        batch = _next_batch(batch, calls, elapsed, budget)


def _next_batch(batch: int, calls: int, elapsed: float, budget: float) -> int:
    """Double the batch, but not past what the rest of the slice is expected to hold."""
    doubled = min(batch * 2, _MAX_BATCH)
    if elapsed <= 0:
        return doubled
    fits = math.ceil((budget - elapsed) / (elapsed / calls))
    return max(1, min(doubled, fits))


def measure(
    bench: Benchmark,
    *,
    seconds: float = DEFAULT_SECONDS,
    rounds: int = DEFAULT_ROUNDS,
    clock: Clock = time.perf_counter,
) -> BenchResult:
    """Measure ``bench``: ``rounds`` interleaved slices per side, the best rate of each.

    Each slice gets ``seconds / (2 * rounds)``. Both bodies run once first (not timed) after
    ``setup``, so first-call costs (imports, caches, strategy compilation) stay out.
    """
    if seconds <= 0 or rounds < 1:
        raise ValueError(f"seconds={seconds}, rounds={rounds}: need seconds > 0, rounds >= 1")
    if bench.setup is not None:
        bench.setup()
    bench.bare()
    bench.measured()
    budget = seconds / (2 * rounds)
    best_bare = best_measured = 0.0
    for _ in range(rounds):
        best_bare = max(best_bare, rate(bench.bare, budget, clock))
        best_measured = max(best_measured, rate(bench.measured, budget, clock))
    return BenchResult(bench.name, best_measured, best_bare, bench.goal, rounds)


class Registry:
    """Benchmarks by name, in registration order (later components add theirs)."""

    def __init__(self) -> None:
        self._benches: dict[str, Benchmark] = {}

    def register(self, bench: Benchmark) -> Benchmark:
        """Add ``bench``; a second benchmark of the same name is a ValueError."""
        if bench.name in self._benches:
            raise ValueError(f"benchmark {bench.name!r} is already registered")
        self._benches[bench.name] = bench
        return bench

    def get(self, name: str) -> Benchmark:
        """The benchmark ``name``; UsageError naming the closest one when there is none."""
        try:
            return self._benches[name]
        except KeyError:
            known = ", ".join(self._benches) or "none"
            hint = did_you_mean(name, self._benches)
            raise UsageError(f"--only={name}: no such benchmark (known: {known}){hint}") from None

    def select(self, names: list[str] | tuple[str, ...] = ()) -> tuple[Benchmark, ...]:
        """The benchmarks named (every one when empty), in registration order."""
        chosen = {self.get(name).name for name in names}
        return tuple(b for b in self._benches.values() if not names or b.name in chosen)

    def __iter__(self) -> Iterator[Benchmark]:
        return iter(tuple(self._benches.values()))

    def __len__(self) -> int:
        return len(self._benches)

    def __contains__(self, name: object) -> bool:
        return name in self._benches


REGISTRY = Registry()
"""The process-wide registry ``amc bench`` reads."""


def lazy(factory: Callable[[], Callable[[], None]]) -> Callable[[], None]:
    """A body built by ``factory`` on its first call (a benchmark that needs a started target
    or world costs nothing until it is measured)."""
    made: list[Callable[[], None]] = []

    def call() -> None:
        if not made:
            made.append(factory())
        made[0]()

    return call


def register(bench: Benchmark) -> Benchmark:
    """Add ``bench`` to the process-wide registry (see ``REGISTRY``)."""
    return REGISTRY.register(bench)
