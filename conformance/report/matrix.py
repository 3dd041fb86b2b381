"""The compliance matrix: implementations x rules over any number of runs (ARCHITECTURE.md
"Reports and release gates").

One column per run (an implementation, a release of it, a profile, a component), one row per
rule grouped by component and PROTOCOL.md section; a cell is the rule's verdict in that run,
linking to its failure, or why the run did not judge it. Per column and per implementation:
verdict totals and MUST/SHOULD conformance (rules passed over rules judged, PASS+FAIL+ERROR).
Rendered as ``matrix.json`` and an offline ``matrix.html`` under the same Content-Security-Policy
as ``report.html``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report.json_writer import rule_key
from conformance.report.model import RuleResult, RunResults, Verdict

MATRIX_HTML = "matrix.html"
MATRIX_JSON = "matrix.json"
_JUDGED = (Verdict.PASS, Verdict.FAIL, Verdict.ERROR)


@dataclass(frozen=True)
class RuleInfo:
    """What the catalogue says of a rule: its component and section (``§4 Policy``)."""

    component: str
    section: str


@dataclass(frozen=True)
class SourceRun:
    """A run as given to the matrix: its results and where they came from."""

    results: RunResults
    path: Path
    """The ``results.json`` file (its folder may hold ``report.html``)."""


def implementation_label(run: RunResults) -> str:
    """Who was tested, as a column names it: reference, mutant, URL, command or artifact."""
    target = run.target
    kind = str(target.get("kind", "?"))
    if kind == "reference":
        label = f"reference mutant {target['mutant']}" if target.get("mutant") else "reference"
    else:
        label = str(target.get(kind) or kind)
    return f"{run.component} {label}"


def conformance_percent(results: Sequence[RuleResult], level: str) -> float | None:
    """Share of ``level`` rules that PASS among those judged (None when none was judged)."""
    judged = [r for r in results if r.level == level and r.verdict in _JUDGED]
    if not judged:
        return None
    return round(100.0 * sum(r.verdict is Verdict.PASS for r in judged) / len(judged), 1)


def _totals(results: Sequence[RuleResult]) -> dict[str, Any]:
    counts = {v.value: sum(r.verdict is v for r in results) for v in Verdict}
    return {**counts, "flaky": sum(r.flaky for r in results),
            "must_percent": conformance_percent(results, "MUST"),
            "should_percent": conformance_percent(results, "SHOULD")}


@dataclass(frozen=True)
class Column:
    """One run."""

    index: int
    implementation: str
    version: str
    component: str
    profile: str
    seed: int
    suite_version: str
    source: str
    report_link: str | None
    totals: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object."""
        return dict(vars(self))


@dataclass(frozen=True)
class Cell:
    """One rule in one run: its verdict, or None and why it was not judged."""

    verdict: Verdict | None
    why: str = ""
    flaky: bool = False
    pass_rate: float | None = None
    failure: str = ""
    link: str | None = None
    minimal_input: str | None = None
    reproducer: str = ""

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object."""
        return {"verdict": None if self.verdict is None else self.verdict.value,
                "why": self.why, "flaky": self.flaky, "pass_rate": self.pass_rate,
                "failure": self.failure, "link": self.link}


@dataclass(frozen=True)
class Row:
    """One rule across every run."""

    rule_id: str
    level: str
    component: str
    section: str
    statement: str
    cells: tuple[Cell, ...]
    kills: int | None = None
    """Bundled mutants this rule catches (``report.sensitivity``), when known."""

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object."""
        return {"rule_id": self.rule_id, "level": self.level, "component": self.component,
                "section": self.section, "statement": self.statement, "kills": self.kills,
                "cells": [c.to_json() for c in self.cells]}


@dataclass(frozen=True)
class Matrix:
    """Columns (runs), rows (rules in catalogue order) and per-implementation totals."""

    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    implementations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def groups(self) -> list[tuple[str, list[Row]]]:
        """The rows grouped by ``component · section``, in row order."""
        out: dict[str, list[Row]] = {}
        for row in self.rows:
            out.setdefault(f"{row.component} · {row.section}", []).append(row)
        return list(out.items())

    def flaky(self) -> list[tuple[str, str]]:
        """(rule id, implementation) of every flaky cell."""
        return [(row.rule_id, self.columns[i].implementation)
                for row in self.rows for i, cell in enumerate(row.cells) if cell.flaky]

    def to_json(self) -> dict[str, Any]:
        """The ``matrix.json`` document."""
        return {"columns": [c.to_json() for c in self.columns],
                "implementations": self.implementations,
                "rows": [r.to_json() for r in self.rows],
                "flaky": [{"rule_id": r, "implementation": i} for r, i in self.flaky()]}


def _why_absent(run: RunResults, component: str) -> str:
    if component not in (run.component, "protocol"):
        return f"not applied: a {run.component} run does not judge {component} rules"
    return "not selected in this run (--rule/--exclude-rule, or not in its catalogue)"


def _cell(run: SourceRun, result: RuleResult | None, component: str, index: int,
          out_dir: Path) -> Cell:
    if result is None:
        return Cell(None, _why_absent(run.results, component))
    from conformance.report.junit import format_input

    why = "; ".join(result.reasons) if result.verdict is not Verdict.PASS else ""
    link = f"#f-{index}-{result.rule_id}" if result.verdict in (Verdict.FAIL, Verdict.ERROR) \
        else None
    if not result.failures:
        return Cell(result.verdict, why, result.flaky, result.pass_rate, "", link)
    first = result.failures[0]
    shown = None if first.minimal_input is None else format_input(first.minimal_input)
    return Cell(result.verdict, why, result.flaky, result.pass_rate, first.message, link,
                shown, format_input(first.reproducer))


def _report_link(source: Path, out_dir: Path) -> str | None:
    page = source.parent / "report.html"
    if not page.is_file():
        return None
    return os.path.relpath(page.resolve(), out_dir.resolve()).replace(os.sep, "/")


def build_matrix(runs: Sequence[SourceRun], out_dir: Path, *,
                 rule_info: Mapping[str, RuleInfo] | None = None,
                 kills: Mapping[str, int] | None = None) -> Matrix:
    """The matrix of ``runs`` (links relative to ``out_dir``); ``rule_info`` from the
    catalogue groups rows by section, ``kills`` (``report.sensitivity``) adds mutant counts."""
    info = dict(rule_info or {})
    by_run = [{r.rule_id: r for r in run.results.results} for run in runs]
    statements: dict[str, RuleResult] = {}
    for results in by_run:
        for rid, res in results.items():
            statements.setdefault(rid, res)
    rows = []
    for rid in sorted(statements, key=lambda r: _row_key(r, info)):
        first = statements[rid]
        meta = info.get(rid, RuleInfo(first.component or "?", "§?"))
        cells = tuple(_cell(run, by_run[i].get(rid), meta.component, i, out_dir)
                      for i, run in enumerate(runs))
        rows.append(Row(rid, first.level, meta.component, meta.section, first.statement, cells,
                        None if kills is None else kills.get(rid, 0)))
    columns = tuple(_column(i, run, out_dir) for i, run in enumerate(runs))
    return Matrix(columns, tuple(rows), _implementations(runs))


_COMPONENT_ORDER = {"protocol": 0, "webhook": 1, "account": 2, "sidecar": 3}


def _row_key(rule_id: str, info: Mapping[str, RuleInfo]) -> tuple[Any, ...]:
    meta = info.get(rule_id)
    component = meta.component if meta else "~"
    section = meta.section if meta else "§?"
    return (_COMPONENT_ORDER.get(component, 9), component, section, rule_key(rule_id))


def _column(index: int, run: SourceRun, out_dir: Path) -> Column:
    res = run.results
    return Column(index, implementation_label(res), str(res.target.get("version", "")),
                  res.component, res.profile, res.seed, res.suite_version, str(run.path),
                  _report_link(run.path, out_dir), _totals(res.results))


def _implementations(runs: Sequence[SourceRun]) -> dict[str, dict[str, Any]]:
    """Totals per implementation and version over all its runs (profiles, components)."""
    grouped: dict[str, list[RuleResult]] = {}
    counts: dict[str, int] = {}
    for run in runs:
        res = run.results
        version = res.target.get("version")
        key = implementation_label(res) + (f" {version}" if version else "")
        grouped.setdefault(key, []).extend(res.results)
        counts[key] = counts.get(key, 0) + 1
    return {name: {**_totals(results), "runs": counts[name]} for name, results in grouped.items()}


def write_matrix(matrix: Matrix, out_dir: Path) -> dict[str, Path]:
    """Write ``matrix.json`` and ``matrix.html`` into ``out_dir``."""
    from conformance.report.matrix_html import render_matrix_html

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / MATRIX_JSON
    json_path.write_text(json.dumps(matrix.to_json(), indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    html_path = out_dir / MATRIX_HTML
    html_path.write_text(render_matrix_html(matrix, failures=_failure_details(matrix)),
                         encoding="utf-8")
    return {"json": json_path, "html": html_path}


def _failure_details(matrix: Matrix) -> list[dict[str, Any]]:
    return [{"id": cell.link.lstrip("#"), "rule_id": row.rule_id,
             "column": matrix.columns[i], "verdict": cell.verdict.value if cell.verdict else "",
             "message": cell.failure or cell.why, "minimal_input": cell.minimal_input,
             "reproducer": cell.reproducer}
            for row in matrix.rows for i, cell in enumerate(row.cells) if cell.link]
