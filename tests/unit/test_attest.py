"""Signed compliance attestations: attest -> verify round-trips; a tampered statement, altered
results, another key, a forged re-signed statement and another baseline are each refused."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report import Failure, RuleResult, RunResults, Verdict, write_results
from conformance.report.attest import PREDICATE_TYPE, build_statement, sign_statement

BASELINE = """[[deviation]]
rule = "WH-013"
verdict = "FAIL"
reason = "chain check lands in 2.5"
expires_version = "2.5.0"
"""


def run_of(launch: str | None = None) -> RunResults:
    target: dict[str, object] = {"kind": "launch" if launch else "url", "version": "2.4.0"}
    target |= {"launch": launch} if launch else {"url": "http://127.0.0.1:8787/"}
    return RunResults("0.1.0", "sha256:" + "ab" * 32, "webhook", "pimlico", target, 1234,
                      "2026-01-01T00:00:00Z", 2.0, [
                          RuleResult("WH-008", Verdict.PASS, 5, level="MUST", statement="a"),
                          RuleResult("WH-013", Verdict.FAIL, 5, [Failure("chain ignored")],
                                     level="MUST", statement="b"),
                          RuleResult("WH-030", Verdict.SKIP, 0, level="SHOULD", statement="c",
                                     reasons=["no cache"]),
                      ])


@pytest.fixture
def signed(tmp_path: Path) -> dict[str, Path]:
    assert main(["report", "keygen", str(tmp_path / "keys")]) == 0
    write_results(run_of(), tmp_path / "run")
    (tmp_path / "known.toml").write_text(BASELINE)
    out = tmp_path / "att.json"
    assert main(["report", "attest", str(tmp_path / "run"), "--key",
                 str(tmp_path / "keys" / "amc-attest.key"), "--baseline",
                 str(tmp_path / "known.toml"), "--output", str(out)]) == 0
    return {"att": out, "run": tmp_path / "run", "pub": tmp_path / "keys" / "amc-attest.pub",
            "key": tmp_path / "keys" / "amc-attest.key", "baseline": tmp_path / "known.toml",
            "dir": tmp_path}


def verify(paths: dict[str, Path], *extra: str, att: Path | None = None) -> int:
    return main(["report", "verify", str(att or paths["att"]), str(paths["run"]),
                 "--public-key", str(paths["pub"]), *extra])


def statement_of(path: Path) -> dict:
    return json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))


def test_round_trip_binds_suite_catalogue_target_verdicts_and_baseline(signed, capsys) -> None:
    assert verify(signed) == 0
    assert verify(signed, "--baseline", str(signed["baseline"])) == 0
    assert "verified: signature, digests and verdicts match" in capsys.readouterr().out
    envelope = json.loads(signed["att"].read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    st = statement_of(signed["att"])
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["predicateType"] == PREDICATE_TYPE
    pred = st["predicate"]
    assert pred["result"] == "WARNED"  # the gate passes only thanks to the baseline
    assert pred["passedTests"] == ["WH-008"] and pred["failedTests"] == ["WH-013"]
    config = {c["name"]: c for c in pred["configuration"]}
    assert config["rules.toml"]["digest"]["sha256"] == "ab" * 32
    assert config["results.json"]["annotations"]["verdicts"] == {
        "WH-008": "PASS", "WH-013": "FAIL", "WH-030": "SKIP"}
    assert config["attestmesh-conformance"]["annotations"]["seed"] == "1234"
    assert config["target"]["annotations"] == {"kind": "url", "version": "2.4.0",
                                               "url": "http://127.0.0.1:8787/"}
    assert config["baseline known.toml"]["annotations"]["gate"] == "0"
    results_bytes = (signed["run"] / "results.json").read_bytes()
    import hashlib

    assert st["subject"] == [{"name": "results.json",
                              "digest": {"sha256": hashlib.sha256(results_bytes).hexdigest()}}]


def test_tampered_statement_is_refused(signed, capsys) -> None:
    envelope = json.loads(signed["att"].read_text())
    st = statement_of(signed["att"])
    st["predicate"]["configuration"][2]["annotations"]["verdicts"]["WH-013"] = "PASS"
    envelope["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    forged = signed["dir"] / "forged.json"
    forged.write_text(json.dumps(envelope))
    assert verify(signed, att=forged) == 1
    assert "signature: not valid" in capsys.readouterr().out


def test_altered_results_are_refused(signed, capsys) -> None:
    run = run_of()  # the same run, WH-013 turned into a PASS: a valid, consistent document
    run.results[1] = RuleResult("WH-013", Verdict.PASS, 5, level="MUST", statement="b")
    write_results(run, signed["run"])
    assert verify(signed) == 1
    out = capsys.readouterr().out
    assert "results.json digest: attested" in out and "WH-013: attested FAIL, results say PASS" \
        in out


def test_other_key_forged_statement_and_other_baseline_are_refused(signed, capsys) -> None:
    assert main(["report", "keygen", str(signed["dir"] / "other")]) == 0
    other_pub = signed["dir"] / "other" / "amc-attest.pub"
    assert main(["report", "verify", str(signed["att"]), str(signed["run"]),
                 "--public-key", str(other_pub)]) == 1
    # a statement claiming a PASS, signed with another key, for the real results
    run = run_of()
    run.results[1] = RuleResult("WH-013", Verdict.PASS, 5, level="MUST", statement="b")
    fake = sign_statement(build_statement(run, b"{}"),
                          (signed["dir"] / "other" / "amc-attest.key").read_bytes())
    (signed["dir"] / "fake.json").write_text(json.dumps(fake))
    assert verify(signed, att=signed["dir"] / "fake.json") == 1
    other_baseline = signed["dir"] / "other.toml"
    other_baseline.write_text(BASELINE.replace("2.5.0", "3.0.0"))
    capsys.readouterr()
    assert verify(signed, "--baseline", str(other_baseline)) == 1
    assert "does not name this baseline" in capsys.readouterr().out


def test_launch_target_binds_program_and_script_digests(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text("print('hi')\n")
    run = run_of(launch=f"{sys.executable} {script}")
    from conformance.report.attest import target_files

    files = target_files(run)
    import hashlib

    assert [f.name for f in files][-1] == str(script)
    assert files[-1].sha256 == hashlib.sha256(script.read_bytes()).hexdigest()
    st = build_statement(run, b"{}", files=files)
    assert [s["name"] for s in st["subject"]] == [f.name for f in files] + ["results.json"]
    annotations = {c["name"]: c for c in st["predicate"]["configuration"]}["target"]
    assert annotations["annotations"]["launch"] == f"{sys.executable} {script}"
    assert st["predicate"]["result"] == "FAILED"


def test_keygen_and_bad_inputs(tmp_path: Path, capsys) -> None:
    assert main(["report", "keygen", str(tmp_path)]) == 0
    mode = stat.S_IMODE((tmp_path / "amc-attest.key").stat().st_mode)
    assert mode == 0o600
    assert main(["report", "keygen", str(tmp_path)]) == 2  # never overwrites a key
    write_results(run_of(), tmp_path / "run")
    (tmp_path / "garbage.json").write_text("{\"x\": 1}")
    assert main(["report", "verify", str(tmp_path / "garbage.json"), str(tmp_path / "run"),
                 "--public-key", str(tmp_path / "amc-attest.pub")]) == 2
    assert main(["report", "attest", str(tmp_path / "run"), "--key",
                 str(tmp_path / "amc-attest.pub"), "--output", str(tmp_path / "a.json")]) == 2
    assert "not an unencrypted PEM private key" in capsys.readouterr().err


def test_statement_only_for_keyless_signing(tmp_path: Path) -> None:
    write_results(run_of(), tmp_path / "run")
    out = tmp_path / "statement.json"
    assert main(["report", "attest", str(tmp_path / "run"), "--statement-only",
                 "--output", str(out)]) == 0
    st = json.loads(out.read_text())
    assert st["predicateType"] == PREDICATE_TYPE and st["predicate"]["result"] == "FAILED"
    assert main(["report", "attest", str(tmp_path / "run"), "--output", str(out)]) == 2
