"""The result model every harness writes through (ARCHITECTURE.md "Verdicts").

One ``RuleResult`` per rule: its verdict, how many cases exercised it, and for a FAIL the
failures with their minimal input and reproducer. ``RunResults`` is what ``results.json``
serialises; the four names ``rule_id``, ``verdict``, ``cases`` and ``failures`` are a stable
contract read by CI gates.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = "2.0"
"""2.0: top-level ``aborted``; ``minimal_input``/``reproducer`` may be an external pointer
(``report.external``). Readers of this suite read 1.x documents too."""


class Verdict(enum.StrEnum):
    """Outcome for one rule. Precedence when combining: FAIL > ERROR > PASS > SKIP."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIP = "SKIP"


_PRECEDENCE = {Verdict.FAIL: 3, Verdict.ERROR: 2, Verdict.PASS: 1, Verdict.SKIP: 0}


def statement_digest(level: str, statement: str) -> str:
    """Digest of a rule's text as judged (level and statement): a reworded rule changes it."""
    text = json.dumps([level, statement], ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """The verdict of a rule from the verdicts of its checks (SKIP when there are none)."""
    return max(verdicts, key=_PRECEDENCE.__getitem__, default=Verdict.SKIP)


@dataclass(frozen=True)
class Failure:
    """One departure from a rule: what went wrong, the minimal input and how to replay it."""

    message: str
    minimal_input: Any = None
    reproducer: Any = ""
    """The replay text; in a results.json read back, an external pointer when it was over 4 KiB
    (``report.external``: ``resolve`` gives the text)."""
    check: str = ""
    cause: str = ""
    """Root-cause key the check gave (``CheckFailure.cause``); grouped in ``report.roots``."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Failure:
        """The inverse of the failure objects in ``RuleResult.to_json``."""
        return cls(
            message=data["message"],
            minimal_input=data.get("minimal_input"),
            reproducer=data.get("reproducer", ""),
            check=data.get("check", ""),
            cause=data.get("cause", ""),
        )


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
    flaky: bool = False
    """With ``--repeat``: the rule both passed and failed (verdict stays FAIL; report.flakes)."""
    pass_rate: float | None = None
    """With ``--repeat``: the share of the repeated runs in which the rule passed."""
    failing_seeds: list[int] = field(default_factory=list)
    """With ``--repeat``: the seeds of the runs in which the rule failed."""
    mutants_caught: int | None = None
    """How many bundled mutants this rule's checks catch (``report.sensitivity``), when the run
    knew it: the strength of a PASS."""

    @property
    def statement_digest(self) -> str:
        """Digest of the rule text this verdict was judged against (``report.compare``)."""
        return statement_digest(self.level, self.statement)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written into ``results.json`` (repeat fields only when repeated)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        data["statement_digest"] = self.statement_digest
        if self.pass_rate is None:
            for key in ("flaky", "pass_rate", "failing_seeds"):
                del data[key]
        if self.mutants_caught is None:
            del data["mutants_caught"]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleResult:
        """The inverse of ``to_json`` (a ``results.json`` rule object)."""
        return cls(
            rule_id=data["rule_id"],
            verdict=Verdict(data["verdict"]),
            cases=data.get("cases", 0),
            failures=[Failure.from_json(f) for f in data.get("failures", [])],
            level=data.get("level", "MUST"),
            component=data.get("component", ""),
            statement=data.get("statement", ""),
            checks=list(data.get("checks", [])),
            reasons=list(data.get("reasons", [])),
            flaky=bool(data.get("flaky", False)),
            pass_rate=data.get("pass_rate"),
            failing_seeds=[int(s) for s in data.get("failing_seeds", [])],
            mutants_caught=data.get("mutants_caught"),
        )


@dataclass(frozen=True)
class Aborted:
    """Why a run ended before judging every rule: the one-line cause and the exit code it gives
    (2: the run could not start or go on; 130/143: interrupted by SIGINT/SIGTERM)."""

    cause: str
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        """The ``aborted`` object of ``results.json``."""
        return {"cause": self.cause, "exit_code": self.exit_code}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Aborted | None:
        """The inverse of ``to_json`` (None for a run that was not aborted)."""
        return None if not data else cls(str(data["cause"]), int(data["exit_code"]))


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
    repeat: dict[str, Any] | None = None
    """With ``--repeat K``: ``{"runs": K, "seeds": [...]}`` (``report.flakes``)."""
    aborted: Aborted | None = None
    """Set when the run ended early: its rules not judged are ERROR, never SKIP or PASS."""

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
            "aborted": self.aborted.to_json() if self.aborted else None,
            "summary": self.summary(),
            "roots": [root.to_json() for root in self.roots()],
            "results": [r.to_json() for r in self.results],
            "logs": self.logs,
            **({"repeat": self.repeat} if self.repeat else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResults:
        """The inverse of ``to_json`` (``summary`` and ``roots`` are derived: not read back)."""
        return cls(
            suite_version=data["suite_version"],
            catalogue_digest=data["catalogue_digest"],
            component=data["component"],
            profile=data["profile"],
            target=dict(data["target"]),
            seed=data["seed"],
            started_at=data["started_at"],
            duration_seconds=data["duration_seconds"],
            results=[RuleResult.from_json(r) for r in data["results"]],
            strict=data.get("strict", False),
            logs=dict(data.get("logs", {})),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
            repeat=data.get("repeat"),
            aborted=Aborted.from_json(data.get("aborted")),
        )

    def roots(self) -> list[Any]:
        """The FAILs grouped by root cause, most rules first (``report.roots.find_roots``)."""
        from conformance.report.roots import find_roots

        return find_roots(self.results)

    def summary(self) -> dict[str, int]:
        """Count of rules per verdict."""
        counts = {v.value: 0 for v in Verdict}
        for r in self.results:
            counts[r.verdict.value] += 1
        return counts

    def exit_code(self) -> int:
        """The aborted run's code (2, 130, 143); else 0 when every applicable MUST rule passes
        (SHOULD too with ``strict``), else 1."""
        if self.aborted is not None:
            return self.aborted.exit_code
        for r in self.results:
            gating = r.level == "MUST" or self.strict
            if gating and r.verdict in (Verdict.FAIL, Verdict.ERROR):
                return 1
        return 0
