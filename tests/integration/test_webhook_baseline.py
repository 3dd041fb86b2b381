"""The webhook harness' precondition, root causes and secret scan (issue 7 §4, WH-071), with
a stand-in target that answers what each test says (the chain peer is real, in process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.config import TargetSpec
from conformance.peers import ChainPeer
from conformance.profiles import load_profile
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness, NotJudged
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_http import Answer, WebhookRequest


class Canned:
    """A target answering ``status`` and ``body`` to everything, counting requests."""

    url = "http://127.0.0.1:9"

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status, self.body, self.sent = status, body, 0

    def send(self, request: WebhookRequest) -> Answer:
        self.sent += 1
        raw = json.dumps(self.body).encode()
        return Answer(self.status, {"content-type": "application/json"}, raw, self.body)


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(profile=load_profile("pimlico"), profile_arg="pimlico",
                target=TargetSpec(kind="reference"), report_dir=tmp_path, worker="t")
    peer = h.peer = ChainPeer(h.base).start()
    yield h
    peer.stop()


def test_an_approved_baseline_lets_the_check_run_once_per_check(wh: Harness) -> None:
    wh.target = Canned(body={"approved": True})
    wh.confirm_baseline("WH-024")
    wh.confirm_baseline("WH-024")
    assert wh.target.sent == 1
    wh.begin_test()
    wh.confirm_baseline("WH-024")
    assert wh.target.sent == 2


@pytest.mark.parametrize(("status", "body", "role", "route", "owner"), [
    (200, {"approved": False, "reason": "rpc-failure"}, "member", "/", "WH-022"),
    (200, {"approved": False, "reason": "not-cluster-member"}, "member", "/", "WH-016"),
    (200, {"approved": False, "reason": "not-cluster-member"}, "path-a", "/", "WH-017"),
    (200, {"approved": False, "reason": "inner-selector-not-allowed"}, "member", "/", "WH-025"),
    (200, {"approved": False, "reason": "sender-daily-cap"}, "member", "/", "WH-041"),
    (500, {"error": "server-misconfigured"}, "member", "/", "WH-065"),
    (200, {"approved": "yes"}, "member", "/", "WH-003"),
    (401, {"error": "unauthorized"}, "member", "/pimlico", "WH-048"),
    (200, {"sponsor": False}, "member", "/pimlico", "WH-047"),
])
def test_a_failed_baseline_is_not_judged_naming_the_owner(
        wh: Harness, status: int, body: Any, role: str, route: str, owner: str) -> None:
    wh.target = Canned(status, body)
    with pytest.raises(NotJudged, match=f"^not judged: baseline .*→ see {owner} "):
        wh.confirm_baseline("WH-030", role, route=route)
    wh.confirm_baseline(owner, role, route=route)  # the owner's own check judges it itself


def test_without_the_suites_chain_there_is_no_baseline(wh: Harness) -> None:
    wh.peer = None
    wh.target = Canned(body={"approved": False, "reason": "rpc-failure"})
    wh.confirm_baseline("WH-024")
    assert wh.target.sent == 0


def test_causes_name_the_reason_and_the_input_class(wh: Harness) -> None:
    sender = wh.add_sender("member")
    record = RecordedRequest("POST", "/", "token={token}",
                             cases.alchemy(sender, cases.execute(wh.actors.cluster),
                                           wh.chain_hex()))
    denied = Answer(200, {}, b"", {"approved": False, "reason": "rpc-failure"})
    assert wh.cause(record, denied) == "denied with rpc-failure on a member sender"
    assert wh.cause(record, Answer(500, {}, b"x", None)) == "answered 500 on POST /"
    assert wh.cause(record, denied, wh.expect_alchemy(record)).startswith("denied with")
    approved = Answer(200, {}, b"", {"approved": True})
    assert wh.cause(record, approved, wh.expect_alchemy(record)) == ""  # the answer is right
    failure = wh.failure("WH-024", "x", record, denied)
    assert failure.cause == "denied with rpc-failure on a member sender"


def test_every_answer_is_scanned_for_secrets(wh: Harness) -> None:
    assert wh.secrets is not None
    wh.target = Canned(body={"debug": {"token": wh.secrets.token}})
    wh.get("/healthz")
    assert wh.leaks and "the token in the body" in wh.leaks[0]["found"]
    assert wh.found_leaks() == wh.leaks  # written for the run-wide WH-071 report
    assert wh.secrets.token not in (wh.log_dir / "leaks-t.jsonl").read_text()
