"""Benchmarks (``amc bench``): ratios measured in one run against exactly defined bare loops.

A ``Benchmark`` pairs a measured body with a bare loop and a goal ratio; ``measure`` runs both
in interleaved rounds and returns a ``BenchResult`` (ops/s of each side, ratio, goal, met).
Benchmarks live in a registry: a module registers its own at import time with
``register(Benchmark(...))`` and is listed in ``BENCH_MODULES`` so ``load_benchmarks`` imports
it (a listed module that does not exist yet is skipped). Speed is reported, never asserted in
tests.
"""

from __future__ import annotations

import importlib

from conformance.bench.core import (
    DEFAULT_ROUNDS,
    DEFAULT_SECONDS,
    REGISTRY,
    Benchmark,
    BenchResult,
    Registry,
    measure,
    register,
)

BENCH_MODULES: tuple[str, ...] = (
    "conformance.bench.protocol_bench",
    "conformance.bench.webhook_bench",
    "conformance.bench.account_bench",
)
"""Modules whose import registers benchmarks (later components add theirs here)."""


def load_benchmarks() -> Registry:
    """Import every module of ``BENCH_MODULES`` that exists; the process-wide registry."""
    for name in BENCH_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return REGISTRY


__all__ = [
    "BENCH_MODULES",
    "DEFAULT_ROUNDS",
    "DEFAULT_SECONDS",
    "REGISTRY",
    "BenchResult",
    "Benchmark",
    "Registry",
    "load_benchmarks",
    "measure",
    "register",
]
