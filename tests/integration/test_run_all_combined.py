"""``amc run all`` writes one combined report (the matrix) over its component runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main


@pytest.mark.slow
def test_run_all_writes_a_combined_report(tmp_path: Path) -> None:
    assert main(["run", "all", "--reference", "--rule", "WH-013", "--rule", "AC-002",
                 "--max-examples", "5", "--seed", "3", "--report-dir", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "matrix.json").read_text())
    runs = {(c["component"], c["profile"]) for c in doc["columns"]}
    assert {("webhook", "pimlico"), ("webhook", "base"), ("account", "base")} <= runs
    rows = {r["rule_id"]: r for r in doc["rows"]}
    assert {c["verdict"] for c in rows["WH-013"]["cells"]} >= {"PASS", None}
    assert (tmp_path / "matrix.html").is_file()
