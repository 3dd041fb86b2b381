"""``amc run sidecar`` end to end (issue 9): the reference passes; a launched sidecar that
hangs (and ignores SIGTERM), crashes or floods the peers gets ERROR/FAIL and a finished report
within its budget, and every process it started is gone.

Each case is a whole CLI run (a child pytest session, ~20 s on a loaded 2-core machine), so the
test command keeps the crash case and runs the others nightly (``slow``); the hang and flood
behaviour of the target adapter itself is pinned in process, fast, below."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "misbehaving_sidecar.py"
AMC = [sys.executable, "-m", "conformance.cli"]


def _amc(*args: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    report = tmp_path / "report"
    proc = subprocess.run([*AMC, "run", "sidecar", *args, "--report-dir", str(report)],
                          capture_output=True, text=True, timeout=180, check=False)
    results = json.loads((report / "results.json").read_text()) if (
        report / "results.json").is_file() else {}
    return proc, results


def _verdicts(results: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {r["rule_id"]: r["verdict"] for r in results.get("results", [])}


def _no_fixture_left() -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False)
    return str(FIXTURE) not in out.stdout


@pytest.mark.slow
def test_reference_passes_selected_rules(tmp_path: Path) -> None:
    proc, results = _amc("--reference", "--rule", "SC-00[1-3]", "--rule", "SC-028",
                         tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(_verdicts(results).values()) == {"PASS"}


@pytest.mark.parametrize(("mode", "expect"), [
    pytest.param("hang", "never", marks=pytest.mark.slow), ("crash", "exited 3")])
def test_hung_or_crashed_sidecar_is_not_judged(mode: str, expect: str, tmp_path: Path) -> None:
    started = time.monotonic()
    proc, results = _amc("--launch", f"{sys.executable} {FIXTURE} {mode}", "--rule", "SC-002",
                         tmp_path=tmp_path)
    assert time.monotonic() - started < 90
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert _verdicts(results) == {"SC-002": "ERROR"}
    reason = " ".join(results["results"][0]["reasons"])
    assert "not judged" in reason and (expect in reason or mode == "hang")
    assert _no_fixture_left()


@pytest.mark.slow
def test_flooding_sidecar_fails_the_rate_rule(tmp_path: Path) -> None:
    proc, results = _amc("--launch", f"{sys.executable} {FIXTURE} flood", "--rule", "SC-024",
                         tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert _verdicts(results) == {"SC-024": "FAIL"}
    failure = results["results"][0]["failures"][0]
    assert "sponsorship requests within" in failure["message"]
    assert _no_fixture_left()
    assert os.environ.get("PIMLICO_WEBHOOK_SECRET", "\x00") not in json.dumps(results)


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    from conformance.profiles import load_profile
    from conformance.targets.sidecar_world import open_sidecar_world

    built = open_sidecar_world(load_profile("pimlico"))
    yield built
    built.close()


@pytest.mark.parametrize(("mode", "ended"), [("hang", "budget"), ("flood", "flood"),
                                             ("crash", "exited 3")])
def test_target_adapter_bounds_a_misbehaving_sidecar(world, mode: str, ended: str,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    """The run ends on its own (budget, flood guard, exit); the process group is gone."""
    from conformance.profiles import load_profile
    from conformance.targets.sidecar import (
        BASE_BUDGET,
        FLOOD_LIMIT,
        STOP_GRACE,
        SidecarTarget,
        Timing,
        run_scenario,
    )
    from conformance.targets.sidecar_scenarios import SCENARIOS

    timing = Timing.of(load_profile("pimlico").sidecar)
    target = SidecarTarget(kind="launch", launch=f"{sys.executable} {FIXTURE} {mode}")
    started = time.monotonic()
    run = run_scenario(world, target, SCENARIOS["fresh"], timing, log_dir=tmp_path, seed=b"t")
    assert run.ended == ended
    assert time.monotonic() - started < BASE_BUDGET + 1 + 2 * STOP_GRACE + 5
    assert _no_fixture_left()
    if mode == "flood":
        assert len(run.transcript) > FLOOD_LIMIT and not run.registered


def test_replay_plays_the_peers_side_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    """``amc replay`` of a sidecar FAIL: the recorded scenario played again against the recorded
    mutant reproduces it (exit 1); against the reference it does not (exit 0)."""
    from conformance.cli import main

    doc = {"component": "sidecar", "profile": "pimlico",
           "target": {"kind": "reference", "mutant": "nonce-at-pending"},
           "results": [{"rule_id": "SC-002", "failures": [{
               "message": "getNonce read at block tag 'pending', not 'latest'",
               "minimal_input": {"scenario": "fresh", "dialect": "pimlico", "faults": []},
               "check": "sidecar/test_nonce.py::test_nonce_key_zero_at_latest"}]}]}
    (tmp_path / "results.json").write_text(json.dumps(doc))
    assert main(["replay", str(tmp_path)]) == 1
    assert "reproduced      SC-002" in capsys.readouterr().out
    assert main(["replay", str(tmp_path), "--reference"]) == 0
    assert "not reproduced  SC-002" in capsys.readouterr().out
