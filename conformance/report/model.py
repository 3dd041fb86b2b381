"""The result model every harness writes through (DESIGN.md "Verdicts").

One ``RuleResult`` per rule: its verdict, how many cases exercised it, and for a FAIL the
failures with their minimal input and reproducer. ``RunResults`` is what ``results.json``
serialises; the four names ``rule_id``, ``verdict``, ``cases`` and ``failures`` are a stable
contract read by CI gates.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = "1.0"


class Verdict(enum.StrEnum):
    """Outcome for one rule. Precedence when combining: FAIL > ERROR > PASS > SKIP."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIP = "SKIP"


_PRECEDENCE = {Verdict.FAIL: 3, Verdict.ERROR: 2, Verdict.PASS: 1, Verdict.SKIP: 0}


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict of a rule from the verdicts of its checks (SKIP when there are none)."""
    return max(verdicts, key=_PRECEDENCE.__getitem__, default=Verdict.SKIP)


@dataclass(frozen=True)
class Failure:
    """One departure from a rule: what went wrong, the minimal input and how to replay it."""

    message: str
    minimal_input: Any = None
    reproducer: str = ""
    check: str = ""


@dataclass
class CheckOutcome:
    """What one check run said about the rules it names (the engine's raw event)."""

    check: str
    rule_ids: tuple[str, ...]
    verdict: Verdict
    cases: int = 0
    failure: Failure | None = None
    failed_rule: str | None = None
    reason: str = ""
    duration: float = 0.0


@dataclass
class RuleResult:
    """The verdict of one rule over a run."""

    rule_id: str
    verdict: Verdict
    cases: int = 0
    failures: list[Failure] = field(default_factory=list)
    level: str = "MUST"
    component: str = ""
    statement: str = ""
    checks: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written into ``results.json``."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


@dataclass
class RunResults:
    """A whole run: identity of what was tested and one ``RuleResult`` per rule."""

    suite_version: str
    catalogue_digest: str
    component: str
    profile: str
    target: dict[str, Any]
    seed: int
    started_at: str
    duration_seconds: float
    results: list[RuleResult]
    strict: bool = False
    logs: dict[str, str] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        """The whole ``results.json`` document (see ``report/results.schema.json``)."""
        return {
            "schema_version": self.schema_version,
            "suite_version": self.suite_version,
            "catalogue_digest": self.catalogue_digest,
            "component": self.component,
            "profile": self.profile,
            "target": self.target,
            "seed": self.seed,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "strict": self.strict,
            "summary": self.summary(),
            "results": [r.to_json() for r in self.results],
            "logs": self.logs,
        }

    def summary(self) -> dict[str, int]:
        """Count of rules per verdict."""
        counts = {v.value: 0 for v in Verdict}
        for r in self.results:
            counts[r.verdict.value] += 1
        return counts

    def exit_code(self) -> int:
        """0 when every applicable MUST rule passes (SHOULD too with ``strict``), else 1."""
        for r in self.results:
            gating = r.level == "MUST" or self.strict
            if gating and r.verdict in (Verdict.FAIL, Verdict.ERROR):
                return 1
        return 0
