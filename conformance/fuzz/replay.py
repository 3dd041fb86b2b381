"""Replaying corpora as a regression check: ``amc fuzz replay [TARGET]``.

Every corpus entry must pass its target, and every past finding under ``crashes/`` must no
longer reproduce (a fixed bug stays fixed); one input can be replayed alone with its outcome.
Runs in the test command (seconds), without libFuzzer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conformance.fuzz.corpus import corpus_entries, crash_entries, target_dir
from conformance.fuzz.findings import Outcome, judge
from conformance.fuzz.targets import TARGETS, require_target
from conformance.fuzz.worker import prepare


@dataclass
class ReplayResult:
    """What a replay found: entries run, past findings run, and each input that failed."""

    target: str
    entries: int = 0
    crashes: int = 0
    failures: list[tuple[Path, Outcome]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failures


def replay_target(target: str, corpus: Path | None = None, *, plant: str | None = None,
                  candidate: str | None = None) -> ReplayResult:
    """Run every corpus entry and past finding of ``target`` once."""
    require_target(target)
    directory = target_dir(target, corpus)
    module = prepare(target, plant=plant, candidate=candidate)
    result = ReplayResult(target)
    for path in corpus_entries(directory):
        result.entries += 1
        outcome = judge(module, path.read_bytes())
        if outcome is not None:
            result.failures.append((path, outcome))
    for path in crash_entries(directory):
        result.crashes += 1
        outcome = judge(module, path.read_bytes())
        if outcome is not None:
            result.failures.append((path, outcome))
    return result


def replay_all(corpus_root: Path | None = None) -> list[ReplayResult]:
    """``replay_target`` for every target (``corpus_root/<target>`` when given)."""
    return [replay_target(name, corpus_root / name if corpus_root else None)
            for name in dict.fromkeys(TARGETS)]


def replay_input(target: str, path: Path, *, plant: str | None = None,
                 candidate: str | None = None) -> Outcome | None:
    """The outcome of one input on ``target`` (None: it passes)."""
    module = prepare(target, plant=plant, candidate=candidate)
    return judge(module, path.read_bytes())
