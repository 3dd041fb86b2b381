"""The Python API behind ``amc run``: run one component's checks against one target.

The run is a pytest session over ``conformance/suites/<component>/`` in a child process (so a
crashing or hanging target cannot take the caller down, and xdist can fan out), configured by a
``config.json`` in the report directory. The child writes ``events.ndjson`` as it goes and the
reports at the end; ``run_component`` relays the events to ``on_event`` and returns the results.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.engine.config import COMPONENTS, RunConfig
from conformance.engine.plugin import ABORT_FILE, EVENTS_FILE, TARGET_FILE
from conformance.errors import UsageError, did_you_mean
from conformance.report.model import RunResults

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
EventHandler = Callable[[dict[str, Any]], None]

_PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run left: its results, where the reports are, and the exit code."""

    results: RunResults
    report_dir: Path
    exit_code: int


def default_report_dir(component: str, seed: int, base: Path | None = None) -> Path:
    """A fresh folder under ``reports/`` named by component, UTC time and seed."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return (base or Path("reports")) / f"{component}-{stamp}-{seed}"


def new_seed() -> int:
    """A fresh run seed (printed by the CLI; ``--seed`` replays it)."""
    return random.SystemRandom().randrange(1, 2**31)


def validate_component(component: str) -> str:
    """``component`` if it has a suite, else a UsageError naming the closest one."""
    if component not in COMPONENTS:
        raise UsageError(
            f"component={component!r}: expected one of {', '.join(COMPONENTS)}"
            + did_you_mean(component, COMPONENTS)
        )
    if not (SUITES_DIR / component).is_dir():
        raise UsageError(f"component={component!r}: this version of the suite has no checks for it")
    return component


def run_component(
    config: RunConfig,
    *,
    on_event: EventHandler | None = None,
    hard_timeout: float | None = None,
) -> RunOutcome:
    """Run ``config.component``'s checks and return the results (UsageError → exit 2)."""
    validate_component(config.component)
    from conformance.profiles import load_profile

    load_profile(config.profile)  # a bad profile fails here, before anything starts
    report_dir = Path(config.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    for stale in (ABORT_FILE, EVENTS_FILE, TARGET_FILE, "results.json"):
        (report_dir / stale).unlink(missing_ok=True)
    config_path = config.write(report_dir / "config.json")
    (report_dir / "pytest.ini").write_text(_PYTEST_INI)
    code = _run_pytest(config, config_path, report_dir, on_event, hard_timeout)
    abort = report_dir / ABORT_FILE
    if abort.exists():
        raise UsageError(abort.read_text().strip())
    results_path = report_dir / "results.json"
    if not results_path.exists():
        raise UsageError(
            f"the run produced no results (pytest exit {code}); see {report_dir / 'pytest.log'}"
        )
    from conformance.report import read_results

    results = read_results(results_path)
    return RunOutcome(results, report_dir, results.exit_code())


def _pytest_command(config: RunConfig, config_path: Path, report_dir: Path) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "pytest",
        config.suite_path or str(SUITES_DIR / config.component),
        "-c",
        str(report_dir / "pytest.ini"),
        "--rootdir",
        str(SUITES_DIR.parent.parent),
        "--import-mode=importlib",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--amc-config={config_path}",
        f"--hypothesis-seed={config.seed}",
        f"--junitxml={report_dir / 'pytest-junit.xml'}",
    ]
    if config.workers > 1:
        args += ["-n", str(config.workers), "--dist", "loadgroup"]
    return args


def _run_pytest(
    config: RunConfig,
    config_path: Path,
    report_dir: Path,
    on_event: EventHandler | None,
    hard_timeout: float | None,
) -> int:
    command = _pytest_command(config, config_path, report_dir)
    env = dict(os.environ, PYTHONHASHSEED=str(config.seed % 2**32))
    events_path = report_dir / EVENTS_FILE
    offset = 0
    started = time.monotonic()
    with open(report_dir / "pytest.log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while proc.poll() is None:
                offset = _relay(events_path, offset, on_event)
                if hard_timeout is not None and time.monotonic() - started > hard_timeout:
                    proc.kill()
                    raise UsageError(f"run exceeded its hard limit of {hard_timeout:g} s")
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    _relay(events_path, offset, on_event)
    return proc.returncode


def _relay(path: Path, offset: int, on_event: EventHandler | None) -> int:
    if not path.exists():
        return offset
    with open(path, encoding="utf-8") as fh:
        fh.seek(offset)
        chunk = fh.read()
    complete, _, _rest = chunk.rpartition("\n")
    if not complete:
        return offset
    if on_event is not None:
        for line in complete.splitlines():
            if line.strip():
                on_event(json.loads(line))
    return offset + len(complete.encode("utf-8")) + 1
