"""Release comparison: how the verdicts of one run moved against another (DESIGN.md "Users").

Per rule: a *regression* goes from not failing (PASS, SKIP) to failing (FAIL, ERROR); a *fix*
from failing to PASS; *new* and *removed* rules exist in one run only; any other move is
*changed*. A changed catalogue digest means the rules themselves may read differently. The gate
(``Comparison.exit_code``) is 1 when a MUST rule regressed (any level with ``strict``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from conformance.errors import UsageError, did_you_mean
from conformance.report.json_writer import rule_key
from conformance.report.model import RuleResult, RunResults, Verdict
from conformance.report.redact import Redactor

_FAILING = (Verdict.FAIL, Verdict.ERROR)
FORMATS = ("text", "json", "markdown")


class Change(enum.StrEnum):
    """How one rule's verdict moved between the two runs."""

    REGRESSION = "regression"
    FIX = "fix"
    NEW = "new"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


_TITLES = {
    Change.REGRESSION: "Regressions",
    Change.FIX: "Fixes",
    Change.NEW: "New rules",
    Change.REMOVED: "Removed rules",
    Change.CHANGED: "Other changes",
}


@dataclass(frozen=True)
class RuleChange:
    """One rule in both runs (``old``/``new`` is None where the rule is absent)."""

    rule_id: str
    level: str
    statement: str
    old: Verdict | None
    new: Verdict | None
    change: Change

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object."""
        return {
            "rule_id": self.rule_id,
            "level": self.level,
            "statement": self.statement,
            "old": None if self.old is None else self.old.value,
            "new": None if self.new is None else self.new.value,
            "change": self.change.value,
        }


@dataclass(frozen=True)
class RunIdentity:
    """What a side of the comparison ran: suite, profile, target, catalogue."""

    suite_version: str
    profile: str
    component: str
    started_at: str
    catalogue_digest: str
    target: dict[str, Any]

    @classmethod
    def of(cls, run: RunResults) -> RunIdentity:
        """The identity of ``run``."""
        return cls(run.suite_version, run.profile, run.component, run.started_at,
                   run.catalogue_digest, dict(run.target))


@dataclass(frozen=True)
class Comparison:
    """Every rule of either run, classified, in catalogue order."""

    old: RunIdentity
    new: RunIdentity
    rules: tuple[RuleChange, ...]

    @property
    def catalogue_changed(self) -> bool:
        """True when the two runs were judged against different rule catalogues."""
        return self.old.catalogue_digest != self.new.catalogue_digest

    def of_kind(self, change: Change) -> list[RuleChange]:
        """The rules whose verdict moved in the way ``change`` names."""
        return [r for r in self.rules if r.change is change]

    def counts(self) -> dict[str, int]:
        """Number of rules per kind of change."""
        return {c.value: len(self.of_kind(c)) for c in Change}

    def exit_code(self, *, strict: bool = False) -> int:
        """1 when a MUST rule regressed (any rule with ``strict``), else 0."""
        gating = [r for r in self.of_kind(Change.REGRESSION) if strict or r.level == "MUST"]
        return 1 if gating else 0

    def to_json(self) -> dict[str, Any]:
        """A plain JSON document of the comparison."""
        return {
            "old": vars(self.old),
            "new": vars(self.new),
            "catalogue_changed": self.catalogue_changed,
            "counts": self.counts(),
            "rules": [r.to_json() for r in self.rules if r.change is not Change.UNCHANGED],
            "exit_code": self.exit_code(),
        }


def classify(old: Verdict | None, new: Verdict | None) -> Change:
    """The kind of move from verdict ``old`` to ``new`` (None: rule absent from that run)."""
    if old is None:
        return Change.NEW
    if new is None:
        return Change.REMOVED
    if old == new:
        return Change.UNCHANGED
    if old not in _FAILING and new in _FAILING:
        return Change.REGRESSION
    if old in _FAILING and new is Verdict.PASS:
        return Change.FIX
    return Change.CHANGED


def compare_runs(old: RunResults, new: RunResults) -> Comparison:
    """Classify every rule of ``old`` and ``new`` (level and statement from the newer side)."""
    before = {r.rule_id: r for r in old.results}
    after = {r.rule_id: r for r in new.results}
    changes = []
    for rule_id in sorted(before.keys() | after.keys(), key=rule_key):
        a, b = before.get(rule_id), after.get(rule_id)
        latest: RuleResult = b or a  # type: ignore[assignment]
        changes.append(RuleChange(
            rule_id=rule_id,
            level=latest.level,
            statement=latest.statement,
            old=a.verdict if a else None,
            new=b.verdict if b else None,
            change=classify(a.verdict if a else None, b.verdict if b else None),
        ))
    return Comparison(RunIdentity.of(old), RunIdentity.of(new), tuple(changes))


def _verdicts(r: RuleChange) -> str:
    old = r.old.value if r.old else "-"
    new = r.new.value if r.new else "-"
    return f"{old} -> {new}"


def _identity(side: RunIdentity) -> str:
    target = ", ".join(f"{k}={v}" for k, v in sorted(side.target.items()))
    return (f"suite {side.suite_version}, {side.component}/{side.profile}, "
            f"started {side.started_at}, target {{{target}}}")


def _summary_line(cmp: Comparison) -> str:
    counts = cmp.counts()
    must = sum(r.level == "MUST" for r in cmp.of_kind(Change.REGRESSION))
    parts = [f"{counts['regression']} regressions ({must} MUST)"]
    parts += [f"{counts[c.value]} {c.value}" for c in Change if c is not Change.REGRESSION]
    return ", ".join(parts)


def _format_text(cmp: Comparison) -> str:
    lines = ["Release comparison", f"  old: {_identity(cmp.old)}", f"  new: {_identity(cmp.new)}"]
    if cmp.catalogue_changed:
        lines.append(f"  catalogue digest CHANGED: {cmp.old.catalogue_digest} -> "
                     f"{cmp.new.catalogue_digest}")
    else:
        lines.append(f"  catalogue digest unchanged: {cmp.new.catalogue_digest}")
    if cmp.old.profile != cmp.new.profile:
        lines.append(f"  warning: profiles differ ({cmp.old.profile} vs {cmp.new.profile})")
    lines.append(f"Summary: {_summary_line(cmp)}")
    for change, title in _TITLES.items():
        rows = cmp.of_kind(change)
        if rows:
            lines.append(f"{title}:")
            width = max(len(r.rule_id) for r in rows)
            lines += [f"  {r.rule_id:<{width}}  {r.level:<6}  {_verdicts(r):<15}  {r.statement}"
                      for r in rows]
    lines.append(f"Gate: exit {cmp.exit_code()}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _format_markdown(cmp: Comparison) -> str:
    lines = ["## Release comparison", "",
             f"- old: {_cell(_identity(cmp.old))}", f"- new: {_cell(_identity(cmp.new))}",
             f"- catalogue digest: {'**changed**' if cmp.catalogue_changed else 'unchanged'} "
             f"(`{cmp.old.catalogue_digest}` -> `{cmp.new.catalogue_digest}`)",
             f"- summary: {_summary_line(cmp)}", f"- gate: exit {cmp.exit_code()}", ""]
    rows = [r for r in cmp.rules if r.change is not Change.UNCHANGED]
    if rows:
        lines += ["| rule | level | change | old | new | statement |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r.rule_id} | {r.level} | {r.change.value} | "
                  f"{r.old.value if r.old else '-'} | {r.new.value if r.new else '-'} | "
                  f"{_cell(r.statement)} |" for r in rows]
    else:
        lines.append("No verdict changed.")
    return "\n".join(lines) + "\n"


def format_comparison(
    cmp: Comparison, fmt: str = "text", *, redactor: Redactor | None = None
) -> str:
    """``cmp`` as ``text`` (console), ``json`` or ``markdown`` (a release note / PR comment)."""
    if fmt == "text":
        out = _format_text(cmp)
    elif fmt == "json":
        out = json.dumps(cmp.to_json(), indent=2, sort_keys=True) + "\n"
    elif fmt == "markdown":
        out = _format_markdown(cmp)
    else:
        raise UsageError(
            f"fmt={fmt!r}: must be one of {', '.join(FORMATS)}{did_you_mean(fmt, FORMATS)}"
        )
    return redactor.text(out) if redactor else out


def comparison_exit_code(cmp: Comparison, *, strict: bool = False) -> int:
    """The release gate: 1 when a MUST rule regressed (any rule with ``strict``), else 0."""
    return cmp.exit_code(strict=strict)
