"""End to end through `amc run webhook --launch`: a webhook that hangs, resets connections,
answers garbage or crashes yields ERRORs and a finished report (issue #3; ARCHITECTURE.md
"Everything bounded" and "Verdicts"; README "Webhook launch contract").

The target is ``tests/fixtures/misbehaving_webhook.py``: ``/healthz`` answers, every other
request misbehaves. The CLI runs as a subprocess with a hard limit, so a suite that hangs fails
the test instead of hanging CI. The selected rules (WH-010, WH-012) need answers to POST /:
one plain check, one hypothesis check with an explicit example and one without (the shrinker).
Assertions are on verdicts, reports and request counts, never on wall-clock durations.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.report import read_results, validate_results

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "misbehaving_webhook.py"
RULES = ("WH-010", "WH-012")
"""Rules whose checks all need an answer to POST / (PROTOCOL.md §5 policy step 1)."""
MARKER = "MISBEHAVING"
HARD_LIMIT = 180.0
"""Seconds before the CLI counts as hung (generous: it is a bound, not a measurement)."""


def _run(mode: str, report_dir: Path, *, seconds: int = 60) -> subprocess.CompletedProcess[str]:
    """``amc run webhook --launch "<python> misbehaving_webhook.py MODE"`` in a fresh session."""
    launch = shlex.join([sys.executable, str(FIXTURE), mode])
    command = [sys.executable, "-m", "conformance.cli", "run", "webhook", "--launch", launch,
               "--profile", "pimlico", *(f"--rule={rule}" for rule in RULES),
               "--max-examples", "2", "--request-timeout", "1", "--seconds", str(seconds),
               "--seed", "3", "--report-dir", str(report_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=HARD_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"`amc run` against a {mode} webhook did not end within {HARD_LIMIT:g} s: "
                    f"{err[-2000:]}")
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def _finished_report(proc: subprocess.CompletedProcess[str], report_dir: Path) -> dict[str, Any]:
    """The run ended as ARCHITECTURE.md says for an ERROR: exit 1, no traceback, a valid report."""
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stderr[-2000:]
    path = report_dir / "results.json"
    assert path.is_file(), f"no results.json: {sorted(p.name for p in report_dir.iterdir())}"
    doc: dict[str, Any] = json.loads(path.read_text())
    validate_results(doc)
    assert read_results(path).exit_code() == 1
    assert (report_dir / "junit.xml").is_file() and (report_dir / "report.html").is_file()
    return doc


def _misbehaved(log: str, mode: str) -> int:
    """How many requests the target misbehaved on (its stderr lines in the captured log)."""
    return sum(1 for line in log.splitlines() if line.startswith(f"{MARKER} {mode}: ")
               and "listening" not in line)


@pytest.mark.parametrize("mode", ["hang", "reset", "garbage", "crash"])
def test_misbehaving_target_yields_errors_and_a_finished_report(mode: str,
                                                                tmp_path: Path) -> None:
    """Every selected rule is ERROR (never PASS or FAIL) with a TargetError reason, the target's
    stdout and stderr are in the report, and each check cost the target at most one request."""
    report_dir = tmp_path / "report"
    doc = _finished_report(_run(mode, report_dir), report_dir)
    results = {r["rule_id"]: r for r in doc["results"]}
    assert set(results) == set(RULES)
    assert doc["summary"] == {"PASS": 0, "FAIL": 0, "ERROR": len(RULES), "SKIP": 0}
    checks = {c for r in results.values() for c in r["checks"]}
    for rule_id, result in results.items():
        assert result["verdict"] == "ERROR" and not result["failures"], (rule_id, result)
        assert result["checks"] and len(result["reasons"]) == len(result["checks"]), result
        assert all("TargetError" in reason for reason in result["reasons"]), result["reasons"]
    assert len(checks) == 3  # the plain check, and the hypothesis checks with and without @example

    logs = sorted((report_dir / "logs").glob("webhook-*.log"))
    assert logs, "the target's output was not captured into the report directory"
    text = "".join(p.read_text(errors="replace") for p in logs)
    assert f"{MARKER} {mode}: listening on 127.0.0.1:" in text  # its stdout
    assert f"{MARKER} {mode}: POST /" in text  # its stderr
    assert any(f"{MARKER} {mode}: POST /" in log for log in doc["logs"].values())
    # A target that cannot answer costs one ERROR per check, not one timeout per hypothesis
    # shrink attempt; a crashed one is started again for the next check (and crashes again).
    assert 1 <= _misbehaved(text, mode) <= len(checks)
    if mode == "crash":
        assert _misbehaved(text, mode) == len(checks), "a crashed target was not restarted"
        assert text.count(f"{MARKER} {mode}: listening on 127.0.0.1:") == len(checks)
        assert any("webhook process died" in reason
                   for r in results.values() for reason in r["reasons"])


def test_a_spent_budget_turns_the_remaining_checks_into_errors(tmp_path: Path) -> None:
    """With a budget shorter than one request timeout against a hung target, the checks after
    the first are ERROR "time budget exhausted" without asking the target, and the report is
    finished."""
    report_dir = tmp_path / "report"
    doc = _finished_report(_run("hang", report_dir, seconds=1), report_dir)
    assert {r["verdict"] for r in doc["results"]} == {"ERROR"}
    reasons = [reason for r in doc["results"] for reason in r["reasons"]]
    assert sum("time budget of 1 s exhausted" in reason for reason in reasons) >= 2, reasons
    text = "".join(p.read_text(errors="replace")
                   for p in sorted((report_dir / "logs").glob("webhook-*.log")))
    assert _misbehaved(text, "hang") <= 1
