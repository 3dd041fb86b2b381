"""CLI errors: every bad input gets one line and exit code 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance.cli import main

BAD_INVOCATIONS = [
    (["frob"], "invalid choice"),
    (["run", "webhok"], "did you mean 'webhook'"),
    (["run", "webhook", "--profile", "pimlicoo"], "pimlico"),
    (["run", "webhook", "--profile", "/no/such/profile.toml"], "profile"),
    (["run", "account", "--url", "http://127.0.0.1:1"], "--url does not apply to account"),
    (["run", "webhook", "--url", "http://x", "--mutant", "m"], "--mutant needs --reference"),
    (["run", "account", "--rpc", "http://127.0.0.1:1"], "--rpc needs --address"),
    (["run", "account", "--artifact", "/no/such.json"], "no such file"),
    (["run", "webhook", "--workers", "0"], "at least 1"),
    (["run", "webhook", "--seconds", "soon"], "not a number"),
    (["rules", "--component", "webhok"], "did you mean 'webhook'"),
    (["rules", "--format", "yaml"], "invalid choice"),
    (["report", "diff", "/no/a.json", "/no/b.json"], "no such results file"),
    (["mutants", "list", "--component", "sidecarr"], "expected one of"),
    (["replay", "/no/such/report"], "no such file"),
    (["run", "account", "--reference", "--rule", "AC-999"], "matches no rule"),
    (["run", "account", "--reference", "--rule", "WH-001"], "no rule of account is selected"),
    (["run", "webhook", "--url", "notaurl", "--no-token"], "not an http(s) URL"),
    (["run", "webhook", "--url", "http://127.0.0.1:9", "--no-token"], "no answer from the target"),
    (["run", "webhook", "--url", "http://127.0.0.1:9"], "ALCHEMY_WEBHOOK_TOKEN is not set"),
    (["run", "webhook", "--reference", "--mutant", "no-such-mutant"], "no such webhook mutant"),
    (["run", "account", "--reference", "--mutant", "no-such-mutant"], "no such account mutant"),
    (["run", "account", "--artifact", "pyproject.toml"], "not JSON"),
    (["run", "account", "--reference", "--report-dir", "/proc/amc/x"], "cannot write there"),
    (["replay", "pyproject.toml"], "not a readable results.json"),
]


@pytest.mark.parametrize(
    ("argv", "expected"),
    BAD_INVOCATIONS,
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("amc: error: ") and "\n" not in err, err
    assert expected in err


def test_bad_profile_file_names_the_key(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "mine.toml"
    profile.write_text('name = "mine"\ngeneration = "base"\nchain_idd = 1\n')
    assert main(["run", "webhook", "--profile", str(profile)]) == 2
    err = capsys.readouterr().err
    assert "chain_idd" in err and "chain_id" in err and "Traceback" not in err


def test_console_script_exit_code_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_rules_json_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert len(rules) > 80
    assert {"id", "level", "statement", "source", "checks"} <= set(rules[0])
