"""The published JSON Schema of ``results.json`` and its validator (ARCHITECTURE.md "Verdicts").

``results.schema.json`` (draft 2020-12) describes exactly what ``RunResults.to_json`` emits.
Beyond the schema, a document must be self-consistent: rule ids unique and the ``summary``
counts equal to the verdicts in ``results``.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import exceptions as js_exceptions

from conformance.errors import UsageError
from conformance.report.model import SCHEMA_VERSION

SCHEMA_FILE = "results.schema.json"


class ResultsSchemaError(UsageError):
    """A results document does not match the published schema (rendered as one line)."""


@cache
def _schema_text() -> str:
    return resources.files("conformance.report").joinpath(SCHEMA_FILE).read_text("utf-8")


def load_schema() -> dict[str, Any]:
    """The ``results.json`` JSON Schema (a fresh copy the caller may modify)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _where(error: js_exceptions.ValidationError) -> str:
    """A JSONPath-like location of a validation error (``$.results[3].verdict``)."""
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _check_consistency(doc: dict[str, Any]) -> None:
    """Rule ids unique; ``summary`` equal to the count of verdicts in ``results``."""
    ids = Counter(r["rule_id"] for r in doc["results"])
    dupes = sorted(rule_id for rule_id, n in ids.items() if n > 1)
    if dupes:
        raise ResultsSchemaError(f"results document invalid: duplicate rule_id {dupes[0]!r}")
    counted = Counter(r["verdict"] for r in doc["results"])
    for verdict, n in doc["summary"].items():
        if counted.get(verdict, 0) != n:
            raise ResultsSchemaError(
                f"results document invalid at $.summary.{verdict}: {n} != "
                f"{counted.get(verdict, 0)} rules with that verdict"
            )


def validate_results(doc: Any) -> None:
    """Raise ``ResultsSchemaError`` (one line: where and what) unless ``doc`` is valid."""
    error = js_exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        message = " ".join(error.message.split())
        message = message if len(message) <= 200 else message[:197] + "..."
        raise ResultsSchemaError(
            f"results document invalid at {_where(error)}: {message} "
            f"(schema {SCHEMA_FILE}, version {SCHEMA_VERSION})"
        )
    _check_consistency(doc)
