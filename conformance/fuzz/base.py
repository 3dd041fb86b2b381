"""What every fuzz target shares: the finding it raises, deterministic seed drawing, and the
hooks that feed extra signals to the fuzzer when one is running.

A target is a module with ``NAME``, ``RULES``, ``DICTIONARY``, ``seeds()``, ``setup()`` and
``TestOneInput(data: bytes)`` (libFuzzer style). A broken invariant raises ``Finding`` naming the
rule; any other exception escaping ``TestOneInput`` is itself a finding (the code under test
raised past its error type). Nothing here prints.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


class Finding(AssertionError):
    """A broken invariant: ``rule`` is the rule id it serves, the message says what broke."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.detail = message


def require(condition: bool, rule: str, message: str | Callable[[], str]) -> None:
    """Raise ``Finding(rule, message)`` unless ``condition`` (message built lazily)."""
    if not condition:
        raise Finding(rule, message() if callable(message) else message)


def draw_examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` examples of ``strategy``, the same on every run (derandomized, no database).

    Hypothesis also mixes in constants it finds in the local modules loaded so far, which would
    make the draws depend on what was imported before; that source is switched off here.
    """
    from hypothesis.internal.conjecture import providers

    drawn: list[T] = []
    empty = getattr(providers, "_local_constants", None)
    original = getattr(providers, "_get_local_constants", None)

    @settings(derandomize=True, database=None, max_examples=count, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    if original is not None and empty is not None:
        blank = providers.Constants(  # type: ignore[attr-defined]
            integers=providers.SortedSet(), bytes=providers.SortedSet(),  # type: ignore[attr-defined]
            floats=providers.SortedSet(key=providers.float_to_int),  # type: ignore[attr-defined]
            strings=providers.SortedSet())  # type: ignore[attr-defined]
        providers._get_local_constants = lambda: blank  # type: ignore[attr-defined]
    try:
        collect()
    finally:
        if original is not None:
            providers._get_local_constants = original  # type: ignore[attr-defined]
    return drawn


def unique(items: Iterable[bytes]) -> list[bytes]:
    """``items`` in first-seen order without repeats."""
    return list(dict.fromkeys(items))


class Feedback:
    """Extra coverage signals for the running fuzzer: ``branch(key)`` lights one of a pool of
    counters reserved from atheris before fuzzing starts, chosen by a stable hash of ``key``
    (crc32, so every worker process maps a signature to the same counter); ``compare`` reports a
    comparison to libFuzzer's value-profile (``_trace_cmp``). Off (the default, and always
    outside a fuzzer): both are plain Python with no effect on results."""

    def __init__(self) -> None:
        self.enabled = False
        self._counters: list[int] = []
        self._trace_branch: Callable[[int], None] | None = None
        self._trace_cmp: Callable[..., Any] | None = None
        self._next_cmp = 0

    def enable(self, counters: int = 4096) -> None:
        """Reserve ``counters`` atheris counters; call once, before ``atheris.Fuzz``."""
        import atheris  # only when fuzzing

        if not self.enabled:
            self._counters = [atheris._reserve_counter() for _ in range(counters)]
            self._cmp_ids = [atheris._reserve_counter() for _ in range(64)]
            self._trace_branch = atheris._trace_branch
            self._trace_cmp = atheris._trace_cmp
            self.enabled = True

    def branch(self, key: bytes) -> None:
        """Light the counter of ``key`` (an execution's signature)."""
        if self._trace_branch is not None:
            self._trace_branch(self._counters[zlib.crc32(key) % len(self._counters)])

    def equal(self, site: int, seen: bytes, wanted: bytes) -> bool:
        """``seen == wanted``, reported to libFuzzer as a comparison at ``site`` (0..63)."""
        if self._trace_cmp is not None:
            return bool(self._trace_cmp(seen, wanted, 2, self._cmp_ids[site], False))
        return seen == wanted


FEEDBACK = Feedback()
"""The process-wide feedback hooks (enabled by the worker with ``--evm-feedback``)."""
