"""Starting, probing and stopping a target process (DESIGN.md "Everything bounded").

The process runs in its own process group with stdout and stderr appended to a log file; it is
ready when ``GET <ready_path>`` gets any HTTP answer within ``ready_timeout``; it is stopped by
SIGTERM to the group, then SIGKILL. A process that exits or never answers raises
``TargetError`` with the tail of its log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from conformance.errors import TargetError

STOP_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL."""


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
            )
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

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after ``STOP_GRACE``; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=STOP_GRACE)
        else:
            _signal_group(proc, signal.SIGKILL)  # leftovers of an exited leader

    def __enter__(self) -> LaunchedProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
