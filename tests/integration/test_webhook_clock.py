"""Wall-clock rules judged on a clock the suite owns (issue 7 §9): a real ``amc run`` against
the reference, under libfaketime, and without it (the clock checks SKIP with the reason).

The PASS under faketime is also seen by the quality job's reference runs; here it is ``slow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.targets.clock import find_libfaketime

CLOCK_CHECK = "webhook/test_cache.py::test_negative_ttl_on_the_target_clock"


def _run(tmp_path: Path, **env: str) -> tuple[dict[str, str], dict[str, object]]:
    report = tmp_path / "report"
    command = [sys.executable, "-m", "conformance.cli", "run", "webhook", "--reference",
               "--profile", "pimlico", "--workers", "1", "--rule", "WH-036",
               "--report-dir", str(report)]
    proc = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in (report / "events.ndjson").read_text().splitlines()]
    verdicts = {e["check"]: e["verdict"] for e in events if e.get("event") == "check"}
    results = json.loads((report / "results.json").read_text())
    rule = next(r for r in results["results"] if r["rule_id"] == "WH-036")
    return verdicts, rule


@pytest.mark.slow
def test_clock_checks_run_under_faketime(tmp_path: Path) -> None:
    """With libfaketime the TTL check is judged in seconds (PASS on the reference)."""
    if find_libfaketime() is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    verdicts, _rule = _run(tmp_path)
    assert verdicts[CLOCK_CHECK] == "PASS"


def test_clock_checks_skip_with_the_reason_without_faketime(tmp_path: Path) -> None:
    """Without libfaketime the clock check SKIPs, naming the package and --slow; the rule is
    still judged by its other checks."""
    verdicts, rule = _run(tmp_path, AMC_LIBFAKETIME=str(tmp_path / "no-libfaketime.so"))
    assert verdicts[CLOCK_CHECK] == "SKIP"
    assert rule["verdict"] == "PASS"
    reasons = " ".join(map(str, rule.get("reasons", [])))
    assert "faketime" in reasons and "--slow" in reasons, reasons
