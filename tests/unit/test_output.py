"""Output fit for a terminal and a CI log (issue 7 §8).

- Failure values over 4 KiB go to files of the report directory; results.json holds exactly
  ``{"external": path, "sha256": hex, "bytes": N}`` and ``resolve`` gives the value back,
  refusing a file that was changed, is missing or lies outside the report directory.
- The terminal gets one line per failing rule (message, where the reproducer is), never the
  reproducer itself; without a TTY a progress line comes at least every 10 s, during a long
  check too (``tick`` events).
- ``amc run all``: ``--seconds`` is shared by the runs, one summary, one exit code.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from conformance.commands.run_all import (
    BUDGET_SPENT,
    INTERRUPTED,
    ComponentRun,
    overall_exit_code,
    run_plan,
)
from conformance.console import PLAIN_INTERVAL, ProgressReporter, print_all_summary, print_summary
from conformance.report import read_results, write_reports
from conformance.report.external import LIMIT, ExternalValueError, externalize, resolve
from conformance.report.model import Failure, RuleResult, RunResults, Verdict

BIG_INPUT = {"steps": [{"calldata": "0x" + "ab" * 600, "i": i} for i in range(8)]}
BIG_REPRODUCER = "cast call " + "0x" + "cd" * 5000


def test_a_small_value_stays_inline(tmp_path: Path) -> None:
    assert externalize({"n": 1}, tmp_path) == {"n": 1}
    assert externalize("echo 1", tmp_path) == "echo 1"
    assert externalize(None, tmp_path) is None
    assert not (tmp_path / "external").exists()


@pytest.mark.parametrize("value", [BIG_INPUT, BIG_REPRODUCER], ids=["json", "text"])
def test_a_large_value_becomes_a_pointer_to_a_file(tmp_path: Path, value: object) -> None:
    assert len(json.dumps(value)) > LIMIT
    pointer = externalize(value, tmp_path)
    assert set(pointer) == {"external", "sha256", "bytes"}
    data = (tmp_path / pointer["external"]).read_bytes()
    assert pointer["sha256"] == hashlib.sha256(data).hexdigest()
    assert pointer["bytes"] == len(data)
    assert not Path(pointer["external"]).is_absolute()
    assert resolve(pointer, tmp_path) == value
    assert resolve(value, tmp_path) == value  # the inline form reads as itself
    if isinstance(value, str):
        assert data.decode() == value  # a reproducer stays a runnable text file


def test_a_pointer_like_small_value_is_never_ambiguous(tmp_path: Path) -> None:
    tricky = {"external": "x", "sha256": "0" * 64, "bytes": 1}
    pointer = externalize(tricky, tmp_path)
    assert pointer != tricky and resolve(pointer, tmp_path) == tricky


def test_resolve_refuses_a_changed_missing_or_escaping_file(tmp_path: Path) -> None:
    pointer = externalize(BIG_REPRODUCER, tmp_path)
    path = tmp_path / pointer["external"]
    path.write_text(BIG_REPRODUCER.replace("cd", "ce", 1))
    with pytest.raises(ExternalValueError, match="does not match"):
        resolve(pointer, tmp_path)
    path.unlink()
    with pytest.raises(ExternalValueError, match="cannot read"):
        resolve(pointer, tmp_path)
    with pytest.raises(ExternalValueError, match="outside"):
        resolve({**pointer, "external": "../../etc/passwd"}, tmp_path)


def _run(failures_per_rule: int = 2, rules: int = 3) -> RunResults:
    results = [
        RuleResult(f"AC-0{10 + i}", Verdict.FAIL, 1, statement=f"rule {i}", checks=["c"],
                   failures=[Failure(f"validateUserOp paid 0 wei (case {j})", BIG_INPUT,
                                     BIG_REPRODUCER, "account/test_prefund.py::t")
                             for j in range(failures_per_rule)])
        for i in range(rules)
    ]
    results.append(RuleResult("AC-001", Verdict.PASS, 4, statement="gate"))
    return RunResults("0.1.0", "sha256:1", "account", "base", {"kind": "reference"}, 9,
                      "2026-01-01T00:00:00+00:00", 2.0, results)


def test_reports_point_to_the_files_and_read_back(tmp_path: Path) -> None:
    write_reports(_run(), tmp_path)
    doc = json.loads((tmp_path / "results.json").read_text())
    failure = doc["results"][1]["failures"][0]
    for key in ("minimal_input", "reproducer"):
        assert set(failure[key]) == {"external", "sha256", "bytes"}
    assert (tmp_path / "results.json").stat().st_size < 20_000  # six 10 KB values kept out
    for name in ("junit.xml", "report.html"):
        text = (tmp_path / name).read_text()
        assert "cd" * 100 not in text and failure["reproducer"]["external"] in text
    link = f'<a href="{failure["reproducer"]["external"]}">'
    assert link in (tmp_path / "report.html").read_text()
    back = read_results(tmp_path / "results.json")
    first = back.results[1].failures[0]
    assert resolve(first.reproducer, tmp_path) == BIG_REPRODUCER
    assert resolve(first.minimal_input, tmp_path) == BIG_INPUT


def _text_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=400, force_terminal=False, color_system=None), out


def test_the_terminal_gets_one_line_per_failing_rule(tmp_path: Path) -> None:
    console, out = _text_console()
    print_summary(console, _run(failures_per_rule=5), str(tmp_path))
    text = out.getvalue()
    fail_lines = [line for line in text.splitlines() if line.startswith("FAIL ")]
    assert len(fail_lines) == 3, text
    assert all("(+4 more)" in line and "reproducer: amc replay" in line for line in fail_lines)
    assert "cd" * 50 not in text and "ab" * 50 not in text
    assert len(text.splitlines()) < 40


def test_an_e2e_run_prints_its_timelines_in_the_terminal(tmp_path: Path) -> None:
    """Issue 9 §5: the timeline per operation across every hop is shown in the terminal too;
    a long one is cut with a pointer to its file, other logs are not printed."""
    run = _run(rules=0)
    timeline = "operation 1: callData 0xb61d27f6…\n" + "".join(
        f"     0.{i:03d}s     1.0 ms  bundler  eth_sendUserOperation  ok\n" for i in range(70))
    run.logs = {"e2e-timeline-fresh": timeline, "webhook": "not a timeline"}
    console, out = _text_console()
    print_summary(console, run, str(tmp_path))
    text = out.getvalue()
    assert "timeline · fresh" in text and "operation 1: callData 0xb61d27f6" in text
    assert text.count("eth_sendUserOperation") == 59
    assert f"11 more lines in {tmp_path}/e2e/timeline-fresh.txt" in text
    assert "not a timeline" not in text


def test_the_terminal_line_names_the_reproducer_file_when_external(tmp_path: Path) -> None:
    """At a CI log's 80 columns too: the rule's line is one physical line."""
    write_reports(_run(), tmp_path)
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False, color_system=None)
    print_summary(console, read_results(tmp_path / "results.json"), str(tmp_path))
    line = next(x for x in out.getvalue().splitlines() if x.startswith("FAIL AC-010"))
    assert f"reproducer: {tmp_path}/external/" in line and line.endswith(".txt")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_a_tty_a_progress_line_comes_at_least_every_10_s() -> None:
    """60 checks of 0.7 s each, then one check of 40 s during which only ticks arrive."""
    console, out = _text_console()
    clock = FakeClock()
    stamps: list[float] = []
    with ProgressReporter(console, "webhook checks", clock=clock) as progress:
        progress({"event": "collected", "total": 61})
        for _ in range(60):
            clock.now += 0.7
            before = out.getvalue().count("checks done")
            progress({"event": "check", "verdict": "PASS", "rules": ["WH-001"], "check": "c"})
            if out.getvalue().count("checks done") > before:
                stamps.append(clock.now)
        for _ in range(40):
            clock.now += 1.0
            before = out.getvalue().count("checks done")
            progress({"event": "tick"})
            if out.getvalue().count("checks done") > before:
                stamps.append(clock.now)
    gaps = [b - a for a, b in zip([1000.0, *stamps], stamps, strict=False)]
    assert len(stamps) >= 8 and max(gaps) <= 10.0, gaps
    last = out.getvalue().strip().splitlines()[-1]
    assert "60/61 checks done" in last and "60 PASS" in last and "0 FAIL" in last
    assert PLAIN_INTERVAL < 10


def test_run_all_shares_one_budget() -> None:
    clock = FakeClock()
    given: list[float | None] = []

    def run_one(component: str, profile: str, budget: float | None) -> ComponentRun:
        given.append(budget)
        clock.now += 12.0  # every run takes 12 s
        return ComponentRun(component, profile, 0, {"PASS": 1}, "/r")

    plan = [("webhook", "pimlico"), ("webhook", "base"), ("account", "base"), ("account", "x")]
    runs = run_plan(plan, 30.0, run_one, clock=clock)
    assert given == [pytest.approx(7.5), pytest.approx(6.0), pytest.approx(3.0)]  # left / runs left
    assert runs[3].note == BUDGET_SPENT and runs[3].exit_code == 1
    assert overall_exit_code(runs) == 1
    assert run_plan(plan, None, run_one, clock=clock)[0].exit_code == 0
    assert given[-4:] == [None] * 4


def test_run_all_stops_at_a_signal_and_gives_one_exit_code() -> None:
    codes = iter([1, 130])

    def run_one(component: str, profile: str, budget: float | None) -> ComponentRun:
        return ComponentRun(component, profile, next(codes), {"PASS": 1, "FAIL": 1}, "/r")

    plan = [("webhook", "pimlico"), ("webhook", "base"), ("account", "base")]
    runs = run_plan(plan, None, run_one)
    assert [r.exit_code for r in runs] == [1, 130, 130] and runs[2].note == INTERRUPTED
    assert overall_exit_code(runs) == 130
    console, out = _text_console()
    print_all_summary(console, runs)
    text = out.getvalue()
    assert text.strip().splitlines()[-1].startswith("amc run all: 3 runs · 2 PASS 2 FAIL")
    assert text.strip().endswith("exit 130")


def test_amc_run_all_is_one_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``amc run all --seconds 60``: every run of the plan gets its share of one budget, one
    summary is printed, and the exit code is the worst of the runs."""
    from conformance.cli import main
    from conformance.commands import run_cmd

    seen: list[tuple[str, str, float | None]] = []

    def fake_run_one(args: object, component: str, profile: str, console: Console, *,
                     seconds: float | None) -> ComponentRun:
        seen.append((component, profile, seconds))
        code = 1 if len(seen) == 2 else 0
        return ComponentRun(component, profile, code, {"PASS": 3, "FAIL": code}, f"/r/{profile}")

    monkeypatch.setattr(run_cmd, "_run_one", fake_run_one)
    assert main(["run", "all", "--reference", "--seconds", "60",
                 "--report-dir", str(tmp_path)]) == 1
    plan = list(dict.fromkeys(run_cmd.ALL_PLAN))
    assert [(c, p) for c, p, _ in seen] == plan
    assert seen[0][2] == pytest.approx(60 / len(plan), rel=0.05)
    assert all(s is not None and s <= 60 for _, _, s in seen)
    err = capsys.readouterr().err
    assert err.count("amc run all:") == 1 and f"amc run all: {len(plan)} runs" in err
    summary = next(line for line in err.splitlines() if line.startswith("amc run all:"))
    assert summary.endswith("exit 1")
