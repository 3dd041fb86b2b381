"""The options of one fuzz run and the progress it reports (plain data, validated up front)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import UsageError
from conformance.fuzz.corpus import target_dir
from conformance.fuzz.targets import require_target


@dataclass(frozen=True)
class FuzzConfig:
    """``amc fuzz TARGET --seconds N --workers J [--corpus DIR] [--seed S]`` and the rest."""

    target: str
    seconds: int = 60
    workers: int = 1
    corpus: Path | None = None
    seed: int | None = None
    plant: str | None = None
    candidate: str | None = None
    evm_feedback: bool = True
    max_len: int = 4096
    minimise_seconds: int = 10
    stop_on_finding: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_target(self.target)
        if self.seconds < 1:
            raise UsageError(f"--seconds={self.seconds}: must be at least 1")
        if not 1 <= self.workers <= 64:
            raise UsageError(f"--workers={self.workers}: must be 1..64")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise UsageError(f"--seed={self.seed}: must be 0..4294967295")
        if self.corpus is not None and self.corpus.exists() and not self.corpus.is_dir():
            raise UsageError(f"--corpus={self.corpus}: not a directory")

    @property
    def corpus_dir(self) -> Path:
        """Where the corpus and ``crashes/`` live."""
        return target_dir(self.target, self.corpus)


@dataclass(frozen=True)
class Progress:
    """One progress report: elapsed seconds, executions, coverage, corpus size, findings."""

    target: str
    elapsed: float
    executions: int
    coverage: int
    corpus_size: int
    findings: int

    def line(self) -> str:
        """``execute_calldata  12s  5,300 exec/s  cov 210  corpus 45  findings 1``."""
        rate = self.executions / self.elapsed if self.elapsed > 0 else 0.0
        return (f"{self.target}  {self.elapsed:4.0f}s  {rate:,.0f} exec/s  cov {self.coverage}  "
                f"corpus {self.corpus_size}  findings {self.findings}")
