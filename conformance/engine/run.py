"""The Python API behind ``amc run``: run one component's checks against one target.

The run is a pytest session over ``conformance/suites/<component>/`` in a child process (so a
crashing or hanging target cannot take the caller down, and xdist can fan out), configured by a
``config.json`` in the report directory. The child writes ``events.ndjson`` as it goes and the
reports at the end; ``run_component`` relays the events to ``on_event`` and returns the results.

The child leads its own process group (its xdist workers and anvil nodes join it; launched
targets lead groups recorded under ``$AMC_PROCESS_DIR``). On SIGINT/SIGTERM ``amc`` forwards the
signal to that group, gives the child ``CHILD_GRACE`` seconds to stop its targets and write the
partial report, then SIGKILLs the group and every recorded one, and writes the partial report
itself if the child could not (issue 7 §3). A run that ended early raises ``RunAborted`` with
its outcome: the reports say ``aborted`` (issue 7 §1).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from conformance.engine import aborts
from conformance.engine.config import COMPONENTS, RunConfig
from conformance.engine.plugin import ABORT_FILE, EVENTS_FILE, TARGET_FILE
from conformance.errors import UsageError, did_you_mean
from conformance.report.model import Aborted, CheckOutcome, Failure, RunResults, Verdict

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
EventHandler = Callable[[dict[str, Any]], None]

_PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"
CHILD_GRACE = 6.0
"""Seconds the pytest child has, after a forwarded signal, to stop and write its report."""
PROCESS_DIR = ".processes"
"""Folder of the report directory where launched process groups are recorded while running."""
TICK_SECONDS = 1.0
"""How often ``on_event`` gets a ``tick`` event (progress lines without a TTY)."""


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run left: its results, where the reports are, and the exit code."""

    results: RunResults
    report_dir: Path
    exit_code: int


class RunAborted(UsageError):
    """The run ended early (could not start or go on: exit 2; SIGINT 130; SIGTERM 143); its
    partial reports are written and say ``aborted``."""

    def __init__(self, outcome: RunOutcome) -> None:
        assert outcome.results.aborted is not None
        super().__init__(outcome.results.aborted.cause)
        self.outcome = outcome
        self.exit_code = outcome.exit_code


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
    (report_dir / aborts.COLLECTED_FILE).unlink(missing_ok=True)
    config_path = config.write(report_dir / "config.json")
    (report_dir / "pytest.ini").write_text(_PYTEST_INI)
    started = time.monotonic()
    code, stopped_by = _run_pytest(config, config_path, report_dir, on_event, hard_timeout)
    results_path = report_dir / "results.json"
    if stopped_by is not None:
        _ensure_partial_report(config, report_dir, stopped_by, started)
    abort = report_dir / ABORT_FILE
    if not results_path.exists():
        if abort.exists():
            raise UsageError(abort.read_text().strip())
        raise UsageError(
            f"the run produced no results (pytest exit {code}); see {report_dir / 'pytest.log'}"
        )
    from conformance.report import read_results

    results = read_results(results_path)
    outcome = RunOutcome(results, report_dir, results.exit_code())
    if results.aborted is not None:
        raise RunAborted(outcome)
    return outcome


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
) -> tuple[int, int | None]:
    """Run the child to its end; its exit code and the stop signal ``amc`` got, if any."""
    command = _pytest_command(config, config_path, report_dir)
    groups = report_dir / PROCESS_DIR
    env = dict(os.environ, PYTHONHASHSEED=str(config.seed % 2**32))
    env[aborts.PROCESS_DIR_ENV] = str(groups.resolve())
    events_path = report_dir / EVENTS_FILE
    offset, started, ticked = 0, time.monotonic(), time.monotonic()
    with open(report_dir / "pytest.log", "wb") as log, _stop_signals() as received:
        main_thread = threading.current_thread() is threading.main_thread()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=aborts.die_with_parent if main_thread else None)
        try:
            while proc.poll() is None and not received:
                offset = _relay(events_path, offset, on_event)
                if on_event is not None and time.monotonic() - ticked >= TICK_SECONDS:
                    ticked = time.monotonic()
                    on_event({"event": "tick", "t": round(ticked - started, 3)})
                if hard_timeout is not None and time.monotonic() - started > hard_timeout:
                    raise UsageError(f"run exceeded its hard limit of {hard_timeout:g} s")
                time.sleep(0.1)
            if received:
                _stop_child(proc, received)
        finally:
            _kill_tree(proc, groups)
    _relay(events_path, offset, on_event)
    return proc.returncode, (received[0] if received else None)


@contextlib.contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """While the child runs, SIGINT/SIGTERM to ``amc`` are recorded (in the yielded list), not
    fatal: the loop then stops the child in order. Off the main thread nothing changes."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_child(proc: subprocess.Popen[bytes], received: list[int]) -> None:
    """Forward the first signal to the child's group and wait up to ``CHILD_GRACE`` seconds
    (a second signal cuts the wait short)."""
    _signal_group(proc.pid, received[0])
    deadline = time.monotonic() + CHILD_GRACE
    while proc.poll() is None and time.monotonic() < deadline and len(received) < 2:
        time.sleep(0.05)


def _kill_tree(proc: subprocess.Popen[bytes], groups: Path) -> None:
    """SIGKILL what is left of the child's group and every group it recorded; reap the child."""
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    aborts.stop_recorded_groups(groups, grace=0.5)
    shutil.rmtree(groups, ignore_errors=True)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _ensure_partial_report(config: RunConfig, report_dir: Path, signum: int,
                           started: float) -> None:
    """After a stop signal: keep the child's report when it wrote one, else write the partial
    report here from the events the child got to emit."""
    if (report_dir / "results.json").exists():  # the child wrote it (partial or, late, whole)
        return
    from conformance.engine.plugin import RunState, _redactor, build_results
    from conformance.profiles import load_profile
    from conformance.report import write_reports
    from conformance.rules import load_catalogue

    state = RunState(config, report_dir, load_catalogue(), load_profile(config.profile),
                     started=started)
    state.outcomes = _outcomes_of_events(report_dir / EVENTS_FILE)
    aborted = Aborted(aborts.interrupted_cause(signum), aborts.signal_exit_code(signum))
    run = build_results(state, aborted=aborted)
    write_reports(run, report_dir, redactor=_redactor(state))


def _outcomes_of_events(path: Path) -> list[CheckOutcome]:
    """The check outcomes the child announced (failure details stay in the child's report)."""
    outcomes: list[CheckOutcome] = []
    lost = "the run was stopped before it wrote this failure's details (see pytest.log)"
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError):
                event = json.loads(line)
                if event.get("event") != "check":
                    continue
                verdict = Verdict(event["verdict"])
                failure = Failure(lost, check=event["check"]) if verdict is Verdict.FAIL else None
                outcomes.append(CheckOutcome(
                    event["check"], tuple(event["rules"]), verdict, cases=event.get("cases") or 0,
                    failure=failure, failed_rule=event.get("failed_rule"),
                    reason="" if verdict is not Verdict.ERROR else "check ended in an ERROR"))
    return outcomes


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
