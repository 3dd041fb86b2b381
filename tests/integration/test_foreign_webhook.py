"""One defect, one finding (issue 7 §4): ``amc run webhook --launch`` against a webhook written
elsewhere (``tests/fixtures/foreign_webhook.py``, aiohttp, its own decoder, chain client and
cache) that reads ``sender.cluster()`` first and treats a revert as an RPC failure, and whose
decoder ignores dirty address bits.

Before the chain world modelled members as real ClusterMembers (every member answers
``cluster()``), that one revert defect FAILed 28 rules of a full pimlico run (token, chain id,
value, selectors, cap…) and the decoder defect was not reported at all. Now the revert defect
FAILs only the rules about reverting reads (WH-022, WH-036), under one root cause, and the
decoder defect is reported by WH-067. The selection holds those rules and the ones the cascade
used to take down (WH-033's slow faults left out for speed); the CLI runs as a subprocess with
a hard limit. The control run (both defects off: all PASS) is ``slow`` (nightly).
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

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "foreign_webhook.py"
CASCADE = ("WH-010", "WH-013", "WH-016", "WH-024", "WH-025", "WH-028", "WH-031", "WH-048")
"""Rules the revert defect used to FAIL although none of them is about a reverting read."""
REVERT_RULES = {"WH-022", "WH-036"}
DECODER_RULES = {"WH-066", "WH-067"}
HARD_LIMIT = 300.0


def _run(report_dir: Path, *defects: str) -> dict[str, Any]:
    launch = shlex.join([sys.executable, str(FIXTURE), *defects])
    rules = [*CASCADE, *sorted(REVERT_RULES), *sorted(DECODER_RULES)]
    command = [sys.executable, "-m", "conformance.cli", "run", "webhook", "--launch", launch,
               "--profile", "pimlico", *(f"--rule={rule}" for rule in rules),
               "--max-examples", "5", "--seed", "11", "--report-dir", str(report_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=HARD_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"`amc run` against the foreign webhook did not end in {HARD_LIMIT:g} s")
    assert "Traceback" not in err, err[-2000:]
    return json.loads((report_dir / "results.json").read_text())


def _verdicts(doc: dict[str, Any], verdict: str) -> dict[str, dict[str, Any]]:
    return {r["rule_id"]: r for r in doc["results"] if r["verdict"] == verdict}


def test_a_revert_defect_is_one_finding_and_the_decoder_defect_still_shows(
        tmp_path: Path) -> None:
    doc = _run(tmp_path / "report")
    failed = _verdicts(doc, "FAIL")
    assert not _verdicts(doc, "ERROR"), _verdicts(doc, "ERROR")
    assert set(failed) >= REVERT_RULES, sorted(failed)
    assert set(failed) & DECODER_RULES, "the decoder-agreement defect was hidden"
    assert set(failed) <= REVERT_RULES | DECODER_RULES, sorted(failed)  # no cascade
    causes = {failed[r]["failures"][0]["cause"] for r in REVERT_RULES}
    assert causes == {"denied with rpc-failure on a reverting sender"}, causes


@pytest.mark.slow
def test_without_its_defects_the_foreign_webhook_passes_the_selection(tmp_path: Path) -> None:
    """The control: the same selection against the fixture with both defects off is all PASS,
    so the findings above belong to the defects and nothing else in the fixture."""
    doc = _run(tmp_path / "report", "none")
    assert not _verdicts(doc, "FAIL") and not _verdicts(doc, "ERROR"), [
        (r["rule_id"], r["verdict"], r["reasons"][:1]) for r in doc["results"]
        if r["verdict"] in ("FAIL", "ERROR")]
