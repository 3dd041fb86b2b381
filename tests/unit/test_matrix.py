"""``amc report matrix``: columns per run, rows grouped by component and section, cells that
link to their failure or say why a rule was not judged, totals and conformance percentages,
an offline page under a Content-Security-Policy; sensitivity counts from the mutant registries."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report import Failure, RuleResult, RunResults, Verdict, write_reports
from conformance.report.matrix import (
    RuleInfo,
    SourceRun,
    build_matrix,
    conformance_percent,
    implementation_label,
    write_matrix,
)
from conformance.report.sensitivity import kills_by_rule, weakest

HOSTILE = '<script>alert("x")</script> & "quotes"'


def run_of(component: str, target: dict, *rules: RuleResult, version: str = "") -> RunResults:
    if version:
        target = {**target, "version": version}
    return RunResults("0.1.0", "sha256:1", component, "pimlico", target, 7,
                      "2026-01-01T00:00:00Z", 1.0, list(rules))


def r(rid: str, verdict: Verdict, level: str = "MUST", component: str = "webhook",
      **kw: object) -> RuleResult:
    return RuleResult(rid, verdict, 3, level=level, component=component,
                      statement=f"text of {rid}", **kw)  # type: ignore[arg-type]


INFO = {"UO-003": RuleInfo("protocol", "§3"), "WH-013": RuleInfo("webhook", "§4 Policy"),
        "WH-030": RuleInfo("webhook", "§4 Cache"), "WH-008": RuleInfo("webhook", "§4 Policy"),
        "AC-002": RuleInfo("account", "§6")}


def sample_runs(tmp_path: Path) -> list[SourceRun]:
    ref = run_of("webhook", {"kind": "reference"}, r("UO-003", Verdict.PASS, component="protocol"),
                 r("WH-008", Verdict.PASS), r("WH-013", Verdict.PASS),
                 r("WH-030", Verdict.SKIP, "SHOULD", reasons=["profile base has no cache"]),
                 version="2.3.0")
    mutant = run_of("webhook", {"kind": "reference", "mutant": "skip-chain-check"},
                    r("WH-008", Verdict.PASS),
                    r("WH-013", Verdict.FAIL, failures=[Failure(HOSTILE, {"chainId": "0x1"},
                                                                "curl -d @x", "test_chain")]),
                    r("WH-030", Verdict.FAIL, "SHOULD", flaky=True, pass_rate=0.5,
                      failing_seeds=[8]))
    account = run_of("account", {"kind": "artifact", "artifact": "build/Member.json"},
                     r("AC-002", Verdict.ERROR, component="account",
                       reasons=["target timed out"]))
    runs = []
    for name, run in (("ref", ref), ("mutant", mutant), ("account", account)):
        write_reports(run, tmp_path / "runs" / name)
        runs.append(SourceRun(run, tmp_path / "runs" / name / "results.json"))
    return runs


def test_matrix_rows_columns_cells_and_totals(tmp_path: Path) -> None:
    m = build_matrix(sample_runs(tmp_path), tmp_path / "out", rule_info=INFO,
                     kills={"WH-013": 1})
    assert [c.implementation for c in m.columns] == [
        "webhook reference", "webhook reference mutant skip-chain-check",
        "account build/Member.json"]
    assert [g for g, _ in m.groups()] == ["protocol · §3", "webhook · §4 Cache",
                                          "webhook · §4 Policy", "account · §6"]
    rows = {row.rule_id: row for row in m.rows}
    assert rows["WH-013"].kills == 1 and rows["WH-008"].kills == 0
    ref, mut, acc = rows["WH-013"].cells
    assert ref.verdict is Verdict.PASS and ref.link is None
    assert mut.verdict is Verdict.FAIL and mut.link == "#f-1-WH-013" and mut.failure == HOSTILE
    assert acc.verdict is None and acc.why.startswith("not applied: a account run")
    assert rows["UO-003"].cells[1].why.startswith("not selected in this run")
    assert rows["WH-030"].cells[0].why == "profile base has no cache"
    assert rows["AC-002"].cells[2].link == "#f-2-AC-002"
    assert m.flaky() == [("WH-030", "webhook reference mutant skip-chain-check")]
    assert m.columns[0].totals["must_percent"] == 100.0
    assert m.columns[1].totals == {"PASS": 1, "FAIL": 2, "ERROR": 0, "SKIP": 0, "flaky": 1,
                                   "must_percent": 50.0, "should_percent": 0.0}
    assert m.columns[2].totals["must_percent"] == 0.0
    assert m.implementations["webhook reference 2.3.0"]["runs"] == 1
    assert m.columns[0].report_link == "../runs/ref/report.html"


def test_conformance_percent_counts_only_judged_rules() -> None:
    rules = [r("WH-1", Verdict.PASS), r("WH-2", Verdict.FAIL), r("WH-3", Verdict.ERROR),
             r("WH-4", Verdict.SKIP), r("WH-5", Verdict.PASS, "SHOULD")]
    assert conformance_percent(rules, "MUST") == pytest.approx(33.3)
    assert conformance_percent(rules, "SHOULD") == 100.0
    assert conformance_percent([r("WH-4", Verdict.SKIP)], "MUST") is None
    assert implementation_label(run_of("webhook", {"kind": "url", "url": "http://h/"})) \
        == "webhook http://h/"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("href"):
            self.hrefs.append(values["href"] or "")
        if values.get("id"):
            self.ids.add(values["id"] or "")
        assert "src" not in values, f"external resource in <{tag}>"


def test_page_is_offline_escaped_and_every_cell_link_lands(tmp_path: Path) -> None:
    m = build_matrix(sample_runs(tmp_path), tmp_path / "out", rule_info=INFO)
    paths = write_matrix(m, tmp_path / "out")
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    parser = _Links()
    parser.feed(page)
    anchors = [h for h in parser.hrefs if h.startswith("#")]
    assert "#f-1-WH-013" in anchors and "#f-2-AC-002" in anchors
    assert all(h[1:] in parser.ids for h in anchors)
    for h in parser.hrefs:
        assert not re.match(r"^[a-z]+:|^//", h), h  # nothing leaves the machine
        if not h.startswith("#"):
            assert (paths["html"].parent / h.split("#")[0]).resolve().is_file()
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert "&&" in script
    for code, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in page
    assert "default-src 'none'" in page
    doc = json.loads(paths["json"].read_text())
    assert len(doc["rows"]) == 5 and len(doc["columns"]) == 3
    assert doc["flaky"] == [{"rule_id": "WH-030",
                             "implementation": "webhook reference mutant skip-chain-check"}]


def test_sensitivity_counts_mutants_per_rule() -> None:
    mutants = {"webhook": [{"name": "a", "breaks": ["WH-013"]},
                           {"name": "b", "breaks": ["WH-013", "WH-008"]}],
               "account": [{"name": "c", "breaks": ["AC-002"], "also_fails": ["AC-003"]}]}
    assert kills_by_rule(mutants) == {"AC-002": 1, "WH-008": 1, "WH-013": 2}
    assert kills_by_rule(mutants, include_consequences=True)["AC-003"] == 1
    assert weakest(kills_by_rule(mutants), ["WH-013", "WH-001"]) == ["WH-001"]


def test_cli_matrix_over_a_folder_of_runs(tmp_path: Path, capsys) -> None:
    sample_runs(tmp_path)
    assert main(["report", "matrix", str(tmp_path / "runs"), "--report-dir",
                 str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "webhook reference mutant skip-chain-check: 1 PASS 2 FAIL 0 ERROR 0 SKIP" in out
    assert "MUST 50% · SHOULD 0%" in out
    doc = json.loads((tmp_path / "m" / "matrix.json").read_text())
    assert [c["implementation"] for c in doc["columns"]][0] == "account build/Member.json"
    kills = {row["rule_id"]: row["kills"] for row in doc["rows"]}
    assert kills["WH-013"] >= 1  # the registry's skip-chain-check mutant
    assert main(["report", "matrix", str(tmp_path / "nothing"), "--report-dir",
                 str(tmp_path / "m")]) == 2


def test_combined_report_of_run_all_folders(tmp_path: Path) -> None:
    """``amc run all`` writes one combined report over its component runs (the matrix); a run
    folder without results (a run not started) is left out."""
    from conformance.commands.report_cmd import write_combined

    sample_runs(tmp_path)
    dirs = [str(tmp_path / "runs" / n) for n in ("ref", "mutant", "account", "not-started")]
    paths = write_combined(dirs, tmp_path / "all")
    doc = json.loads(paths["json"].read_text())
    assert len(doc["columns"]) == 3 and paths["html"].name == "matrix.html"
    assert doc["columns"][0]["report_link"] == "../runs/ref/report.html"
