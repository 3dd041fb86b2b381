"""Known-deviation baselines: parsing, each status, expiry by date and version, the gate on
``amc report diff`` and on a real ``amc run``, and ``amc report baseline``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import UsageError
from conformance.report import RuleResult, RunResults, Verdict, read_results, write_results
from conformance.report.baseline import (
    Status,
    evaluate,
    gate_run,
    parse_baseline,
    starting_baseline,
)
from conformance.report.compare import compare_runs

TODAY = dt.date(2026, 1, 15)
IDS = ("WH-001", "WH-002", "WH-003", "WH-004", "WH-005", "WH-013")


def run_of(*rules: RuleResult, version: str | None = "2.4.0", strict: bool = False) -> RunResults:
    target = {"kind": "reference"} | ({"version": version} if version else {})
    return RunResults("0.1.0", "sha256:1", "webhook", "pimlico", target, 7,
                      "2026-01-15T00:00:00Z", 1.0, list(rules), strict=strict)


def rule(rid: str, verdict: Verdict, level: str = "MUST", **kw: object) -> RuleResult:
    return RuleResult(rid, verdict, 1, level=level, statement=f"text of {rid}", **kw)  # type: ignore[arg-type]


def baseline(text: str):  # type: ignore[no-untyped-def]
    return parse_baseline(text.encode(), origin="b.toml", known_ids=IDS)


ENTRY = '[[deviation]]\nrule = "{rule}"\nverdict = "{verdict}"\nreason = "known"\n{extra}\n'


def entries(*specs: tuple[str, str, str]) -> str:
    return "".join(ENTRY.format(rule=r, verdict=v, extra=x) for r, v, x in specs)


@pytest.mark.parametrize(("text", "message"), [
    (entries(("WH-001", "FAIL", "")), "needs an expiry"),
    (entries(("WH-001", "FAIL", "expires = 2026-02-01\nreasn = 'x'")), "did you mean 'reason'"),
    (entries(("WH-001", "PAS", "expires = 2026-02-01")), "verdict='PAS'"),
    (entries(("WH-001", "FAIL", "expires = 2026-02-01"), ("WH-001", "ERROR",
                                                          "expires = 2026-02-01")), "twice"),
    (entries(("WH-0001", "FAIL", "expires = 2026-02-01")), "did you mean 'WH-001'"),
    (entries(("WH-001", "FAIL", "expires_version = 'soon'")), "is not a version"),
    (entries(("WH-001", "FAIL", "expires = 'next week'")), "not a YYYY-MM-DD date"),
    ("[[deviations]]\n", "did you mean|unknown table"),
    ("rule = [", "not valid TOML"),
])
def test_bad_baselines_are_one_line_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        baseline(text)
    assert "\n" not in str(info.value)


def test_every_status_and_the_gate() -> None:
    b = baseline(entries(
        ("WH-001", "FAIL", "expires = 2026-02-01"),          # still failing: baselined
        ("WH-002", "FAIL", "expires = 2026-01-01"),          # date passed: expired
        ("WH-003", "FAIL", "expires_version = '2.4.0'"),     # version reached: expired
        ("WH-004", "FAIL", "expires = 2026-02-01"),          # passes now: unexpected pass
        ("WH-005", "ERROR", "expires = 2026-02-01"),         # not in the run: stale
    ))
    run = run_of(rule("WH-001", Verdict.FAIL), rule("WH-002", Verdict.FAIL),
                 rule("WH-003", Verdict.FAIL), rule("WH-004", Verdict.PASS),
                 rule("WH-013", Verdict.ERROR), rule("WH-010", Verdict.FAIL, "SHOULD"))
    report = evaluate(run, b, today=TODAY)
    status = {f.rule_id: f.status for f in report.findings}
    assert status == {"WH-001": Status.BASELINED, "WH-002": Status.EXPIRED,
                      "WH-003": Status.EXPIRED, "WH-004": Status.UNEXPECTED_PASS,
                      "WH-013": Status.NEW_DEVIATION, "WH-005": Status.STALE}
    assert report.exit_code() == 1
    lines = report.lines()
    assert lines[0].startswith("expired") and "gate exit 1" in lines[-1]
    assert "1 baselined, 2 expired, 1 new-deviation, 1 unexpected-pass, 1 stale" in lines[-1]
    # only baselined deviations and an unexpected pass: the gate passes
    ok = run_of(rule("WH-001", Verdict.FAIL), rule("WH-004", Verdict.PASS))
    b2 = baseline(entries(("WH-001", "FAIL", "expires = 2026-02-01"),
                          ("WH-004", "FAIL", "expires = 2026-02-01")))
    assert evaluate(ok, b2, today=TODAY).exit_code() == 0
    assert run_of(rule("WH-001", Verdict.FAIL)).exit_code() == 1  # the run alone gates


def test_exact_verdict_version_expiry_and_flaky_acceptance() -> None:
    b = baseline(entries(("WH-001", "FAIL", "expires_version = '2.5.0'"),
                         ("WH-002", "FAIL", "expires = 2026-02-01\nflaky = true")))
    got = evaluate(run_of(rule("WH-001", Verdict.ERROR)), b, today=TODAY).findings[0]
    assert got.status is Status.NEW_DEVIATION and "expects FAIL, got ERROR" in got.detail
    assert evaluate(run_of(rule("WH-001", Verdict.FAIL)), b, today=TODAY).findings[0].status \
        is Status.BASELINED
    unversioned = evaluate(run_of(rule("WH-001", Verdict.FAIL), version=None), b, today=TODAY)
    assert unversioned.findings[0].status is Status.EXPIRED
    assert "--target-version" in unversioned.findings[0].detail
    steady = evaluate(run_of(rule("WH-002", Verdict.FAIL)), b, today=TODAY).findings[0]
    assert steady.status is Status.NEW_DEVIATION and "FAIL (flaky)" in steady.detail
    flaky = rule("WH-002", Verdict.FAIL, flaky=True, pass_rate=0.5, failing_seeds=[3])
    assert evaluate(run_of(flaky), b, today=TODAY).findings[0].status is Status.BASELINED


def test_starting_baseline_accepts_the_run_it_came_from() -> None:
    run = run_of(rule("WH-001", Verdict.FAIL), rule("WH-013", Verdict.ERROR),
                 rule("WH-002", Verdict.PASS), rule("WH-003", Verdict.SKIP))
    text = starting_baseline(run, expires_version="2.5.0")
    assert text.startswith("# Known deviations of webhook target")
    b = baseline(text)
    assert [(e.rule_id, e.verdict.value, e.expires_version) for e in b.entries] == [
        ("WH-001", "FAIL", "2.5.0"), ("WH-013", "ERROR", "2.5.0")]
    assert evaluate(run, b, today=TODAY).exit_code() == 0
    dated = baseline(starting_baseline(run))
    assert dated.entries[0].expires is not None and dated.entries[0].expires > TODAY


def test_diff_with_baseline_accepts_known_regressions_and_gates_on_expiry() -> None:
    old = run_of(rule("WH-001", Verdict.PASS), rule("WH-002", Verdict.PASS))
    new = run_of(rule("WH-001", Verdict.FAIL), rule("WH-002", Verdict.PASS))
    known = baseline(entries(("WH-001", "FAIL", "expires = 2026-02-01")))
    cmp = compare_runs(old, new, baseline=evaluate(new, known, today=TODAY))
    assert cmp.rules[0].baselined and cmp.exit_code() == 0
    assert compare_runs(old, new).exit_code() == 1
    late = evaluate(new, known, today=dt.date(2026, 3, 1))
    cmp = compare_runs(old, new, baseline=late)
    assert cmp.exit_code() == 1 and "baseline entry expired" in cmp.gating()[-1]


def test_cli_baseline_then_diff(tmp_path: Path, capsys) -> None:
    old = run_of(rule("WH-001", Verdict.PASS), rule("WH-002", Verdict.PASS))
    new = run_of(rule("WH-001", Verdict.FAIL), rule("WH-002", Verdict.PASS))
    write_results(old, tmp_path / "old")
    write_results(new, tmp_path / "new")
    out = tmp_path / "known.toml"
    assert main(["report", "baseline", str(tmp_path / "new"), "--output", str(out)]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    capsys.readouterr()
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "new"),
                 "--baseline", str(out), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["baseline"]["findings"][0]["status"] == "baselined"
    out.write_text(out.read_text().replace("WH-001", "WH-999"))
    assert main(["report", "diff", str(tmp_path / "old"), str(tmp_path / "new"),
                 "--baseline", str(out)]) == 2
    assert "WH-999: no such rule" in capsys.readouterr().err


def test_amc_run_with_a_baseline_gates_on_a_real_mutant(tmp_path: Path, capsys) -> None:
    """A real run of the skip-chain-check mutant: WH-013 FAILs; baselined, the gate passes;
    with the entry expired by version, it fails; a bad baseline stops the run before it starts."""
    known = tmp_path / "known.toml"
    known.write_text(entries(("WH-013", "FAIL", "expires_version = '2.5.0'")))
    argv = ["run", "webhook", "--reference", "--mutant", "skip-chain-check", "--rule", "WH-013",
            "--max-examples", "5", "--seed", "7", "--baseline", str(known)]
    assert main([*argv, "--target-version", "2.4.0", "--report-dir", str(tmp_path / "a")]) == 0
    gate = json.loads((tmp_path / "a" / "baseline-gate.json").read_text())
    assert [f["status"] for f in gate["findings"]] == ["baselined"]
    assert json.loads((tmp_path / "a" / "results.json").read_text())["target"]["version"] \
        == "2.4.0"
    # the same results against the entry expired by version: the gate fails, and says why
    run = read_results(tmp_path / "a" / "results.json")
    expired = baseline(entries(("WH-013", "FAIL", "expires_version = '2.4.0'")))
    said: list[str] = []
    assert gate_run(run, expired, tmp_path / "a", run.exit_code(), said.append) == 1
    assert said[0].startswith("expired") and "WH-013" in said[0]
    assert gate_run(run, expired, tmp_path / "a", 2, said.append) == 2  # unjudged run keeps 2
    known.write_text("[[deviation]]\nrule = 'WH-013'\n")
    assert main([*argv, "--report-dir", str(tmp_path / "c")]) == 2
    assert not (tmp_path / "c" / "results.json").exists()


def test_a_baseline_entry_may_name_a_run_verdict_only_once() -> None:
    run = run_of(rule("WH-001", Verdict.FAIL))
    b = baseline(entries(("WH-001", "FAIL", "expires = 2026-02-01")))
    assert dataclasses.replace(b, entries=()).by_rule() == {}
    assert evaluate(run, dataclasses.replace(b, entries=()), today=TODAY).exit_code() == 1
