"""Reports of a run: the result model, ``results.json`` (source of truth), JUnit XML, a static
HTML page and the release comparison (ARCHITECTURE.md "Layout", "Verdicts", "Secrets").

``write_reports`` writes all three files of a run with secrets redacted.
"""

from __future__ import annotations

from pathlib import Path

from conformance.report.compare import (
    Change,
    Comparison,
    RuleChange,
    compare_runs,
    comparison_exit_code,
    format_comparison,
)
from conformance.report.html import write_html
from conformance.report.json_writer import read_results, write_results
from conformance.report.junit import write_junit
from conformance.report.model import (
    SCHEMA_VERSION,
    CheckOutcome,
    Failure,
    RuleResult,
    RunResults,
    Verdict,
    combine,
)
from conformance.report.redact import Redactor
from conformance.report.schema import ResultsSchemaError, load_schema, validate_results


def write_reports(
    run: RunResults, directory: Path, *, redactor: Redactor | None = None
) -> dict[str, Path]:
    """Write ``results.json``, ``junit.xml`` and ``report.html`` into ``directory``.

    results.json is written (and schema-validated) first, so an invalid run writes nothing.
    Failure values over 4 KiB go to files of ``directory`` first (``report.external``): all
    three reports point to the same files.
    """
    from conformance.report.external import externalize_run
    from conformance.report.json_writer import prepare

    run = externalize_run(prepare(run, redactor), directory)
    return {
        "json": write_results(run, directory, redactor=redactor),
        "junit": write_junit(run, directory, redactor=redactor),
        "html": write_html(run, directory, redactor=redactor),
    }


__all__ = [
    "SCHEMA_VERSION",
    "Change",
    "CheckOutcome",
    "Comparison",
    "Failure",
    "Redactor",
    "ResultsSchemaError",
    "RuleChange",
    "RuleResult",
    "RunResults",
    "Verdict",
    "combine",
    "compare_runs",
    "comparison_exit_code",
    "format_comparison",
    "load_schema",
    "read_results",
    "validate_results",
    "write_html",
    "write_junit",
    "write_reports",
    "write_results",
]
