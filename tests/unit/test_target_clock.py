"""The suite-owned clock of a launched target (conformance.targets.clock; issue 7 §9)."""

from __future__ import annotations

import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from conformance.targets.clock import TargetClock, answer_date, find_libfaketime, follows


def test_offset_file_is_libfaketime_relative_format(tmp_path: Path) -> None:
    clock = TargetClock(tmp_path / "offset")
    assert (tmp_path / "offset").read_text() == "+0.000\n"
    clock.set_offset(86_400)
    clock.advance(-1.5)
    assert (tmp_path / "offset").read_text() == "+86398.500\n"
    assert abs(clock.now() - (time.time() + 86_398.5)) < 1


def test_date_header_agreement(tmp_path: Path) -> None:
    clock = TargetClock(tmp_path / "offset")
    clock.set_offset(3_600)
    shifted = {"date": formatdate(time.time() + 3_600, usegmt=True)}
    real = {"date": formatdate(time.time(), usegmt=True)}
    assert follows(clock, answer_date(shifted))
    assert not follows(clock, answer_date(real))
    assert not follows(clock, answer_date({}))
    assert answer_date({"date": "yesterday"}) is None


def test_missing_library_is_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AMC_LIBFAKETIME", str(tmp_path / "absent.so"))
    assert find_libfaketime() is None


def test_a_process_under_the_clock_reads_the_offset(tmp_path: Path) -> None:
    """A real process under libfaketime follows the file as the suite rewrites it, while its
    monotonic clock is left alone."""
    library = find_libfaketime()
    if library is None:
        pytest.skip("faketime is not installed (apt-get install faketime)")
    clock = TargetClock(tmp_path / "offset")
    clock.set_offset(10 * 86_400)
    script = ("import time,sys; a=time.time(); sys.stdin.readline(); b=time.time();"
              "print(a, b, time.monotonic())")
    proc = subprocess.Popen([sys.executable, "-c", script], env=clock.environment(library),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    clock.set_offset(-86_400)
    out, _ = proc.communicate("go\n", timeout=20)
    first, second, monotonic = map(float, out.split())
    assert abs(first - (time.time() + 10 * 86_400)) < 60
    assert abs(second - (time.time() - 86_400)) < 60
    assert abs(monotonic - time.monotonic()) < 60  # not shifted
