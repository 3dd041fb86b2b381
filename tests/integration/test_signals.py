"""Signals end everything the suite started; runs that never ran are never green (issue 7 §1,
§3; README "Exit codes, aborts and signals").

A real ``amc run webhook`` runs as a subprocess in its own session; the test records its whole
process tree (from /proc) and the TCP ports the tree listens on, sends a real signal at one
moment of the run, and then asserts: the exit code (130 SIGINT, 143 SIGTERM), no process of the
tree left, no port of the tree still listening, and a partial report saying ``aborted`` whose
verdicts are those of the checks that ran, the rest ERROR "not judged". Launches that fail
(``--launch true``, a ready timeout) give an aborted report and leave no process behind.
More moments run in the ``slow`` test (nightly).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARD_LIMIT = 240.0
"""Seconds a command may take before the test counts it as hung (a bound, not a timing)."""
STOP_WITHIN = 15.0
"""Seconds from the signal to a stopped tree: CHILD_GRACE (6 s) plus reaping, on a loaded box."""


def _proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    return children


def process_tree(root: int) -> set[int]:
    """``root`` and every descendant now running."""
    children, found, todo = _proc_children(), set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie is not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def started_by_run(report: Path) -> set[int]:
    """Every running process whose environment names the run's process folder: the pytest
    child, its workers and what they launched, even one started after a snapshot."""
    marker = f"AMC_PROCESS_DIR={(report / '.processes').resolve()}".encode()
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(int(entry)):
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                found.add(int(entry))
    return found


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    return inodes


def listening_ports(inodes: set[str] | None = None) -> set[int]:
    """TCP ports in LISTEN state (of the given socket inodes, else of anyone)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and (inodes is None or fields[9] in inodes):
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _start(report: Path, *extra: str, component: str = "webhook") -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    command = [sys.executable, "-m", "conformance.cli", "run", component, "--report-dir",
               str(report), "--max-examples", "3", *extra]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + HARD_LIMIT
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}: "
                        f"{proc.communicate()[0][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} within {HARD_LIMIT:g} s")
        time.sleep(0.05)


def _checks_done(report: Path) -> int:
    try:
        return (report / "events.ndjson").read_text().count('"event": "check"')
    except OSError:
        return 0


def _stop_and_judge(proc: subprocess.Popen[str], report: Path, signum: int,
                    ) -> tuple[dict[str, Any], str]:
    """Send ``signum`` now; assert the exit code, the stopped tree and the closed ports."""
    tree = process_tree(proc.pid)
    ports = listening_ports(_socket_inodes(tree))
    os.kill(proc.pid, signum)
    sent = time.monotonic()
    output, _ = proc.communicate(timeout=HARD_LIMIT)
    assert proc.returncode == 128 + signum, output[-3000:]
    while any(alive(p) for p in tree) and time.monotonic() - sent < STOP_WITHIN:
        time.sleep(0.1)
    left = sorted(p for p in tree | started_by_run(report) if alive(p))
    assert not left, f"still running after {STOP_WITHIN:g} s: {left}"
    mine = listening_ports(_socket_inodes(tree | started_by_run(report)))
    assert not mine, f"still listening: {sorted(mine)} (listened before: {sorted(ports)})"
    doc = json.loads((report / "results.json").read_text())
    return doc, output


def _assert_partial(doc: dict[str, Any], report: Path, signum: int) -> None:
    """The partial report: ``aborted`` set; a rule whose checks all reported keeps their
    verdict (PASS stays PASS); a rule with a check that never ran is ERROR "not judged"
    (unless a FAIL was already found)."""
    name = signal.Signals(signum).name
    assert doc["aborted"] == {"cause": f"interrupted by {name}", "exit_code": 128 + signum}
    events = [json.loads(line) for line in (report / "events.ndjson").read_text().splitlines()]
    verdicts_of: dict[str, list[str]] = {}
    for event in events:
        if event["event"] == "check":
            verdicts_of.setdefault(event["check"], []).append(event["verdict"])
    collected = json.loads((report / "collected.json").read_text())
    pending = 0
    for rule in doc["results"]:
        checks = [c for c in collected if rule["rule_id"] in c["rules"]]
        if not checks:
            continue
        waiting = [c for c in checks if c["check"] not in verdicts_of and not c["skip"]]
        if waiting and rule["verdict"] != "FAIL":
            pending += 1
            assert rule["verdict"] == "ERROR", rule
            assert any(f"not judged: interrupted by {name}" in r for r in rule["reasons"]), rule
        elif not waiting and all(verdicts_of.get(c["check"]) == ["PASS"] for c in checks):
            assert rule["verdict"] == "PASS", rule
    assert pending > 0, "the signal came after every check: no moment was tested"
    assert sum(len(v) for v in verdicts_of.values()) >= 1


def test_sigint_during_launch_stops_the_server_and_says_interrupted(tmp_path: Path) -> None:
    """Moment 1 (early): the reference ``amc serve webhook`` is up or starting, no check ran."""
    report = tmp_path / "report"
    proc = _start(report, "--reference")
    _wait_for(lambda: len(process_tree(proc.pid)) >= 3, "a launched server", proc)
    assert len(started_by_run(report)) >= 2  # the marker finds the child and the server
    doc, output = _stop_and_judge(proc, report, signal.SIGINT)
    assert doc["aborted"]["exit_code"] == 130
    assert doc["summary"]["PASS"] == 0 or _checks_done(report) > 0
    assert "RUN ABORTED (exit 130)" in output


def test_sigterm_mid_run_with_two_workers_keeps_verdicts_so_far(tmp_path: Path) -> None:
    """Moment 2 (mid-run, -n 2): checks have reported; xdist workers and their servers stop."""
    report = tmp_path / "report"
    proc = _start(report, "--reference", "--workers", "2")
    _wait_for(lambda: _checks_done(report) >= 2, "two checks", proc)
    doc, _output = _stop_and_judge(proc, report, signal.SIGTERM)
    _assert_partial(doc, report, signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
@pytest.mark.parametrize("moment", ["child-started", "collected", "mid-run"])
def test_every_moment_stops_the_tree(tmp_path: Path, signum: int, moment: str) -> None:
    """Nightly: both signals at three moments, single worker."""
    report = tmp_path / "report"
    proc = _start(report, "--reference")
    conditions = {
        "child-started": lambda: len(process_tree(proc.pid)) >= 2,
        "collected": lambda: (report / "collected.json").exists(),
        "mid-run": lambda: _checks_done(report) >= 5,
    }
    _wait_for(conditions[moment], moment, proc)
    doc, _output = _stop_and_judge(proc, report, signum)
    assert doc["aborted"]["exit_code"] == 128 + signum
    assert doc["summary"]["SKIP"] + doc["summary"]["PASS"] < len(doc["results"])
    if moment == "mid-run":
        _assert_partial(doc, report, signum)


@pytest.mark.parametrize(("extra", "cause"), [
    (("--launch", "true"), "target exited with code 0"),
    pytest.param(("--launch", "sleep 61.7", "--ready-timeout", "1"), "did not answer",
                 marks=pytest.mark.slow),  # the same abort path as launch-true: nightly
], ids=["launch-true", "ready-timeout"])
def test_a_launch_that_fails_is_an_aborted_run_not_a_green_one(
    tmp_path: Path, extra: tuple[str, ...], cause: str,
) -> None:
    report = tmp_path / "report"
    proc = _start(report, *extra)
    output, _ = proc.communicate(timeout=HARD_LIMIT)
    assert proc.returncode == 2, output[-2000:]
    doc = json.loads((report / "results.json").read_text())
    assert doc["aborted"]["exit_code"] == 2 and cause in doc["aborted"]["cause"]
    assert doc["summary"]["PASS"] == 0
    assert doc["summary"]["ERROR"] > 0
    assert not [r for r in doc["results"]
                if r["verdict"] == "SKIP" and "no check of this run" in " ".join(r["reasons"])]
    junit = (report / "junit.xml").read_text()
    assert 'name="run aborted"' in junit and 'errors="0"' not in junit
    assert "gate: passes" not in (report / "report.html").read_text()
    assert "passes (exit 0)" not in (report / "report.html").read_text()
    assert not (report / ".processes").exists()
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and alive(int(p))
                 and _cmdline(int(p)) == b"sleep\x0061.7\x00"]
    assert not leftovers, "the launched target outlived the run"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.slow
def test_amc_killed_outright_still_ends_its_tree(tmp_path: Path) -> None:
    """Nightly: SIGKILL to ``amc`` (no handler can run): its pytest child gets SIGTERM from the
    kernel (PR_SET_PDEATHSIG), stops the launched server and writes the partial report."""
    report = tmp_path / "report"
    proc = _start(report, "--reference")
    _wait_for(lambda: _checks_done(report) >= 2, "two checks", proc)
    tree = process_tree(proc.pid)
    ports = listening_ports(_socket_inodes(tree))
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=HARD_LIMIT)
    deadline = time.monotonic() + STOP_WITHIN
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in tree if alive(p)]
    assert not ports & listening_ports()
    doc = json.loads((report / "results.json").read_text())
    assert doc["aborted"] == {"cause": "interrupted by SIGTERM", "exit_code": 143}


@pytest.mark.slow
@pytest.mark.node
def test_sigint_mid_account_run_on_anvil_stops_the_node(tmp_path: Path) -> None:
    """Nightly: an account run on a managed anvil node; SIGINT mid-run stops the node too."""
    from conformance.targets.evm.anvil import anvil_available

    if anvil_available() is not None:
        pytest.skip(anvil_available() or "")
    report = tmp_path / "report"
    proc = _start(report, "--reference", "--evm", "anvil", component="account")
    _wait_for(lambda: _checks_done(report) >= 2, "two checks", proc)
    doc, _output = _stop_and_judge(proc, report, signal.SIGINT)
    _assert_partial(doc, report, signal.SIGINT)


@pytest.mark.slow
def test_sigint_at_collection_with_two_workers(tmp_path: Path) -> None:
    """Nightly: -n 2, SIGINT as soon as a worker has collected (workers starting servers)."""
    report = tmp_path / "report"
    proc = _start(report, "--reference", "--workers", "2")
    _wait_for(lambda: (report / "collected.json").exists(), "collection", proc)
    doc, _output = _stop_and_judge(proc, report, signal.SIGINT)
    assert doc["aborted"] == {"cause": "interrupted by SIGINT", "exit_code": 130}
    assert doc["summary"]["ERROR"] > 0
