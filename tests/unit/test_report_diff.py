"""``amc report diff``: every rule classified, the gate, the refusals, the formats, the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UsageError
from conformance.report import Redactor, RuleResult, RunResults, Verdict, write_results
from conformance.report.compare import (
    Change,
    check_comparable,
    classify,
    compare_runs,
    format_comparison,
)

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"

P, F, E, S = Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.SKIP


def run_of(*rules: RuleResult, **overrides: object) -> RunResults:
    fields: dict[str, object] = dict(
        suite_version="0.1.0", catalogue_digest="sha256:1111", component="webhook",
        profile="base", target={"url": "http://127.0.0.1:8787/", "version": "2.3.1"},
        seed=1234, started_at="2025-01-02T03:04:05Z", duration_seconds=1.0,
        results=list(rules))
    fields.update(overrides)
    return RunResults(**fields)  # type: ignore[arg-type]


def rule(rid: str, verdict: Verdict, level: str = "MUST", text: str = "") -> RuleResult:
    return RuleResult(rid, verdict, 1, level=level, component="webhook",
                      statement=text or f"statement of {rid}")


@pytest.mark.parametrize(("old", "new", "kind"), [
    (P, F, Change.REGRESSED), (P, E, Change.REGRESSED), (S, F, Change.REGRESSED),
    (S, E, Change.REGRESSED), (None, F, Change.REGRESSED), (None, E, Change.REGRESSED),
    (F, P, Change.FIXED), (E, P, Change.FIXED),
    (S, P, Change.NEWLY_COVERED), (None, P, Change.NEWLY_COVERED),
    (P, S, Change.NO_LONGER_COVERED), (P, None, Change.NO_LONGER_COVERED),
    (F, S, Change.NO_LONGER_COVERED), (E, None, Change.NO_LONGER_COVERED),
    (F, E, Change.CHANGED), (E, F, Change.CHANGED), (None, S, Change.CHANGED),
    (S, None, Change.CHANGED),
    (P, P, Change.UNCHANGED), (F, F, Change.UNCHANGED), (S, S, Change.UNCHANGED),
])
def test_classify_every_move(old, new, kind) -> None:
    assert classify(old, new) is kind


def release_pair() -> tuple[RunResults, RunResults]:
    old = run_of(rule("WH-001", P), rule("WH-002", P, "SHOULD"), rule("WH-003", F),
                 rule("WH-004", P), rule("WH-005", S), rule("WH-006", F), rule("WH-007", P),
                 rule("WH-009", S, "SHOULD"))
    new = run_of(rule("WH-001", P), rule("WH-002", F, "SHOULD"), rule("WH-003", P),
                 rule("WH-004", E), rule("WH-005", P), rule("WH-006", E), rule("WH-008", F),
                 rule("WH-009", F, "SHOULD"),
                 suite_version="0.2.0", catalogue_digest="sha256:2222",
                 started_at="2025-02-01T00:00:00Z",
                 target={"url": "http://h/", "version": "2.4.0"})
    return old, new


def test_compare_classifies_every_rule_and_gates_on_any_level() -> None:
    cmp = compare_runs(*release_pair())
    kinds = {r.rule_id: r.change for r in cmp.rules}
    assert kinds == {
        "WH-001": Change.UNCHANGED, "WH-002": Change.REGRESSED, "WH-003": Change.FIXED,
        "WH-004": Change.REGRESSED, "WH-005": Change.NEWLY_COVERED, "WH-006": Change.CHANGED,
        "WH-007": Change.NO_LONGER_COVERED, "WH-008": Change.REGRESSED,
        "WH-009": Change.REGRESSED,
    }
    assert cmp.catalogue_changed and not cmp.text_changed()
    gating = cmp.gating()
    assert [g.split()[0] for g in gating] == ["WH-002", "WH-004", "WH-008", "WH-009", "WH-007"]
    assert cmp.exit_code() == 1
    assert compare_runs(*release_pair(), allow_coverage_loss=True).gating()[-1].startswith(
        "WH-009")


def test_lost_coverage_alone_gates_unless_allowed() -> None:
    old = run_of(rule("WH-001", P), rule("WH-002", P))
    new = run_of(rule("WH-001", P), rule("WH-002", S))
    assert compare_runs(old, new).exit_code() == 1
    assert compare_runs(old, new, allow_coverage_loss=True).exit_code() == 0
    assert compare_runs(old, old).exit_code() == 0


def test_refuses_different_components_and_reworded_rules() -> None:
    old = run_of(rule("WH-001", P), rule("WH-002", P))
    with pytest.raises(UsageError, match="old run tested webhook, new run tested account"):
        check_comparable(old, run_of(component="account"))
    check_comparable(old, run_of(component="account"), allow_different_component=True)
    reworded = run_of(rule("WH-001", P, text="another reading"), rule("WH-002", P, "SHOULD"))
    with pytest.raises(UsageError, match=r"2 rule\(s\) read differently .*WH-001, WH-002"):
        check_comparable(old, reworded)
    check_comparable(old, reworded, allow_catalogue_change=True)
    cmp = compare_runs(old, reworded)
    assert [r.rule_id for r in cmp.text_changed()] == ["WH-001", "WH-002"]
    # a new catalogue digest alone (rules added elsewhere) is comparable
    check_comparable(old, dataclasses.replace(old, catalogue_digest="sha256:9"))


def test_flaky_rules_are_shown_apart() -> None:
    flaky = dataclasses.replace(rule("WH-002", F), flaky=True, pass_rate=0.5, failing_seeds=[8])
    cmp = compare_runs(run_of(rule("WH-002", F)), run_of(flaky))
    assert [r.rule_id for r in cmp.flaky()] == ["WH-002"]
    assert "Flaky (new run):\n  WH-002" in format_comparison(cmp)
    assert json.loads(format_comparison(cmp, "json"))["rules"][0]["flaky"] is True


def test_formats() -> None:
    cmp = compare_runs(*release_pair())
    doc = json.loads(format_comparison(cmp, "json"))
    assert doc["counts"]["regressed"] == 4 and doc["exit_code"] == 1
    assert doc["catalogue_changed"] is True
    assert {r["rule_id"] for r in doc["rules"]} == {f"WH-00{i}" for i in range(2, 10)}
    md = format_comparison(cmp, "markdown")
    assert md.startswith("## Conformance: release gate **fails** (exit 1)")
    assert "| WH-004 | MUST | regressed | PASS | ERROR |  | statement of WH-004 |" in md
    with pytest.raises(UsageError, match="did you mean 'markdown'"):
        format_comparison(cmp, "markdwn")
    redacted = format_comparison(cmp, "text", redactor=Redactor(["2.4.0"]))
    assert "2.4.0" not in redacted and "version=***" in redacted


def test_snapshot_text_comparison() -> None:
    text = format_comparison(compare_runs(*release_pair()), "text")
    path = SNAPSHOTS / "compare.txt"
    if os.environ.get("AMC_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_cli_diff_exit_codes_and_refusal(tmp_path: Path, capsys) -> None:
    old, new = release_pair()
    write_results(old, tmp_path / "old")
    write_results(new, tmp_path / "new")
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "new" / "results.json"),
                 "--format", "markdown"]) == 1
    assert "| WH-008 | MUST | regressed | - | FAIL |" in capsys.readouterr().out
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "old")]) == 0
    write_results(run_of(rule("AC-001", P), component="account"), tmp_path / "acc")
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "acc")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-different-component" in err
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "nowhere")]) == 2
    assert "no such results file" in capsys.readouterr().err
