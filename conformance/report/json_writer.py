"""``results.json``: the source of truth every other report is rendered from
(ARCHITECTURE.md "Layout").

Written pretty, rules in catalogue order, secrets redacted, validated against
``results.schema.json`` before a byte reaches the disk; read back into ``RunResults``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from conformance.report.model import SCHEMA_VERSION, RuleResult, RunResults
from conformance.report.redact import Redactor
from conformance.report.schema import ResultsSchemaError, validate_results

RESULTS_FILE = "results.json"
READ_MAJORS = ("1", "2")
"""Schema majors this suite reads: 2.x adds ``aborted`` and external pointers to 1.x."""

_ID_PARTS = re.compile(r"(\d+)")


def rule_key(rule_id: str) -> tuple[str | int, ...]:
    """Sort key putting rule ids in natural order (``WH-9`` before ``WH-10``)."""
    parts = _ID_PARTS.split(rule_id)
    return tuple(int(p) if p.isdigit() else p for p in parts)


def sorted_results(results: list[RuleResult]) -> list[RuleResult]:
    """``results`` ordered by family, then rule number."""
    return sorted(results, key=lambda r: rule_key(r.rule_id))


def prepare(run: RunResults, redactor: Redactor | None = None) -> RunResults:
    """The copy of ``run`` every writer renders: redacted, plain JSON values, rules sorted."""
    clean = (redactor or Redactor()).run(run)
    return dataclasses.replace(clean, results=sorted_results(clean.results))


def to_document(run: RunResults, redactor: Redactor | None = None) -> dict[str, Any]:
    """The validated ``results.json`` document of ``run``."""
    doc = prepare(run, redactor).to_json()
    validate_results(doc)
    return doc


def write_results(
    run: RunResults, directory: Path, *, redactor: Redactor | None = None
) -> Path:
    """Write ``directory/results.json`` (created if needed) and return its path."""
    doc = to_document(run, redactor)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RESULTS_FILE
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def _check_version(doc: Any, source: str) -> None:
    """Reject a document whose ``schema_version`` major this suite does not read."""
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+", version):
        raise ResultsSchemaError(f"{source}: schema_version={version!r} is not MAJOR.MINOR")
    major = version.split(".")[0]
    ours = SCHEMA_VERSION.split(".")[0]
    if major not in READ_MAJORS:
        raise ResultsSchemaError(
            f"{source}: schema_version={version} is not supported (this suite reads "
            f"{', '.join(f'{m}.x' for m in READ_MAJORS)})"
        )
    assert ours in READ_MAJORS


def read_results(path: Path) -> RunResults:
    """Load and validate a ``results.json``; ``ResultsSchemaError`` names what is wrong."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsSchemaError(f"{path}: cannot read results: {exc}") from exc
    _check_version(doc, str(path))
    try:
        validate_results(doc)
    except ResultsSchemaError as exc:
        raise ResultsSchemaError(f"{path}: {exc}") from None
    return RunResults.from_json(doc)
