"""A run that ends early says so (issue 7 §1, §3): why it ended, and which checks it never ran.

Three ways a run ends before judging what it set out to judge:

- a check or fixture calls ``plugin.abort_run`` (a target that never got ready, an account that
  cannot be deployed): ``abort.txt`` in the report directory holds the one-line cause, exit 2;
- the pytest session is interrupted otherwise (a collection error): exit 2;
- SIGINT or SIGTERM: the handler stops every process group the run launched (recorded under
  ``$AMC_PROCESS_DIR`` by ``targets.launcher``) and ends the session; exit 130 or 143.

The pytest process records its collected checks (``collected.json``) so the report of an aborted
run lists each check that never ran as ERROR "not judged: <cause>" (SKIP only when it was
skipped at collection for a stated reason), never as a silent SKIP or a PASS.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from conformance.report.model import Aborted, CheckOutcome, Verdict

ABORT_FILE = "abort.txt"
COLLECTED_FILE = "collected.json"
USAGE_EXIT = 2
PROCESS_DIR_ENV = "AMC_PROCESS_DIR"
"""The folder where ``targets.launcher`` records each running process group (one empty file
named by the group id); ``engine.run`` sets it for the pytest child."""
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1
_RECEIVED: list[int] = []
"""The first stop signal this interpreter received (empty while none)."""


def die_with_parent() -> None:
    """In a child before exec (Linux): SIGTERM when the process that started it dies, even by
    SIGKILL (``amc`` killed outright still ends its pytest child, which stops its targets)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def signal_exit_code(signum: int) -> int:
    """The shell convention for death by a signal: 128 + its number (SIGINT 130, SIGTERM 143)."""
    return 128 + int(signum)


def interrupted_cause(signum: int) -> str:
    """The one-line cause of a run stopped by ``signum``."""
    return f"interrupted by {signal.Signals(signum).name}"


def write_abort(report_dir: Path, message: str) -> None:
    """Record why the run cannot go on (first line of ``message``), for the controller."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / ABORT_FILE).write_text(message.splitlines()[0] if message else "aborted")


def install_stop_handlers() -> None:
    """On the first SIGINT/SIGTERM: stop launched targets, then end the session
    (KeyboardInterrupt); later signals are ignored while the partial report is written."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _SIGNALS:
        signal.signal(signum, _on_stop_signal)


def _on_stop_signal(signum: int, _frame: FrameType | None) -> None:
    if _RECEIVED:
        return
    _RECEIVED.append(signum)
    folder = os.environ.get(PROCESS_DIR_ENV)
    if folder:
        stop_recorded_groups(Path(folder), grace=1.0)
    raise KeyboardInterrupt(interrupted_cause(signum))


def _signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to the group; False when it no longer exists."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def stop_recorded_groups(folder: Path, grace: float = 1.0) -> list[int]:
    """SIGTERM every process group recorded in ``folder``, SIGKILL what is left after ``grace``
    seconds, remove the records; the ids of the groups that were still running."""
    if not folder.is_dir():
        return []
    groups = [int(e.name) for e in folder.iterdir() if e.name.isdigit()]
    running = [g for g in groups if _signal_group(g, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        time.sleep(0.05)
        running = [g for g in running if _group_alive(g)]
    for pgid in running:
        _signal_group(pgid, signal.SIGKILL)
    for pgid in groups:
        (folder / str(pgid)).unlink(missing_ok=True)
    return running


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def received_signal() -> int | None:
    """The stop signal this interpreter received, if any."""
    return _RECEIVED[0] if _RECEIVED else None


def aborted_of(report_dir: Path, pytest_interrupted: bool) -> Aborted | None:
    """Why this run ended early (signal first, then ``abort.txt``), or None."""
    signum = received_signal()
    if signum is not None:
        return Aborted(interrupted_cause(signum), signal_exit_code(signum))
    path = report_dir / ABORT_FILE
    if path.is_file():
        return Aborted(path.read_text(errors="replace").strip() or "aborted", USAGE_EXIT)
    if pytest_interrupted:
        return Aborted("the pytest session was interrupted (a collection error?): see "
                       "pytest.log", USAGE_EXIT)
    return None


def write_collected(report_dir: Path, checks: list[dict[str, Any]]) -> None:
    """Record the collected checks (every xdist worker writes the same list; atomic)."""
    path = report_dir / COLLECTED_FILE
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_text(json.dumps(checks))
    partial.replace(path)


def read_collected(report_dir: Path) -> list[dict[str, Any]] | None:
    """The collected checks, or None when collection never finished."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((report_dir / COLLECTED_FILE).read_text())
        if isinstance(data, list):
            return data
    return None


def not_judged(collected: list[dict[str, Any]], done: set[str], cause: str) -> list[CheckOutcome]:
    """An outcome for each collected check that never reported: SKIP when it was skipped at
    collection (with that reason), else ERROR "not judged: <cause>"."""
    outcomes: list[CheckOutcome] = []
    for entry in collected:
        if entry["check"] in done:
            continue
        rules = tuple(entry["rules"])
        if entry.get("skip"):
            outcomes.append(CheckOutcome(entry["check"], rules, Verdict.SKIP,
                                         reason=entry["skip"]))
        else:
            outcomes.append(CheckOutcome(entry["check"], rules, Verdict.ERROR,
                                         reason=f"not judged: {cause}"))
    return outcomes
