"""Starting, probing and stopping a target process (ARCHITECTURE.md "Everything bounded").

The process runs in its own process group with stdout and stderr appended to a log file; it is
ready when ``GET <ready_path>`` gets any HTTP answer within ``ready_timeout``; it is stopped by
SIGTERM to the group, then SIGKILL. A process that exits or never answers raises
``TargetError`` with the tail of its log.

Nothing it starts outlives the suite (issue 7 §3): the process gets SIGTERM when the process
that started it dies (Linux ``PR_SET_PDEATHSIG``), and while ``$AMC_PROCESS_DIR`` names a folder
each running group has an empty file there named by its id, so the run's signal handler and
``amc`` itself can stop every group still running (``engine.aborts.stop_recorded_groups``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from conformance.errors import TargetError

STOP_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL."""
PROCESS_DIR_ENV = "AMC_PROCESS_DIR"
"""Names the folder where running process groups are recorded (set by ``engine.run``, read by
``engine.aborts``, which may not import this layer: tests/unit/test_run_aborts.py pins both)."""
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the starting thread's process dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _record(pid: int, running: bool) -> None:
    """Create or remove ``$AMC_PROCESS_DIR/<pid>`` (the group id: each target leads its own)."""
    folder = os.environ.get(PROCESS_DIR_ENV)
    if not folder:
        return
    with contextlib.suppress(OSError):
        if running:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / str(pid)).touch()
        else:
            (Path(folder) / str(pid)).unlink(missing_ok=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 8) -> str:
    """The last ``lines`` lines of a log file, joined with `` | ``."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(line for line in text.strip().splitlines()[-lines:] if line.strip())


class LaunchedProcess:
    """One target process: ``start()``, ``stop()``, ``alive``; a context manager."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        log_path: Path,
        ready_url: str,
        ready_timeout: float = 30.0,
    ) -> None:
        if not command:
            raise ValueError("command is empty")
        self.command = list(command)
        self.env = dict(env)
        self.log_path = log_path
        self.ready_url = ready_url
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self._proc is not None and self._proc.poll() is None

    def exited(self, within: float) -> bool:
        """Whether the process has ended or ends within ``within`` seconds (a connection
        dropped by a dying process arrives a moment before its exit)."""
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            return False
        return True

    @property
    def pid(self) -> int | None:
        """The process id while started."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> LaunchedProcess:
        """Start the process and wait until it answers HTTP (TargetError if it never does)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- starting: {self.command[0]} … (ready at {self.ready_url})\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                # The death signal follows the starting *thread*: only from the main thread.
                preexec_fn=_die_with_parent if _in_main_thread() else None,
            )
            _record(self._proc.pid, running=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.poll() is not None:
                    raise TargetError(
                        f"target exited with code {self._proc.returncode} before it answered "
                        f"{self.ready_url}: {log_tail(self.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    client.get(self.ready_url)
                    return
                time.sleep(0.05)
        raise TargetError(
            f"target did not answer {self.ready_url} within {self.ready_timeout:g} s: "
            f"{log_tail(self.log_path)}"
        )

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM the process group, SIGKILL after ``grace`` seconds; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=STOP_GRACE)
        _signal_group(proc, signal.SIGKILL)  # leftovers of the group (a shell's children)
        _record(proc.pid, running=False)

    def __enter__(self) -> LaunchedProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
