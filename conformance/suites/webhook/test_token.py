"""The shared token (PROTOCOL.md §5 policy step 1): WH-010 bad-token, WH-012 no chain request
(of any method) before the token is accepted.

WH-011 (constant-time comparison) is a SHOULD no HTTP observation can judge: timing over a
network says nothing reliable about a comparison of a few dozen bytes, so no check pretends to.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.peers import RecordedCall
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness

WRONG_QUERIES = [
    "", "token=", "token", "token=wrong", "token={token}x", "token=x{token}", "token={TOKEN}",
    "token={token}%00", "token={token}%20", "token=%20{token}", "Token={token}", "TOKEN={token}",
    "tok={token}", "token%3D{token}", "t=1&token={token}0",
    "token={token}%0A", "token={token}+", "token[]={token}", "token={token}%2F", "token=%00",
]
"""Missing, empty, wrong, look-alike and URL-encoded look-alike tokens (each a bad-token)."""


def _deny(wh: Harness, observe: Observer, query: str) -> None:
    """A request the policy would approve, with a token that must be refused."""
    wh.need_token()
    observe.case()
    sender, call = wh.approvable_or_stand_in()
    record, answer = wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()), query=query)
    wh.judge("WH-010", record, answer, wh.expect_alchemy(record), "the token was not refused")


@rules("WH-010")
def test_missing_wrong_and_look_alike_tokens_are_bad_token(wh: Harness,
                                                           observe: Observer) -> None:
    """Missing, empty, wrong, case-changed, padded and percent-encoded look-alikes → bad-token;
    the same token percent-encoded may be read either way."""
    for query in [*WRONG_QUERIES, "token={token_pct}"]:
        _deny(wh, observe, query)


@rules("WH-010")
@given(text=st.text(min_size=0, max_size=40))
@example(text="")
def test_generated_wrong_tokens_are_bad_token(wh: Harness, observe: Observer, text: str) -> None:
    """Any other token value → bad-token."""
    token = wh.need_token()
    if text == token:
        return
    _deny(wh, observe, "token=" + quote(text, safe=""))


@rules("WH-011")
def test_constant_time_comparison_is_not_judged() -> None:
    """WH-011 is judged by reading the implementation, never over HTTP: the timing of one
    comparison is far below a network round trip's jitter, so no check pretends to."""
    pytest.skip("a constant-time token comparison cannot be judged over HTTP; review the code "
                "(e.g. hmac.compare_digest / crypto.timingSafeEqual)")


@rules("WH-012")
@given(query=st.sampled_from(WRONG_QUERIES), role=st.sampled_from(["member", "path-a", "stranger"]))
def test_no_chain_call_before_the_token(wh: Harness, observe: Observer, query: str,
                                        role: str) -> None:
    """A request refused at step 1 makes no chain request at all: the peer's log stays empty
    (any JSON-RPC method counts — ``eth_chainId`` or ``eth_blockNumber`` as much as
    ``eth_call`` — and so does a body that is no JSON-RPC request)."""
    peer = wh.need_chain()
    wh.need_token()
    observe.case()
    sender = wh.add_sender(role)
    peer.clear_log()
    body = cases.alchemy(sender, cases.execute(wh.actors.cluster), wh.chain_hex())
    record, answer = wh.alchemy(body, query=query)
    calls = peer.requests
    if calls:
        names = ", ".join(sorted({_call_name(c) for c in calls}))
        raise wh.failure("WH-012", f"{len(calls)} chain request(s) ({names}) for a request "
                         "whose token is not accepted", record, answer,
                         chain_requests=[_call_name(c) for c in calls],
                         chain_reads={"none": True})


def _call_name(call: RecordedCall) -> str:
    """``eth_call isOurMember``, ``eth_chainId``, or ``(no JSON-RPC method)``."""
    if call.method is None:
        return "(no JSON-RPC method)"
    return f"{call.method} {call.selector_name}" if call.selector_name else call.method
