"""``--repeat K`` merged runs (report.flakes): a rule that both passed and failed stays FAIL,
gains flaky, its pass rate and failing seeds; the merged document is schema-valid; baselines,
the diff and the matrix treat flaky rules apart."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conformance.report import Failure, RuleResult, RunResults, Verdict, read_results, write_results
from conformance.report.baseline import Status, evaluate, parse_baseline
from conformance.report.compare import compare_runs
from conformance.report.flakes import flaky_rules, merge_repeats, merge_rule
from conformance.report.matrix import SourceRun, build_matrix

P, F, E, S = Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.SKIP


def run_at(seed: int, **verdicts: Verdict) -> RunResults:
    rules = [RuleResult(rid.replace("_", "-"), v, 2, [Failure(f"bad at {seed}")] if v is F else [],
                        level="MUST", component="webhook", statement=f"text {rid}")
             for rid, v in verdicts.items()]
    return RunResults("0.1.0", "sha256:1", "webhook", "pimlico", {"kind": "reference"}, seed,
                      "2026-01-01T00:00:00Z", 1.5, rules)


@pytest.mark.parametrize(("verdicts", "merged", "flaky", "rate", "failing"), [
    ((P, F, P), F, True, 0.6667, [11]),
    ((F, F, F), F, False, 0.0, [10, 11, 12]),
    ((P, P, P), P, False, 1.0, []),
    ((P, E, P), E, False, 0.6667, [11]),
    ((S, P, S), P, False, 1.0, []),
    ((S, S, S), S, False, 0.0, []),
])
def test_merge_rule(verdicts, merged, flaky, rate, failing) -> None:
    results = [RuleResult("WH-013", v, 1) for v in verdicts]
    got = merge_rule(results, [10, 11, 12])
    assert (got.verdict, got.flaky, got.pass_rate, got.failing_seeds) == (merged, flaky, rate,
                                                                          failing)
    assert got.cases == 3


def test_merged_run_is_valid_and_replayable(tmp_path: Path) -> None:
    runs = [run_at(7, WH_013=P, WH_008=P), run_at(8, WH_013=F, WH_008=P),
            run_at(9, WH_013=P, WH_008=P)]
    merged = merge_repeats(runs)
    assert merged.repeat == {"runs": 3, "seeds": [7, 8, 9]} and merged.seed == 7
    assert merged.duration_seconds == 4.5
    assert [r.rule_id for r in flaky_rules(merged)] == ["WH-013"]
    wh013 = next(r for r in merged.results if r.rule_id == "WH-013")
    assert wh013.verdict is F and wh013.failing_seeds == [8]
    assert wh013.failures[0].message == "bad at 8"
    assert merged.exit_code() == 1  # flaky is not a pass
    back = read_results(write_results(merged, tmp_path))
    assert back.repeat == merged.repeat
    assert next(r for r in back.results if r.rule_id == "WH-013").flaky
    doc = json.loads((tmp_path / "results.json").read_text())
    plain = write_results(runs[0], tmp_path / "plain")
    assert "flaky" not in json.loads(plain.read_text())["results"][0]  # only when repeated
    assert doc["results"][1]["pass_rate"] == 0.6667
    with pytest.raises(ValueError):
        merge_repeats([])


def test_flaky_rules_in_baseline_diff_and_matrix(tmp_path: Path) -> None:
    merged = merge_repeats([run_at(7, WH_013=P), run_at(8, WH_013=F)])
    accept = parse_baseline(b'[[deviation]]\nrule = "WH-013"\nverdict = "FAIL"\nreason = "r"\n'
                            b'expires = 2030-01-01\nflaky = true\n')
    assert evaluate(merged, accept, today=dt.date(2026, 1, 1)).findings[0].status \
        is Status.BASELINED
    steady = merge_repeats([run_at(7, WH_013=F), run_at(8, WH_013=F)])
    assert evaluate(steady, accept, today=dt.date(2026, 1, 1)).exit_code() == 1
    cmp = compare_runs(run_at(1, WH_013=P), merged)
    assert [r.rule_id for r in cmp.flaky()] == ["WH-013"]
    m = build_matrix([SourceRun(merged, tmp_path / "results.json")], tmp_path)
    assert m.flaky() == [("WH-013", "webhook reference")]
    assert m.columns[0].totals["flaky"] == 1
