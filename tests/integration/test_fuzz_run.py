"""``amc fuzz`` end to end under libFuzzer (atheris): progress lines without a TTY, findings in
``crashes/`` with a replay line, SIGINT mid-run keeps corpus and findings and leaves no child
running; a candidate decoder written outside the package is fuzzed and its bug found; the
committed corpora replay clean (the regression check of the test command).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[2]
AMC = [sys.executable, "-m", "conformance.cli"]


def _descendants(pid: int) -> set[int]:
    """Every live process whose parent chain reaches ``pid`` (via /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_replay_of_the_committed_corpora_passes() -> None:
    done = subprocess.run([*AMC, "fuzz", "replay"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "execute_calldata" in done.stdout and "FAIL" not in done.stdout


@pytest.mark.parametrize("argv", [["fuzz", "nope"], ["fuzz", "execute_calldata", "--seconds", "0"],
                                  ["fuzz", "replay", "execute_calldata", "--input", "/nonexistent"],
                                  ["fuzz", "decoder", "--callable", "no_such_mod:f"],
                                  ["fuzz", "webhook"]])
def test_bad_input_is_one_line_and_exit_2(argv: list[str]) -> None:
    done = subprocess.run([*AMC, *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_sigint_mid_run_keeps_corpus_and_findings_and_stops_every_child(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    process = subprocess.Popen(
        [*AMC, "fuzz", "execute_calldata", "--seconds", "120", "--workers", "2", "--corpus",
         str(corpus), "--plant", "trailing-bytes-accepted"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    children: set[int] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not list((corpus / "crashes").glob("UO-017-*.txt")):
        children |= _descendants(process.pid)
        time.sleep(0.5)
    time.sleep(11)  # at least one progress line without a TTY (every 10 s)
    children |= _descendants(process.pid)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err  # a finding was made
    assert "interrupted after" in out and "FINDING UO-017-" in out
    assert any("exec/s" in line and "findings" in line for line in err.splitlines()), err
    assert len(children) >= 3, children  # amc → libFuzzer parent → fork-mode jobs
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)]
    notes = list((corpus / "crashes").glob("UO-017-*.txt"))
    assert notes and "replay: amc fuzz replay execute_calldata --input" in notes[0].read_text()
    entries = [p for p in corpus.iterdir() if p.is_file()]
    assert len(entries) > 30  # the seeds at least, and what fuzzing added
    replay = subprocess.run([*AMC, "fuzz", "replay", "execute_calldata", "--corpus", str(corpus),
                             "--plant", "trailing-bytes-accepted"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 1 and "FAIL" in replay.stdout  # the finding still reproduces


CANDIDATE = '''
def decode(calldata: bytes):
    """A hand-rolled reader: checks the selector, offset and length, takes the address as the
    low 20 bytes of its word (Solidity reverts on dirty upper bytes: WH-067)."""
    if calldata[:4] != bytes.fromhex("b61d27f6") or len(calldata) < 132:
        raise ValueError("not execute")
    if int.from_bytes(calldata[68:100], "big") != 0x60:
        raise ValueError("not canonical")
    length = int.from_bytes(calldata[100:132], "big")
    if 132 + length > len(calldata):
        raise ValueError("short")
    return calldata[16:36], int.from_bytes(calldata[36:68], "big"), calldata[132:132 + length]
'''


def test_a_candidate_decoder_outside_the_package_is_fuzzed(tmp_path: Path) -> None:
    (tmp_path / "candidate_pkg").mkdir()
    (tmp_path / "candidate_pkg" / "__init__.py").write_text("")
    (tmp_path / "candidate_pkg" / "reader.py").write_text(CANDIDATE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([*AMC, "fuzz", "decoder", "--callable", "candidate_pkg.reader:decode",
                           "--seconds", "12", "--corpus", str(tmp_path / "corpus")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FINDING" in done.stdout
    note = next((tmp_path / "corpus" / "crashes").glob("*.txt")).read_text()
    assert "--callable candidate_pkg.reader:decode" in note


def test_webhook_reference_campaign_states_its_oracles(tmp_path: Path) -> None:
    done = subprocess.run([*AMC, "fuzz", "webhook", "--reference", "--seconds", "8", "--corpus",
                           str(tmp_path / "corpus")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "decoder agreement of approvals (WH-066, WH-067)" in done.stdout
    assert "requests, findings 0" in done.stdout


@pytest.mark.slow
def test_webhook_launch_of_a_lenient_decoder_is_caught_wh067(tmp_path: Path) -> None:
    """--launch with the reference's lenient-decoder mutant: an approval of a dirty-address
    callData Solidity rejects is found by the decoder-agreement oracle (the suite owns the
    chain); with --url the same oracle is off and the output says so."""
    env = {**os.environ, "AMC_MUTANT": "lenient-decoder-dirty-address"}
    done = subprocess.run([*AMC, "fuzz", "webhook", "--launch",
                           f"{sys.executable} -m conformance.reference.webhook.server",
                           "--seconds", "60", "--corpus", str(tmp_path / "corpus")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 1, done.stdout + done.stderr
    assert list((tmp_path / "corpus" / "crashes").glob("WH-067-*"))


def test_webhook_url_mode_says_decoder_agreement_is_off(tmp_path: Path) -> None:
    from conformance.reference.webhook.app import create_app
    from conformance.reference.webhook.server import start_in_thread

    with start_in_thread(create_app({})) as server:  # misconfigured: 500 everywhere (WH-065)
        done = subprocess.run([*AMC, "fuzz", "webhook", "--url", server.url, "--seconds", "5",
                               "--corpus", str(tmp_path / "corpus")], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert "decoder agreement OFF" in done.stdout
    assert done.returncode == 1 and list((tmp_path / "corpus" / "crashes").glob("WH-009-*"))
