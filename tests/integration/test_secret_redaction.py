"""Secrets never leave the process (issue 7 §2; ARCHITECTURE.md "Secrets").

Every failure path of ``amc run webhook`` is run for real with canary secrets — a ``--url``
target that hangs, one that resets connections, one that echoes its request (token and
signature) back, a launched target that crashes, a launch that fails with the secrets in its
log, a FAILing mutant, a malformed HMAC secret — and EVERY file of the report directory and the
terminal output (stdout and stderr of ``amc``) is searched for the token, the Pimlico secret and
the HMAC key derived from it (hex and base64). The canaries of a launched target are the ones
the suite generated: the target records what it was given in a side file outside the report.

The hung target and the malformed secret run in the default test command; the other paths
(10–30 s each: a child ``amc run`` apiece) are ``slow`` (nightly).
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.protocol.webhook_wire import KeyDerivation, SecretFormatError, derive_hmac_key
from conformance.targets.webhook import generate_hmac_secret

LEAKY = Path(__file__).with_name("leaky_webhook.py")
AMC = [sys.executable, "-m", "conformance.cli"]
DERIVATION = KeyDerivation.LIVE_BASE57


@dataclass
class Outcome:
    """One ``amc run``: exit code, terminal output, report directory, side file."""

    code: int
    terminal: str
    report: Path
    side: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _canaries(token: str, secret: str) -> list[str]:
    forms = [token, secret]
    try:
        key = derive_hmac_key(secret, DERIVATION)
    except SecretFormatError:
        return forms
    return forms + [key.hex(), base64.b64encode(key).decode().rstrip("=")]


def _leaks(outcome: Outcome, canaries: list[str]) -> list[str]:
    found = [f"terminal: {c[:6]}…" for c in canaries if c in outcome.terminal]
    for path in sorted(outcome.report.rglob("*")) if outcome.report.exists() else []:
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {c[:6]}…" for c in canaries if c.encode() in data]
    return found


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The user's environment with canary secrets (a secret that derives under the profile)."""
    return dict(os.environ, ALCHEMY_WEBHOOK_TOKEN="CANARYtok" + os.urandom(9).hex(),
                PIMLICO_WEBHOOK_SECRET=generate_hmac_secret(DERIVATION), AMC_NO_TTY="1")


def _amc(tmp_path: Path, env: dict[str, str], target: list[str], rules: str,
         timeout: float = 240) -> Outcome:
    report = tmp_path / "report"
    command = [*AMC, "run", "webhook", *target, "--profile", "pimlico", "--workers", "1",
               "--request-timeout", "1", "--ready-timeout", "15", "--rule", rules,
               "--max-examples", "5", "--report-dir", str(report)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=tmp_path)
    return Outcome(proc.returncode, proc.stdout + proc.stderr, report, tmp_path / "side.json")


@pytest.fixture
def url_target(tmp_path: Path, env: dict[str, str], request: pytest.FixtureRequest
               ) -> Iterator[str]:
    """A leaky webhook in ``request.param`` mode on a free port, with the user's canaries."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(LEAKY), request.param,
                             str(tmp_path / "side.json"), str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def _side_canaries(outcome: Outcome) -> list[str]:
    """The secrets of every launch (the main target's and each variant's)."""
    launches = [json.loads(line) for line in outcome.side.read_text().splitlines()]
    assert launches
    return [form for side in launches for form in _canaries(side["token"], side["secret"])]


@pytest.mark.parametrize(("url_target", "rules", "expect"),
                         [("hang", "WH-01*", 1),
                          pytest.param("reset", "WH-01*", 1, marks=pytest.mark.slow),
                          pytest.param("echo", "WH-01*", 1, marks=pytest.mark.slow)],
                         indirect=["url_target"], ids=["hang", "reset", "echo"])
def test_url_targets_never_leak(tmp_path: Path, env: dict[str, str], url_target: str,
                                rules: str, expect: int) -> None:
    """A hung, resetting or echoing ``--url`` target: ERROR/FAIL verdicts, no canary anywhere
    (the hang used to put ``?token=`` into pytest.log and pytest-junit.xml)."""
    outcome = _amc(tmp_path, env, ["--url", url_target], rules)
    assert outcome.code == expect, outcome.terminal[-2000:]
    assert (outcome.report / "pytest-junit.xml").is_file()
    canaries = _canaries(env["ALCHEMY_WEBHOOK_TOKEN"], env["PIMLICO_WEBHOOK_SECRET"])
    assert not _leaks(outcome, canaries)


def test_malformed_secret_is_one_usage_line(tmp_path: Path, env: dict[str, str]) -> None:
    """A PIMLICO_WEBHOOK_SECRET that does not derive under the profile: exit 2, one line naming
    the variable (never its value), no report folder, before any request."""
    env["PIMLICO_WEBHOOK_SECRET"] = "pim_whsec_CANARY0OIl" + os.urandom(6).hex()
    outcome = _amc(tmp_path, env, ["--url", "http://127.0.0.1:9"], "WH-05*", timeout=60)
    assert outcome.code == 2, outcome.terminal
    lines = outcome.terminal.strip().splitlines()
    assert len(lines) == 1 and "PIMLICO_WEBHOOK_SECRET" in lines[0], lines
    assert not outcome.report.exists()
    assert not _leaks(outcome, [env["PIMLICO_WEBHOOK_SECRET"], "CANARY0OIl"])


def _launch(mode: str, side: Path) -> str:
    return shlex.join([sys.executable, str(LEAKY), mode, str(side)])


@pytest.mark.slow
def test_launched_target_that_crashes_never_leaks(tmp_path: Path, env: dict[str, str]) -> None:
    """A launched target that prints its secrets and dies on the first request."""
    outcome = _amc(tmp_path, env, ["--launch", _launch("crash", tmp_path / "side.json")],
                   "WH-010")
    assert outcome.code in (1, 2), outcome.terminal[-2000:]
    assert list((outcome.report / "logs").glob("*.log"))
    assert not _leaks(outcome, _side_canaries(outcome) + _canaries(
        env["ALCHEMY_WEBHOOK_TOKEN"], env["PIMLICO_WEBHOOK_SECRET"]))


@pytest.mark.slow
def test_launch_failure_never_leaks(tmp_path: Path, env: dict[str, str]) -> None:
    """A launch that exits at once with the secrets in its log: the log tail quoted in the abort
    message, the report and the log file itself are masked."""
    outcome = _amc(tmp_path, env, ["--launch", _launch("exit", tmp_path / "side.json")],
                   "WH-010", timeout=60)
    assert outcome.code == 2, outcome.terminal[-2000:]
    logs = "".join(p.read_text() for p in (outcome.report / "logs").glob("*.log"))
    assert "fatal: cannot start (token $ALCHEMY_WEBHOOK_TOKEN)" in logs  # masked, not dropped
    assert not _leaks(outcome, _side_canaries(outcome))


@pytest.mark.slow
def test_failing_mutant_never_leaks(tmp_path: Path, env: dict[str, str]) -> None:
    """A FAILing mutant (the plain-base64 Pimlico key) launched with recorded secrets: FAILs
    carry signed requests and reproducers, never the secret or the derived key."""
    side = tmp_path / "side.json"
    serve = shlex.join([*AMC, "serve", "webhook", "--profile", "pimlico"])
    command = f"{_launch('record', side)} && AMC_MUTANT=plain-base64-pimlico-key exec {serve}"
    outcome = _amc(tmp_path, env, ["--launch", command], "WH-05[4-7]")
    assert outcome.code == 1, outcome.terminal[-2000:]
    results = json.loads((outcome.report / "results.json").read_text())
    assert any(r["verdict"] == "FAIL" for r in results["results"])
    assert not _leaks(outcome, _side_canaries(outcome))


@pytest.mark.parametrize("url_target", ["echo"], indirect=True)
def test_probe_never_leaks(tmp_path: Path, env: dict[str, str], url_target: str) -> None:
    """``amc probe`` against a target that echoes its requests (token, signature) back: the
    step details it prints are masked."""
    proc = subprocess.run([*AMC, "probe", url_target, "--profile", "pimlico"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    outcome = Outcome(proc.returncode, proc.stdout + proc.stderr, tmp_path / "none", tmp_path)
    assert "$ALCHEMY_WEBHOOK_TOKEN" in outcome.terminal  # the echo was there, masked
    assert not _leaks(outcome, _canaries(env["ALCHEMY_WEBHOOK_TOKEN"],
                                         env["PIMLICO_WEBHOOK_SECRET"]))


@pytest.mark.slow
@pytest.mark.parametrize("url_target", ["echo"], indirect=True)
def test_replay_against_a_url_never_leaks(tmp_path: Path, env: dict[str, str],
                                          url_target: str) -> None:
    """``amc replay REPORT --url`` against a target that echoes its requests: the replay's
    lines name the secrets by variable, never by value (the user's secrets are registered)."""
    outcome = _amc(tmp_path, env, ["--url", url_target], "WH-01*")
    assert outcome.code == 1, outcome.terminal[-2000:]
    proc = subprocess.run([*AMC, "replay", str(outcome.report), "--url", url_target,
                           "--profile", "pimlico"], env=env, capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)
    replay = Outcome(proc.returncode, proc.stdout + proc.stderr, tmp_path / "none", tmp_path)
    assert "replayed against" in replay.terminal, replay.terminal[-2000:]
    assert not _leaks(replay, _canaries(env["ALCHEMY_WEBHOOK_TOKEN"],
                                        env["PIMLICO_WEBHOOK_SECRET"]))
