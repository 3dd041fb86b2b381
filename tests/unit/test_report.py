"""The report writers: results.json + schema, JUnit XML, HTML, redaction, release comparison.

Snapshots live in tests/snapshots/; regenerate with ``AMC_UPDATE_SNAPSHOTS=1`` after a
deliberate change and review the diff.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from conformance.errors import UsageError
from conformance.report import (
    Failure,
    Redactor,
    ResultsSchemaError,
    RuleResult,
    RunResults,
    Verdict,
    load_schema,
    read_results,
    validate_results,
    write_html,
    write_junit,
    write_reports,
    write_results,
)

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"
SECRET = "tok_S3cr3t+Value/with &amp;<x>"
ENV_NAME = "ALCHEMY_WEBHOOK_TOKEN"


def make_run(**overrides: object) -> RunResults:
    """A realistic run: every verdict, two components, failures with bytes and JSON inputs."""
    results = [
        RuleResult("WH-012", Verdict.FAIL, 7, [
            Failure("non-zero value was not denied: got approved=true",
                    {"callData": "0xb61d27f6", "value": 1},
                    "curl -sS -X POST 'http://127.0.0.1:8787/?token=$ALCHEMY_WEBHOOK_TOKEN'"
                    " -d @body.json",
                    "test_value_nonzero_is_denied"),
            Failure("value 2**255 was approved", b"\xb6\x1d\x27\xf6", "python replay.py", ""),
        ], "MUST", "webhook", "A call with non-zero value is denied with value-nonzero.",
            ["test_value_nonzero_is_denied"]),
        RuleResult("WH-001", Verdict.PASS, 40, [], "MUST", "webhook",
                   "A bad token is denied with bad-token.", ["test_bad_token"]),
        RuleResult("WH-030", Verdict.FAIL, 2, [
            Failure("cache not used for positive answers", None, "", "test_cache_positive"),
        ], "SHOULD", "webhook", "Positive provenance answers are cached.",
            ["test_cache_positive"]),
        RuleResult("WH-040", Verdict.ERROR, 1, [], "MUST", "webhook",
                   "The webhook answers rpc-failure when the chain is down.",
                   ["test_rpc_down"], ["target timed out after 10.0 s"]),
        RuleResult("WH-050", Verdict.SKIP, 0, [], "MUST", "webhook",
                   "POST /pimlico verifies Standard Webhooks signatures.",
                   ["test_pimlico_signature"], ["profile base has no /pimlico route"]),
        RuleResult("UO-003", Verdict.PASS, 12, [], "MUST", "protocol",
                   "userOpHash is keccak256(abi.encode(hash(packed), entryPoint, chainId)).",
                   ["test_userop_hash"]),
        RuleResult("WH-009", Verdict.PASS, 5, [], "SHOULD", "webhook",
                   "Denials carry an exact reason string.", ["test_reasons"]),
    ]
    fields: dict[str, object] = dict(
        suite_version="0.1.0",
        catalogue_digest="sha256:1111",
        component="webhook",
        profile="base",
        target={"url": "http://127.0.0.1:8787/", "version": "2.3.1"},
        seed=1234,
        started_at="2025-01-02T03:04:05Z",
        duration_seconds=12.3456,
        results=results,
        logs={"stdout": "listening on 127.0.0.1:8787\n", "stderr": "warn: slow rpc\n"},
    )
    fields.update(overrides)
    return RunResults(**fields)  # type: ignore[arg-type]


def plain_doc(run: RunResults) -> dict:
    """``run.to_json()`` as JSON text would carry it (bytes as 0x hex, independently)."""
    doc = run.to_json()
    for rule in doc["results"]:
        for failure in rule["failures"]:
            if isinstance(failure["minimal_input"], bytes):
                failure["minimal_input"] = "0x" + failure["minimal_input"].hex()
    return doc


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("AMC_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"snapshot {path} missing: run with AMC_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


# --- schema -----------------------------------------------------------------------------------


def test_schema_is_draft_2020_12_and_pins_the_stable_names() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    rule = schema["$defs"]["rule_result"]
    assert {"rule_id", "verdict", "cases", "failures"} <= set(rule["required"])
    assert {"message", "minimal_input", "reproducer"} <= set(schema["$defs"]["failure"]["required"])


def test_schema_accepts_a_realistic_run() -> None:
    validate_results(plain_doc(make_run()))
    validate_results(plain_doc(make_run(results=[])))


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["results"][0].update(verdict="MAYBE"), "$.results[0].verdict"),
        (lambda d: d["results"][1].pop("failures"), "$.results[1]"),
        (lambda d: d["results"][0]["failures"][0].pop("reproducer"), "$.results[0].failures[0]"),
        (lambda d: d.update(seed="1234"), "$.seed"),
        (lambda d: d.update(extra=1), "$"),
        (lambda d: d["summary"].update(PASS=99), "$.summary.PASS"),
        (lambda d: d["results"].append(copy.deepcopy(d["results"][1])), "duplicate rule_id"),
    ],
)
def test_schema_rejects_with_a_one_line_error_naming_the_place(mutate, where) -> None:
    doc = plain_doc(make_run())
    if "duplicate" in where:  # keep the summary consistent so the duplicate is what fails
        doc["summary"]["PASS"] += 1
    mutate(doc)
    with pytest.raises(ResultsSchemaError) as info:
        validate_results(doc)
    message = str(info.value)
    assert where in message and "\n" not in message
    assert isinstance(info.value, UsageError)


# --- results.json -----------------------------------------------------------------------------


def test_json_round_trip_sorted_and_pretty(tmp_path: Path) -> None:
    run = make_run()
    path = write_results(run, tmp_path / "out")
    text = path.read_text(encoding="utf-8")
    assert path.name == "results.json" and text.startswith('{\n  "schema_version": "2.0"')
    ids = [r["rule_id"] for r in json.loads(text)["results"]]
    assert ids == ["UO-003", "WH-001", "WH-009", "WH-012", "WH-030", "WH-040", "WH-050"]
    back = read_results(path)
    expected = plain_doc(run)
    expected["results"].sort(key=lambda r: r["rule_id"])
    assert back.to_json() == expected
    assert back.results[3].failures[1].minimal_input == "0xb61d27f6"
    assert back.exit_code() == run.exit_code() == 1


def test_rule_ids_sort_naturally(tmp_path: Path) -> None:
    rules = [RuleResult(i, Verdict.PASS, 1) for i in ("WH-10", "AC-2", "WH-9", "AC-11")]
    path = write_results(make_run(results=rules), tmp_path)
    ids = [r["rule_id"] for r in json.loads(path.read_text())["results"]]
    assert ids == ["AC-2", "AC-11", "WH-9", "WH-10"]


def test_read_rejects_unknown_major_and_accepts_a_newer_minor(tmp_path: Path) -> None:
    path = write_results(make_run(), tmp_path)
    doc = json.loads(path.read_text())
    doc["schema_version"] = "3.0"
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsSchemaError, match=r"schema_version=3\.0 is not supported") as info:
        read_results(path)
    assert "\n" not in str(info.value)
    doc["schema_version"] = "2.7"
    path.write_text(json.dumps(doc))
    assert read_results(path).schema_version == "2.7"
    doc["schema_version"] = "1.0"  # a 1.x report (no ``aborted``, no pointers) is still read
    del doc["aborted"]
    path.write_text(json.dumps(doc))
    assert read_results(path).aborted is None


def test_read_rejects_garbage_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("{not json")
    with pytest.raises(ResultsSchemaError, match="cannot read results"):
        read_results(path)


def test_write_validates_before_writing(tmp_path: Path) -> None:
    bad = make_run(results=[RuleResult("WH-001", Verdict.PASS, 1, level="MAY")])
    with pytest.raises(ResultsSchemaError, match=r"\$\.results\[0\]\.level"):
        write_results(bad, tmp_path)
    assert not (tmp_path / "results.json").exists()


# --- JUnit ------------------------------------------------------------------------------------


def test_junit_parses_back_with_right_counts(tmp_path: Path) -> None:
    root = ET.parse(write_junit(make_run(), tmp_path)).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "7", "2", "1", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert sorted(suites) == ["protocol", "webhook"]
    web = suites["webhook"]
    assert (web.get("tests"), web.get("failures"), web.get("errors"), web.get("skipped")) == (
        "6", "2", "1", "1")
    cases = {c.get("name").split()[0]: c for c in web.findall("testcase")}
    wh012 = cases["WH-012"]
    assert wh012.get("classname") == "WH"
    assert wh012.get("name") == "WH-012 A call with non-zero value is denied with value-nonzero."
    failure = wh012.find("failure")
    assert failure.get("message") == "non-zero value was not denied: got approved=true"
    assert '"callData": "0xb61d27f6"' in failure.text and "0xb61d27f6" in failure.text
    assert "curl -sS -X POST" in failure.text and "value 2**255" in failure.text
    assert cases["WH-040"].find("error").get("message") == "target timed out after 10.0 s"
    assert cases["WH-050"].find("skipped").get("message") == "profile base has no /pimlico route"
    assert list(cases["WH-001"]) == []
    assert suites["protocol"].find("testcase").get("classname") == "UO"
    assert "listening on" in web.find("system-out").text
    assert web.find("system-err").text == "warn: slow rpc\n"


def test_junit_survives_control_characters_from_the_target(tmp_path: Path) -> None:
    run = make_run(logs={"stdout": "a\x00b\x1bc"})
    run.results[0].failures[0] = Failure("bad \x07 bell", "x\x01", "r")
    root = ET.parse(write_junit(run, tmp_path)).getroot()
    out = root.find("testsuite[@name='webhook']/system-out").text
    assert out == "a\\x00b\\x1bc"


# --- HTML -------------------------------------------------------------------------------------


def test_html_has_every_rule_and_escapes_target_content(tmp_path: Path) -> None:
    run = make_run()
    planted = "<script>alert('pwned')</script>"
    run.results[0].failures[0] = Failure(planted, {"k": planted}, f"echo {planted}")
    run.logs["stdout"] = planted
    page = write_html(run, tmp_path).read_text(encoding="utf-8")
    for rule in run.results:
        assert rule.rule_id in page
    assert planted not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1
    for needle in ("1234", "sha256:1111", "0.1.0", "2.3.1", "12.346 s", "FAIL 2", "SKIP 1"):
        assert needle in page


def test_html_is_self_contained_and_its_csp_admits_only_its_own_code(tmp_path: Path) -> None:
    page = write_html(make_run(), tmp_path).read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert "&&" in script and "&amp;" not in script
    for code, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in page


# --- redaction --------------------------------------------------------------------------------


def secret_spellings(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), quote_plus(secret), secret.encode().hex(),
            json.dumps(secret)[1:-1], "S3cr3t+Value"]


def test_secret_is_absent_from_every_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_NAME, SECRET)
    run = make_run(target={"url": f"http://127.0.0.1:8787/?token={quote(SECRET, safe='')}"})
    basic = base64.b64encode(f"user:{SECRET}".encode()).decode()
    run.results[0].failures[0] = Failure(
        f"token {SECRET} leaked",
        {"headers": {"authorization": f"Basic {basic}"}, SECRET: [SECRET.encode()]},
        f"curl 'http://h/?token={quote_plus(SECRET)}' -H 'x: {SECRET}'",
    )
    run.logs["stdout"] = f"got token={SECRET}\n"
    run.logs["stderr"] = json.dumps({"token": SECRET})
    paths = write_reports(run, tmp_path, redactor=Redactor.from_env([ENV_NAME, "UNSET_VAR"]))
    assert sorted(paths) == ["html", "json", "junit"]
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        for spelling in [*secret_spellings(SECRET), basic]:
            assert spelling not in text, (path.name, spelling)
        assert f"${ENV_NAME}" in text
    assert read_results(paths["json"]).results[3].failures[0].message == f"token ${ENV_NAME} leaked"


def test_redactor_finds_base64_at_every_alignment() -> None:
    redactor = Redactor([SECRET])
    for prefix in ("", "a", "ab", "abc:", "user:"):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            blob = encode((prefix + SECRET).encode()).decode()
            assert blob not in redactor.text(f"Basic {blob}")
            assert "***" in redactor.text(blob)


def test_redactor_masks_unnamed_secrets_and_never_shows_them() -> None:
    redactor = Redactor(["abc", SECRET])
    assert redactor.text("x abc y") == "x *** y"
    assert redactor.json({"abc": ("abc", b"abc")}) == {"***": ["***", "0x616263"]}
    assert "abc" not in repr(redactor) and SECRET not in repr(redactor)
    assert Redactor().text(SECRET) == SECRET and not Redactor()
    assert Redactor.from_env([ENV_NAME], environ={ENV_NAME: "hunter22"}).text(
        "p=hunter22") == f"p=${ENV_NAME}"


# --- exit codes -------------------------------------------------------------------------------


def rules_with(*pairs: tuple[str, Verdict]) -> list[RuleResult]:
    return [RuleResult(f"WH-{i:03d}", v, 1, level=lvl) for i, (lvl, v) in enumerate(pairs)]


@pytest.mark.parametrize(
    ("pairs", "strict", "code"),
    [
        ((("MUST", Verdict.FAIL),), False, 1),
        ((("SHOULD", Verdict.FAIL),), False, 0),
        ((("SHOULD", Verdict.FAIL),), True, 1),
        ((("MUST", Verdict.ERROR),), False, 1),
        ((("MUST", Verdict.PASS), ("MUST", Verdict.SKIP), ("SHOULD", Verdict.PASS)), False, 0),
        ((("MUST", Verdict.PASS), ("MUST", Verdict.SKIP)), True, 0),
    ],
)
def test_run_exit_codes(pairs, strict, code) -> None:
    assert make_run(results=rules_with(*pairs), strict=strict).exit_code() == code


# --- snapshots --------------------------------------------------------------------------------


def test_snapshot_junit_structure(tmp_path: Path) -> None:
    text = write_junit(make_run(), tmp_path).read_text(encoding="utf-8")
    check_snapshot("junit.xml", re.sub(r'\btime="[^"]*"', 'time="T"', text))
