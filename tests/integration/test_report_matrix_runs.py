"""The compliance matrix over real runs of the bundled references and two of their mutants:
each mutant's column FAILs exactly the rule its registry entry names (WH-013, AC-002), the
references' columns PASS everything, and the cells link to the failures (report.matrix)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main

RUNS = (
    ("webhook", None, ("WH-013", "WH-008")),
    ("webhook", "skip-chain-check", ("WH-013", "WH-008")),
    ("account", None, ("AC-002",)),
    ("account", "high-s-accepted", ("AC-002",)),
)


@pytest.mark.slow
def test_matrix_of_references_and_mutants(tmp_path: Path) -> None:
    for component, mutant, rules in RUNS:
        name = f"{component}-{mutant or 'reference'}"
        argv = ["run", component, "--reference", "--max-examples", "5", "--seed", "7",
                "--report-dir", str(tmp_path / "runs" / name)]
        argv += ["--mutant", mutant] if mutant else []
        for rule in rules:
            argv += ["--rule", rule]
        assert main(argv) == (1 if mutant else 0), name
    assert main(["report", "matrix", str(tmp_path / "runs"), "--report-dir",
                 str(tmp_path / "m")]) == 0
    doc = json.loads((tmp_path / "m" / "matrix.json").read_text())
    names = [c["implementation"] for c in doc["columns"]]
    verdicts = {row["rule_id"]: {names[i]: cell["verdict"] for i, cell in enumerate(row["cells"])}
                for row in doc["rows"]}
    assert verdicts["WH-013"]["webhook reference mutant skip-chain-check"] == "FAIL"
    assert verdicts["WH-013"]["webhook reference"] == "PASS"
    assert verdicts["WH-008"]["webhook reference mutant skip-chain-check"] == "PASS"
    assert verdicts["AC-002"]["account reference mutant high-s-accepted"] == "FAIL"
    assert verdicts["AC-002"]["account reference"] == "PASS"
    assert verdicts["AC-002"]["webhook reference"] is None
    page = (tmp_path / "m" / "matrix.html").read_text()
    for column, name in enumerate(names):
        if "mutant" in name:
            rule = "WH-013" if name.startswith("webhook") else "AC-002"
            assert f'href="#f-{column}-{rule}"' in page and f'id="f-{column}-{rule}"' in page
