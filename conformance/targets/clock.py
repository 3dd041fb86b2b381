"""The clock of a launched target, owned by the suite (issue 7 §9; PROTOCOL.md §5 cap and cache).

A launched webhook (the reference or ``--launch``) is started under the OS ``faketime`` package
(libfaketime, preloaded): its wall clock reads the suite's offset from a file the suite writes,
so the UTC day rollover of the daily cap (WH-042) and the cache TTLs (WH-035, WH-036) take
seconds instead of hours. The monotonic clock is left alone (event loops and timeouts keep
working). ``TargetClock.honoured`` asks the target itself: its HTTP ``Date`` header must follow
the offset, else the clock checks SKIP with the reason (libfaketime missing, a statically
linked runtime, a runtime that reads time some other way) before anything else can fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

LIBFAKETIME_ENV = "AMC_LIBFAKETIME"
"""Overrides where libfaketime is looked for (a path to ``libfaketime.so.1``)."""

LIBFAKETIME_GLOBS = (
    "/usr/lib/*-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
    "/usr/lib64/faketime/libfaketime.so.1",
)
"""Where the Debian/Ubuntu ``faketime`` package and a source install put the library."""

DATE_TOLERANCE = 30.0
"""Seconds a target's ``Date`` header may differ from the suite's shifted clock."""

PROBE_OFFSET = 10 * 86_400
"""The shift the probe applies (10 days: unmistakable, whatever the header's resolution)."""


def find_libfaketime() -> str | None:
    """The path of libfaketime, or None when the ``faketime`` package is not installed."""
    override = os.environ.get(LIBFAKETIME_ENV, "").strip()
    if override:
        return override if Path(override).is_file() else None
    for pattern in LIBFAKETIME_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


class TargetClock:
    """The offset (seconds) between a launched target's wall clock and the real one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.set_offset(0.0)

    def set_offset(self, seconds: float) -> None:
        """The target's clock reads real time + ``seconds`` from its next reading on."""
        self.offset = float(seconds)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{self.offset:+.3f}\n")
        tmp.replace(self.path)  # atomic: the target never reads a half-written offset

    def advance(self, seconds: float) -> None:
        """Move the target's clock ``seconds`` forward."""
        self.set_offset(self.offset + seconds)

    def now(self) -> float:
        """The target's wall clock as the suite sets it (UNIX seconds)."""
        return time.time() + self.offset

    def environment(self, library: str) -> dict[str, str]:
        """The variables that put a launched process under this clock (libfaketime's own)."""
        return {
            "LD_PRELOAD": library,
            "FAKETIME_TIMESTAMP_FILE": str(self.path),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }


def answer_date(headers: object) -> float | None:
    """The UNIX time of an answer's ``Date`` header, or None when absent or unreadable."""
    text = headers.get("date") if hasattr(headers, "get") else None
    if not text:
        return None
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return parsedate_to_datetime(text).timestamp()
    return None


def follows(clock: TargetClock, date: float | None) -> bool:
    """True when a ``Date`` header read now agrees with the target's shifted clock."""
    return date is not None and abs(date - clock.now()) <= DATE_TOLERANCE
