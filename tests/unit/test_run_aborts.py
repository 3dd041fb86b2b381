"""A run that did not run is never green (issue 7 §1).

- Unusable input (an unknown ``--mutant``, an artifact that is not JSON, ``--url`` without the
  token, an unreachable ``--url``) is exit 2 with one line, before any report folder exists.
- An aborted run's reports say so everywhere: ``aborted`` in results.json (schema 2.0), an
  ``<error>`` testcase in junit.xml, a banner and a failing gate in report.html, and the rules
  it did not judge are ERROR "not judged", never SKIP or PASS.
- The same through the engine: a check that calls ``abort_run`` (a target that never got
  ready) ends the run as ``RunAborted`` with those reports.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.engine import aborts
from conformance.engine.config import RunConfig, TargetSpec
from conformance.engine.run import RunAborted, run_component
from conformance.report import read_results, write_reports
from conformance.report.model import Aborted, RuleResult, RunResults, Verdict
from conformance.targets import launcher

BAD_RUNS = [
    (["run", "webhook", "--reference", "--mutant", "no-such-mutant"], "no such webhook mutant"),
    (["run", "account", "--reference", "--mutant", "no-such-mutant"], "no such account mutant"),
    (["run", "account", "--artifact", "pyproject.toml"], "not JSON"),
    (["run", "webhook", "--url", "http://127.0.0.1:9"], "ALCHEMY_WEBHOOK_TOKEN"),
    (["run", "webhook", "--url", "http://127.0.0.1:9", "--no-token"], "no answer"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_RUNS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_unusable_input_is_exit_2_before_any_report_folder(
    argv: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("ALCHEMY_WEBHOOK_TOKEN", raising=False)
    folder = tmp_path / "reports" / "run"
    assert main([*argv, "--report-dir", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("amc: error: ") and "\n" not in err and expected in err, err
    assert not (tmp_path / "reports").exists()


def test_no_token_is_documented_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--no-token" in capsys.readouterr().out


def _aborted_run() -> RunResults:
    results = [
        RuleResult("WH-001", Verdict.PASS, 2, level="MUST", statement="s1", checks=["c1"]),
        RuleResult("WH-002", Verdict.ERROR, 0, level="MUST", statement="s2",
                   reasons=["c2: not judged: webhook target never became ready"]),
    ]
    return RunResults("0.1.0", "sha256:1", "webhook", "pimlico", {"kind": "launch"}, 7,
                      "2026-01-01T00:00:00+00:00", 1.5, results,
                      aborted=Aborted("webhook target never became ready", 2))


def test_aborted_run_says_so_in_every_report(tmp_path: Path) -> None:
    write_reports(_aborted_run(), tmp_path)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["schema_version"] == "2.0"
    assert doc["aborted"] == {"cause": "webhook target never became ready", "exit_code": 2}
    assert read_results(tmp_path / "results.json").exit_code() == 2
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert int(suites.get("errors", "0")) == 2 and int(suites.get("tests", "0")) == 3
    case = suites.find(".//testcase[@name='run aborted']")
    assert case is not None and case.find("error") is not None
    assert "never became ready" in case.find("error").get("message", "")
    html = (tmp_path / "report.html").read_text()
    assert 'id="aborted"' in html and "never became ready" in html
    assert "passes (exit 0)" not in html and "fails: run aborted (exit 2)" in html


def test_a_complete_run_has_aborted_null(tmp_path: Path) -> None:
    run = _aborted_run()
    run.aborted = None
    write_reports(run, tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["aborted"] is None
    assert "run aborted" not in (tmp_path / "junit.xml").read_text()
    assert 'id="aborted"' not in (tmp_path / "report.html").read_text()


ABORTING_SUITE = textwrap.dedent(
    """
    import pytest
    from conformance.engine.checks import rules
    from conformance.engine.plugin import abort_run

    @rules("WH-001")
    def test_first(observe):
        observe.case()

    @rules("WH-002")
    def test_target_never_ready(pytestconfig):
        abort_run(pytestconfig, "webhook target never became ready: exited with code 0")

    @rules("WH-003")
    def test_never_reached(observe):
        observe.case()

    @rules("WH-004")
    def test_skipped_at_collection_stays_skip(observe):
        observe.case()
    """
)


def test_an_aborted_engine_run_reports_not_judged_never_skip(tmp_path: Path) -> None:
    """WH-001 ran (PASS stays), WH-002/WH-003 never judged (ERROR), WH-020 is not applicable
    under profile base (SKIP with that reason, decided at collection), WH-005 has no check."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_abort.py").write_text(ABORTING_SUITE.replace('"WH-004"', '"WH-020"'))
    config = RunConfig(component="webhook", profile="base", target=TargetSpec(), seed=1,
                       report_dir=str(tmp_path / "report"), suite_path=str(suite),
                       include=("WH-001", "WH-002", "WH-003", "WH-005", "WH-020"))
    with pytest.raises(RunAborted, match="never became ready") as info:
        run_component(config)
    assert info.value.exit_code == 2
    doc = json.loads((tmp_path / "report" / "results.json").read_text())
    assert doc["aborted"]["exit_code"] == 2 and "never became ready" in doc["aborted"]["cause"]
    verdicts = {r["rule_id"]: (r["verdict"], " ".join(r["reasons"])) for r in doc["results"]}
    assert verdicts["WH-001"][0] == "PASS"
    for rule in ("WH-002", "WH-003"):
        assert verdicts[rule][0] == "ERROR" and "not judged" in verdicts[rule][1], verdicts
    assert verdicts["WH-020"] == ("SKIP", verdicts["WH-020"][1])
    assert "not applicable" in verdicts["WH-020"][1]
    assert verdicts["WH-005"][0] == "SKIP"  # no check of this suite names it: honest
    assert "errors=\"0\"" not in (tmp_path / "report" / "junit.xml").read_text()


def test_the_process_folder_variable_is_one_name() -> None:
    """engine.aborts may not import targets (layers): both spell the variable the same."""
    assert aborts.PROCESS_DIR_ENV == launcher.PROCESS_DIR_ENV


def test_amc_writes_the_partial_report_when_its_child_could_not(tmp_path: Path) -> None:
    """A child killed before it wrote anything (SIGTERM before its handler was installed):
    ``amc`` builds the report from the events the child emitted."""
    from conformance.engine.run import _ensure_partial_report

    events = [{"event": "collected", "total": 3},
              {"event": "check", "check": "webhook/test_token.py::t", "rules": ["WH-002"],
               "verdict": "PASS", "cases": 4, "failed_rule": None},
              {"event": "check", "check": "webhook/test_token.py::u", "rules": ["WH-003"],
               "verdict": "FAIL", "cases": 1, "failed_rule": "WH-003"}]
    (tmp_path / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))
    config = RunConfig(component="webhook", profile="pimlico", report_dir=str(tmp_path),
                       include=("WH-00*",))
    _ensure_partial_report(config, tmp_path, 15, started=0.0)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["aborted"] == {"cause": "interrupted by SIGTERM", "exit_code": 143}
    verdicts = {r["rule_id"]: r["verdict"] for r in doc["results"]}
    assert verdicts["WH-002"] == "PASS" and verdicts["WH-003"] == "FAIL"
    others = {v for k, v in verdicts.items() if k not in ("WH-002", "WH-003")}
    assert others == {"ERROR"}  # collection never recorded: nothing may pass as SKIP
    assert "details" in doc["results"][2]["failures"][0]["message"]


def test_a_suite_that_cannot_be_collected_is_an_aborted_run(tmp_path: Path) -> None:
    """A check module that fails to import stops pytest before any check: the run is aborted
    (exit 2), never a report of SKIPs that a gate would pass."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_ok.py").write_text(ABORTING_SUITE.split("@rules(\"WH-002\")")[0])
    (suite / "test_broken.py").write_text("import conformance.no_such_module\n")
    config = RunConfig(component="webhook", profile="base", target=TargetSpec(), seed=1,
                       report_dir=str(tmp_path / "report"), suite_path=str(suite),
                       include=("WH-001",))
    with pytest.raises(RunAborted, match="interrupted") as info:
        run_component(config)
    assert info.value.exit_code == 2
    doc = json.loads((tmp_path / "report" / "results.json").read_text())
    assert [r["verdict"] for r in doc["results"]] == ["ERROR"]
