"""``amc replay`` proves (issue 7 §7; README "Replaying failures"; ARCHITECTURE.md "Reproducers").

- A webhook FAIL that depends on the chain and a fault (mutant ``target-fault-cached``: a
  transport fault on the target's ``isDeployedCluster`` cached as a denial, WH-038) or on a
  hostile sender's ``cluster()`` (``hostile-cluster-trusted``, WH-019) is replayed on its
  recorded world: "reproduced" (exit 1) against the same mutant, "not reproduced" (exit 0)
  against the reference — also when the webhook is started by ``--launch`` (the hostile
  sender's replay is ``slow``: its own run). Every failure of the report is replayed. Against
  ``--url`` such failures are "not judged" (they need the suite's chain).
- Unusable input is exit 2 with one line.
- An account FAIL (``prefund-skipped-on-failure``, AC-013) replays reproduced on the recorded
  mutant, not reproduced on the reference with a warning that the creation code differs; its
  step list holds only the case's steps; a rebuilt world at other addresses is not judged.
- A curl reproducer names the webhook as ``$WEBHOOK_URL`` with no port of the run in it.

Commands run as subprocesses with a hard limit; assertions are on exit codes and output.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.config import RunConfig, TargetSpec
from conformance.engine.run import run_component
from conformance.report.external import resolve

REPO = Path(__file__).resolve().parents[2]
HARD_LIMIT = 240.0
"""Seconds before a command counts as hung (a bound, not a measurement)."""

SERVE = [sys.executable, "-m", "conformance.cli", "serve", "webhook", "--profile", "pimlico"]
"""The bundled reference as a ``--launch`` command."""

STEP_LIMIT = 4
"""The most steps an AC-013 failure record may hold: the failing case's own (before the fix
every earlier hypothesis example's undone prefund send was kept: 74 steps, 148 KB)."""


def _amc(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=REPO,
                          env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=HARD_LIMIT, check=False)


def _run(report_dir: Path, component: str, profile: str, mutant: str,
         rules: tuple[str, ...], examples: int = 3) -> dict[str, Any]:
    config = RunConfig(component=component, profile=profile, include=rules, seed=4337,
                       target=TargetSpec(kind="reference", mutant=mutant),
                       max_examples=examples, report_dir=str(report_dir))
    run_component(config, hard_timeout=HARD_LIMIT)
    return dict(json.loads((report_dir / "results.json").read_text()))


def _failures(doc: dict[str, Any], report_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(r["rule_id"], resolve(f["minimal_input"], report_dir))
            for r in doc["results"] for f in r["failures"]]


def _verdicts(stdout: str, verdict: str) -> int:
    return sum(1 for line in stdout.splitlines() if line.startswith(f"{verdict:<15} "))


@pytest.fixture(scope="module")
def fault_report() -> Iterator[Path]:
    """A report of ``target-fault-cached`` over WH-038 (FAILs that need a fault and a chain)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp)
        doc = _run(report, "webhook", "pimlico", "target-fault-cached", ("WH-038",))
        failures = _failures(doc, report)
        assert failures and all(rule == "WH-038" for rule, _ in failures), doc["summary"]
        for _, minimal in failures:  # the faulted request, then the one judged
            *earlier, last = minimal["world"]["steps"]
            assert any(step.get("faults") and step.get("request") for step in earlier)
            assert "faults" not in last and last["chain"]["clusters"]["add"], last
        yield report


def test_a_fault_dependent_fail_is_reproduced_by_its_mutant_only(fault_report: Path) -> None:
    """Every failure replays reproduced on the mutant started by ``--launch`` (exit 1), and by
    ``--reference --mutant``; none on the reference (exit 0); the output names the target."""
    count = len(_failures(json.loads((fault_report / "results.json").read_text()),
                          fault_report))
    broken = _amc("replay", str(fault_report), "--launch",
                  shlex.join([*SERVE, "--mutant", "target-fault-cached"]))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "target --launch" in broken.stdout
    assert _verdicts(broken.stdout, "reproduced") == count, broken.stdout
    same = _amc("replay", str(fault_report), "--reference", "--mutant", "target-fault-cached",
                "--index", "0")
    assert same.returncode == 1, same.stdout + same.stderr
    assert "target reference (mutant target-fault-cached)" in same.stdout
    fixed = _amc("replay", str(fault_report), "--reference")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _verdicts(fixed.stdout, "not reproduced") == count, fixed.stdout
    assert "replayed against reference: 0 reproduced" in fixed.stdout


def test_against_a_url_chain_dependent_failures_are_not_judged(fault_report: Path) -> None:
    """A running webhook whose chain the replay does not own: every such failure says it needs
    the suite's chain; nothing is reproduced (exit 0)."""
    from conformance.profiles import load_profile
    from conformance.targets.webhook import reference_command
    from conformance.targets.webhook_replay import ReplayBench

    profile = load_profile("pimlico")
    with tempfile.TemporaryDirectory() as tmp, ReplayBench(
            profile, command=reference_command("pimlico", "target-fault-cached"),
            mutant="target-fault-cached", environ={}, log_dir=Path(tmp)) as bench:
        assert bench.secrets is not None
        done = _amc("replay", str(fault_report), "--url", bench.main.url,
                    env={profile.webhook.token_env: bench.secrets.token})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "needs the suite's chain" in done.stdout
    assert _verdicts(done.stdout, "reproduced") == 0
    assert _verdicts(done.stdout, "not judged") >= 1


@pytest.mark.slow
def test_a_hostile_sender_fail_replays_through_launch(tmp_path: Path) -> None:
    """WH-019 (a Path A sender whose cluster() names a contract no factory deployed): the
    replay's own chain holds the recorded hostile sender, so ``--launch`` of the mutant
    reproduces it and ``--launch`` of the reference does not."""
    doc = _run(tmp_path, "webhook", "pimlico", "hostile-cluster-trusted", ("WH-019",))
    assert _failures(doc, tmp_path), doc["summary"]
    broken = _amc("replay", str(tmp_path), "--rule", "WH-019", "--index", "0", "--launch",
                  shlex.join([*SERVE, "--mutant", "hostile-cluster-trusted"]))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "target --launch" in broken.stdout and _verdicts(broken.stdout, "reproduced") == 1
    fixed = _amc("replay", str(tmp_path), "--rule", "WH-019", "--index", "0", "--launch",
                 shlex.join(SERVE))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _verdicts(fixed.stdout, "not reproduced") == 1


def test_unusable_input_is_exit_2_with_one_line(fault_report: Path, tmp_path: Path) -> None:
    """No results.json, an unknown mutant, a report of another component, no target."""
    sidecar = tmp_path / "results.json"
    sidecar.write_text(json.dumps({"component": "sidecar", "results": []}))
    for args in ((str(tmp_path / "none"), "--reference"),
                 (str(fault_report), "--reference", "--mutant", "no-such-mutant"),
                 (str(sidecar), "--reference"),
                 (str(fault_report),)):
        done = _amc("replay", *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr


def test_an_account_fail_replays_with_its_own_steps(tmp_path: Path) -> None:
    """AC-013 (prefund skipped when validation fails): reproduced on the recorded mutant,
    not reproduced on the reference with a creation-code warning; a short step list."""
    doc = _run(tmp_path, "account", "base", "prefund-skipped-on-failure", ("AC-013",), 40)
    failures = _failures(doc, tmp_path)
    assert failures, doc["summary"]
    for _, record in failures:
        assert len(record["steps"]) <= STEP_LIMIT, [s["kind"] for s in record["steps"]]
        assert len(json.dumps(record)) < 16_000
    broken = _amc("replay", str(tmp_path))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert _verdicts(broken.stdout, "reproduced") == len(failures)
    assert "warning" not in broken.stdout
    fixed = _amc("replay", str(tmp_path), "--reference")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert _verdicts(fixed.stdout, "not reproduced") == len(failures)
    assert "warning: the target's creation_code_keccak" in fixed.stdout
    moved = tmp_path / "moved"  # a world whose cluster sits elsewhere: steps do not apply
    moved.mkdir()
    record = {**failures[0][1], "world": {**failures[0][1]["world"], "cluster": "0x" + "11" * 20}}
    moved_doc = {**doc, "results": [{"rule_id": "AC-013", "failures": [
        {"message": "m", "minimal_input": record}]}]}
    (moved / "results.json").write_text(json.dumps(moved_doc))
    elsewhere = _amc("replay", str(moved))
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
    assert _verdicts(elsewhere.stdout, "not judged") == 1 and "deploys cluster" in elsewhere.stdout


def test_curl_reproducer_names_the_url_by_variable() -> None:
    """No port of the run is baked in; an unset ``$WEBHOOK_URL`` stops the shell with a
    message instead of sending to a dead port."""
    from conformance.suites.webhook.reproduce import RecordedRequest, curl_command

    text = curl_command(RecordedRequest("POST", "/", "token={token}", b"{}"),
                        token_env="ALCHEMY_WEBHOOK_TOKEN", secret_env="PIMLICO_WEBHOOK_SECRET")
    assert '"${WEBHOOK_URL:?' in text and "127.0.0.1" not in text
    env = {"PATH": os.environ["PATH"]}
    done = subprocess.run(["bash", "-c", text], env=env, capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode != 0 and "WEBHOOK_URL" in done.stderr


def test_a_fail_about_chain_requests_is_judged_by_them(tmp_path: Path) -> None:
    """WH-012 (a chain request before the token is checked): no answer to compare, so the
    replay counts the chain requests the failing request makes on the replay's own chain."""
    doc = _run(tmp_path, "webhook", "pimlico", "chain-call-before-token", ("WH-012",), 2)
    ((_, minimal), *_) = _failures(doc, tmp_path)
    assert minimal["chain_reads"] == {"none": True}
    broken = _amc("replay", str(tmp_path), "--index", "0", "--reference", "--mutant",
                  "chain-call-before-token")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    fixed = _amc("replay", str(tmp_path), "--index", "0", "--reference")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "0 chain request(s)" in fixed.stdout
