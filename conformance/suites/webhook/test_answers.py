"""The shape of ``POST /`` answers (PROTOCOL.md §5 "Routes"): WH-003 approval, WH-004 denial.

An approval is exactly 200 ``{"approved":true}``; a denial exactly 200
``{"approved":false,"reason":R}`` with R one of the nine policy reasons. The requests are
approvable, or broken at one step each, so every reason the suite can provoke appears.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import ALL_REASONS
from conformance.protocol.selectors import selector
from conformance.strategies.calldata import inner_calls
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness


@rules("WH-003")
@given(data=st.data(), role=st.sampled_from(["member", "path-a", "both"]))
def test_approval_is_exactly_approved_true(wh: Harness, observe: Observer, data: st.DataObject,
                                           role: str) -> None:
    """An approval is 200 with the body exactly {"approved":true} (approvable requests; a
    denial of one is judged by the policy rules)."""
    wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-003", role)
    observe.case()
    inner = data.draw(inner_calls(generation=wh.generation,
                                  operator_enabled=wh.settings.operator_method))
    sender = wh.add_sender(role)
    record, answer = wh.alchemy(cases.alchemy(sender, cases.execute(wh.actors.cluster, inner),
                                              wh.chain_hex()))
    body = answer.json
    if isinstance(body, dict) and body.get("approved") is False and answer.status == 200:
        return  # a denial: whether it was right is the policy rules' business
    if answer.status != 200 or body != {"approved": True}:
        raise wh.failure("WH-003", "an approval was not exactly 200 {\"approved\":true}",
                         record, answer, wh.expect_alchemy(record))


def _denials(wh: Harness) -> list[tuple[str, bytes, str, str]]:
    """(role, callData, chainId, query) for one denial of each kind."""
    c, chain = wh.actors.cluster, wh.chain_hex()
    forbidden = selector("transferOwnership(address)") + bytes(32)
    batch = selector("executeBatch((address,uint256,bytes)[])")
    return [("member", cases.execute(c), chain, "token=nope"),
            ("member", cases.execute(c), "0x1", "token={token}"),
            ("stranger", cases.execute(c), chain, "token={token}"),
            ("member", batch + bytes(96), chain, "token={token}"),
            ("member", cases.execute(c, value=5), chain, "token={token}"),
            ("member", cases.execute(c, forbidden), chain, "token={token}"),
            ("member", cases.execute(bytes.fromhex("7a" * 20)), chain, "token={token}")]


@rules("WH-004")
def test_denial_is_exactly_approved_false_with_a_reason(wh: Harness, observe: Observer) -> None:
    """Each denial is 200 with exactly {"approved":false,"reason":R}, R a policy reason (an
    approval of one of these requests is judged by the policy rules)."""
    wh.need_chain()
    wh.need_token()
    for role, call, chain, query in _denials(wh) * 3:
        observe.case()
        sender = wh.add_sender(role)
        record, answer = wh.alchemy(cases.alchemy(sender, call, chain), query=query)
        body = answer.json if isinstance(answer.json, dict) else {}
        if answer.status == 200 and body == {"approved": True}:
            continue  # an approval: whether it was right is the policy rules' business
        if (answer.status != 200 or set(body) != {"approved", "reason"}
                or body.get("approved") is not False or body.get("reason") not in ALL_REASONS):
            raise wh.failure("WH-004", "a denial was not 200 "
                             '{"approved":false,"reason":<policy reason>}', record, answer)
