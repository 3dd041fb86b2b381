"""``amc run --repeat K`` on a real mutant: K runs under seeds S..S+K-1, each in seed-N/, merged
into the run folder with the pass rate and failing seeds (report.flakes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main


@pytest.mark.slow
def test_repeat_runs_each_seed_and_merges(tmp_path: Path) -> None:
    argv = ["run", "webhook", "--reference", "--mutant", "skip-chain-check", "--rule", "WH-013",
            "--rule", "WH-008", "--max-examples", "5", "--seed", "7", "--repeat", "2",
            "--report-dir", str(tmp_path)]
    assert main(argv) == 1
    assert (tmp_path / "seed-7" / "results.json").is_file()
    assert (tmp_path / "seed-8" / "results.json").is_file()
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["repeat"] == {"runs": 2, "seeds": [7, 8]}
    rules = {r["rule_id"]: r for r in doc["results"]}
    assert rules["WH-013"]["verdict"] == "FAIL" and rules["WH-013"]["failing_seeds"] == [7, 8]
    assert rules["WH-013"]["flaky"] is False and rules["WH-013"]["pass_rate"] == 0.0
    assert rules["WH-008"]["pass_rate"] == 1.0
    assert main([*argv[:-4], "--repeat", "0", "--report-dir", str(tmp_path / "x")]) == 2
