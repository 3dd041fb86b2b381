"""The HTML report's readable minimal input and its exact ``amc replay`` command."""

from __future__ import annotations

import base64
from pathlib import Path

from conformance.report import RuleResult, RunResults, Verdict
from conformance.report.html import failures_first
from conformance.report.readable import readable_input
from conformance.report.replay_hint import replay_command


def test_embedded_json_is_decoded_and_duplicate_base64_dropped() -> None:
    body = '{"chainId":"0x0","userOperation":{"sender":"0x01"}}'
    got = readable_input({"request": {"body": body, "body_b64":
                                      base64.b64encode(body.encode()).decode(), "bytes": 50}})
    assert got == {"request": {"body": {"chainId": "0x0", "userOperation": {"sender": "0x01"}},
                               "bytes": 50}}
    other = {"body": "x", "body_b64": base64.b64encode(b"y").decode()}  # not a copy: kept
    assert readable_input(other) == other
    assert readable_input(["{not json", "0xab", {"external": "f.bin"}]) == \
        ["{not json", "0xab", {"external": "f.bin"}]


def run_of(component: str, target: dict) -> RunResults:
    return RunResults("0.1.0", "sha256:1", component, "pimlico", target, 1, "t", 1.0, [])


def test_replay_command_names_dir_rule_index_and_target() -> None:
    where = Path("/tmp/run one")
    assert replay_command(run_of("webhook", {"kind": "reference", "mutant": "m"}), where,
                          "WH-013", 1) == ("amc replay '/tmp/run one' --rule WH-013 --index 1 "
                                           "--reference --mutant m")
    assert replay_command(run_of("webhook", {"kind": "launch", "launch": "node w.js"}), None,
                          "WH-001", 0) == ("amc replay REPORT_DIR --rule WH-001 --index 0 "
                                           "--launch 'node w.js'")
    assert replay_command(run_of("webhook", {"kind": "url", "url": "http://h/"}), where,
                          "WH-001", 0).endswith("--url http://h/")
    assert replay_command(run_of("sidecar", {"kind": "reference"}), where, "SC-001", 0) is None


def test_failures_first_keeps_catalogue_order_within_a_verdict() -> None:
    rules = [RuleResult(rid, v) for rid, v in (("WH-001", Verdict.PASS), ("WH-002", Verdict.FAIL),
                                               ("WH-003", Verdict.SKIP), ("WH-004", Verdict.ERROR),
                                               ("WH-005", Verdict.FAIL))]
    assert [r.rule_id for r in failures_first(rules)] == ["WH-002", "WH-005", "WH-004",
                                                          "WH-001", "WH-003"]
