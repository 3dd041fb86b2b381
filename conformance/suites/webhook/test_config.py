"""Misconfiguration (PROTOCOL.md §5 "Configuration"): WH-065.

The webhook is restarted with one required value missing or malformed; every request — on
every route, and on no route — must then answer 500 {"error":"server-misconfigured"}.
"""

from __future__ import annotations

import pytest

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import expect_misconfigured
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest, Signing

BROKEN = [
    ("EXPECTED_CHAIN_ID", None),
    ("CANONICAL_MEMBER_FACTORY", "0x1234"),
]
"""(variable, value): None removes it."""


def _requests(wh: Harness) -> list[RecordedRequest]:
    body = cases.alchemy(bytes(20), cases.execute(wh.actors.cluster), wh.chain_hex())
    return [RecordedRequest("POST", "/", "token={token}", body),
            RecordedRequest("POST", "/", "", b"not json"),
            RecordedRequest("GET", "/healthz", "", headers=()),
            RecordedRequest("GET", "/check", "cluster=0x" + "ab" * 20, headers=()),
            RecordedRequest("POST", "/pimlico", "", cases.pimlico_raw({}), signing=Signing())]


@rules("WH-065")
@pytest.mark.parametrize(("name", "value"), BROKEN, ids=[n for n, _ in BROKEN])
def test_misconfiguration_is_500_everywhere(wh: Harness, observe: Observer, name: str,
                                            value: str | None) -> None:
    """A missing or malformed required value → 500 server-misconfigured on every request."""
    with wh.variant({name: value}) as webhook:
        for record in _requests(wh):
            observe.case()
            answer = wh.send(record, target=webhook)
            wh.judge("WH-065", record, answer, expect_misconfigured(),
                     f"{name} {'unset' if value is None else 'malformed'}")
