"""Release comparison: how the verdicts of one run moved against another (ARCHITECTURE.md
"Reports and release gates").

Per rule, by verdict (``None``: the rule is absent from that run):

* *regressed*: from PASS, SKIP or absent to FAIL or ERROR;
* *fixed*: from FAIL or ERROR to PASS;
* *newly covered*: from SKIP or absent to PASS;
* *no longer covered*: from a judged verdict (PASS, FAIL, ERROR) to SKIP or absent (a failing
  rule that stops being judged hides its failure, so it counts too);
* *changed*: any other move (FAIL <-> ERROR, absent -> SKIP, ...); *unchanged* otherwise.

Independently of the verdicts a rule is *catalogue changed* when its text digest (level and
statement, ``model.statement_digest``) differs between the runs. Two runs of different
components, or whose common rules read differently, are refused (``UsageError``, exit 2) unless
the caller allows it. The gate (``Comparison.exit_code``) is 1 on any regression of any level
not accepted by a baseline, on lost coverage (unless allowed) and on an expired baseline entry.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from conformance.errors import UsageError, did_you_mean
from conformance.report.baseline import BaselineReport, Status
from conformance.report.json_writer import rule_key
from conformance.report.model import RuleResult, RunResults, Verdict
from conformance.report.redact import Redactor

_FAILING = (Verdict.FAIL, Verdict.ERROR)
_JUDGED = (Verdict.PASS, Verdict.FAIL, Verdict.ERROR)
FORMATS = ("text", "json", "markdown")


class Change(enum.StrEnum):
    """How one rule's verdict moved between the two runs."""

    REGRESSED = "regressed"
    FIXED = "fixed"
    NEWLY_COVERED = "newly-covered"
    NO_LONGER_COVERED = "no-longer-covered"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


_TITLES = {
    Change.REGRESSED: "Regressed",
    Change.FIXED: "Fixed",
    Change.NEWLY_COVERED: "Newly covered",
    Change.NO_LONGER_COVERED: "No longer covered",
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
    text_changed: bool = False
    """The rule's level or statement differs between the runs' catalogues."""
    flaky: bool = False
    """The newer run (with ``--repeat``) saw the rule both pass and fail."""
    baselined: bool = False
    """The newer verdict is a known deviation the baseline accepts."""

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object."""
        return {
            "rule_id": self.rule_id,
            "level": self.level,
            "statement": self.statement,
            "old": None if self.old is None else self.old.value,
            "new": None if self.new is None else self.new.value,
            "change": self.change.value,
            "catalogue_changed": self.text_changed,
            "flaky": self.flaky,
            "baselined": self.baselined,
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
    baseline: BaselineReport | None = None
    allow_coverage_loss: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def catalogue_changed(self) -> bool:
        """True when the two runs were judged against different rule catalogues."""
        return self.old.catalogue_digest != self.new.catalogue_digest

    def of_kind(self, change: Change) -> list[RuleChange]:
        """The rules whose verdict moved in the way ``change`` names."""
        return [r for r in self.rules if r.change is change]

    def text_changed(self) -> list[RuleChange]:
        """The rules whose text (level, statement) differs between the runs."""
        return [r for r in self.rules if r.text_changed]

    def flaky(self) -> list[RuleChange]:
        """The rules the newer run saw both pass and fail."""
        return [r for r in self.rules if r.flaky]

    def counts(self) -> dict[str, int]:
        """Number of rules per kind of change, plus catalogue-changed and flaky rules."""
        counts = {c.value: len(self.of_kind(c)) for c in Change}
        counts["catalogue-changed"] = len(self.text_changed())
        counts["flaky"] = len(self.flaky())
        return counts

    def gating(self) -> list[str]:
        """One line per reason the gate fails (empty: the release may ship)."""
        reasons = [f"{r.rule_id} regressed ({_verdicts(r)})"
                   for r in self.of_kind(Change.REGRESSED) if not r.baselined]
        if not self.allow_coverage_loss:
            reasons += [f"{r.rule_id} no longer covered ({_verdicts(r)})"
                        for r in self.of_kind(Change.NO_LONGER_COVERED)]
        if self.baseline is not None:
            reasons += [f"{f.rule_id} baseline entry expired ({f.detail})"
                        for f in self.baseline.of_status(Status.EXPIRED)]
        return reasons

    def exit_code(self) -> int:
        """1 when ``gating`` names a reason, else 0."""
        return 1 if self.gating() else 0

    def to_json(self) -> dict[str, Any]:
        """A plain JSON document of the comparison."""
        return {
            "old": vars(self.old),
            "new": vars(self.new),
            "catalogue_changed": self.catalogue_changed,
            "counts": self.counts(),
            "rules": [r.to_json() for r in self.rules
                      if r.change is not Change.UNCHANGED or r.text_changed or r.flaky],
            "baseline": None if self.baseline is None else self.baseline.to_json(),
            "notes": list(self.notes),
            "gating": self.gating(),
            "exit_code": self.exit_code(),
        }


def classify(old: Verdict | None, new: Verdict | None) -> Change:
    """The kind of move from verdict ``old`` to ``new`` (None: rule absent from that run)."""
    if old == new:
        return Change.UNCHANGED
    if new in _FAILING and old not in _FAILING:
        return Change.REGRESSED
    if new is Verdict.PASS:
        return Change.FIXED if old in _FAILING else Change.NEWLY_COVERED
    if old in _JUDGED and new in (Verdict.SKIP, None):
        return Change.NO_LONGER_COVERED
    return Change.CHANGED


def check_comparable(old: RunResults, new: RunResults, *, allow_different_component: bool = False,
                     allow_catalogue_change: bool = False) -> None:
    """UsageError (exit 2) when the runs cannot be compared as two releases of one thing: they
    test different components, or a rule both judged reads differently (a changed catalogue)."""
    if old.component != new.component and not allow_different_component:
        raise UsageError(
            f"component: old run tested {old.component}, new run tested {new.component}; "
            "a release is compared with the same component (--allow-different-component)"
        )
    if allow_catalogue_change:
        return
    before = {r.rule_id: r.statement_digest for r in old.results}
    reworded = sorted((r.rule_id for r in new.results
                       if r.rule_id in before and before[r.rule_id] != r.statement_digest),
                      key=rule_key)
    if reworded:
        shown = ", ".join(reworded[:5]) + (" ..." if len(reworded) > 5 else "")
        raise UsageError(
            f"catalogue: {len(reworded)} rule(s) read differently in the two runs ({shown}); "
            "compare anyway with --allow-catalogue-change"
        )


def compare_runs(old: RunResults, new: RunResults, *, baseline: BaselineReport | None = None,
                 allow_coverage_loss: bool = False) -> Comparison:
    """Classify every rule of ``old`` and ``new`` (level and statement from the newer side).

    ``baseline`` is the newer run judged against a known-deviation baseline
    (``baseline.evaluate``): a regression to the verdict it accepts does not gate.
    """
    before = {r.rule_id: r for r in old.results}
    after = {r.rule_id: r for r in new.results}
    accepted = set() if baseline is None else {
        f.rule_id for f in baseline.of_status(Status.BASELINED)}
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
            text_changed=bool(a and b and a.statement_digest != b.statement_digest),
            flaky=bool(b and b.flaky),
            baselined=rule_id in accepted,
        ))
    notes = []
    if old.profile != new.profile:
        notes.append(f"profiles differ ({old.profile} vs {new.profile})")
    if old.component != new.component:
        notes.append(f"components differ ({old.component} vs {new.component})")
    return Comparison(RunIdentity.of(old), RunIdentity.of(new), tuple(changes), baseline,
                      allow_coverage_loss, tuple(notes))


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
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _mark(r: RuleChange) -> str:
    marks = [m for m, on in (("baselined", r.baselined), ("flaky", r.flaky),
                             ("text changed", r.text_changed)) if on]
    return f" [{', '.join(marks)}]" if marks else ""


def _format_text(cmp: Comparison) -> str:
    lines = ["Release comparison", f"  old: {_identity(cmp.old)}", f"  new: {_identity(cmp.new)}"]
    if cmp.catalogue_changed:
        lines.append(f"  catalogue digest CHANGED: {cmp.old.catalogue_digest} -> "
                     f"{cmp.new.catalogue_digest}")
    else:
        lines.append(f"  catalogue digest unchanged: {cmp.new.catalogue_digest}")
    lines += [f"  note: {note}" for note in cmp.notes]
    lines.append(f"Summary: {_summary_line(cmp)}")
    sections = [(title, cmp.of_kind(change)) for change, title in _TITLES.items()]
    sections += [("Catalogue changed", cmp.text_changed()), ("Flaky (new run)", cmp.flaky())]
    for title, rows in sections:
        if rows:
            lines.append(f"{title}:")
            width = max(len(r.rule_id) for r in rows)
            lines += [f"  {r.rule_id:<{width}}  {r.level:<6}  {_verdicts(r):<15}  "
                      f"{r.statement}{_mark(r)}" for r in rows]
    if cmp.baseline is not None:
        lines += ["Baseline:", *("  " + line for line in cmp.baseline.lines())]
    gating = cmp.gating()
    lines.append(f"Gate: exit {cmp.exit_code()}" + (f" ({'; '.join(gating)})" if gating else ""))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _format_markdown(cmp: Comparison) -> str:
    gating = cmp.gating()
    verdict = "**fails**" if gating else "passes"
    lines = [f"## Conformance: release gate {verdict} (exit {cmp.exit_code()})", "",
             f"- old: {_cell(_identity(cmp.old))}", f"- new: {_cell(_identity(cmp.new))}",
             f"- catalogue digest: {'**changed**' if cmp.catalogue_changed else 'unchanged'} "
             f"(`{cmp.old.catalogue_digest}` -> `{cmp.new.catalogue_digest}`)",
             f"- summary: {_summary_line(cmp)}"]
    lines += [f"- note: {_cell(note)}" for note in cmp.notes]
    lines += [f"- gate: {_cell(reason)}" for reason in gating]
    lines.append("")
    rows = [r for r in cmp.rules
            if r.change is not Change.UNCHANGED or r.text_changed or r.flaky]
    if rows:
        lines += ["| rule | level | change | old | new | notes | statement |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r.rule_id} | {r.level} | {r.change.value} | "
                  f"{r.old.value if r.old else '-'} | {r.new.value if r.new else '-'} | "
                  f"{_mark(r).strip(' []')} | {_cell(r.statement)} |" for r in rows]
    else:
        lines.append("No verdict changed.")
    if cmp.baseline is not None:
        lines += ["", "<details><summary>Baseline</summary>", "",
                  *(f"- {_cell(line)}" for line in cmp.baseline.lines()), "", "</details>"]
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


def comparison_exit_code(cmp: Comparison) -> int:
    """The release gate: 1 on an unaccepted regression, lost coverage or expired entry."""
    return cmp.exit_code()
