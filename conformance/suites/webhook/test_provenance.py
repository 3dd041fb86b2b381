"""Sender provenance (PROTOCOL.md §5 policy step 3, §0 order): WH-016…WH-022.

Every case installs a fresh sender on the chain peer, so no cached answer interferes; order
and "asked at all" are read from the peer's request log.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.peers import Fault, FaultPlan, RecordedCall
from conformance.peers.world import plan_to_json
from conformance.strategies.calldata import inner_calls
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest

PROVENANCE_VIEWS = ("isOurMember", "cluster")


def _ask(wh: Harness, observe: Observer, rule: str, role: str, inner: bytes | None = None,
         message: str = "wrong provenance answer") -> tuple[RecordedRequest, list[RecordedCall]]:
    peer = wh.need_chain()
    wh.need_token()
    observe.case()
    sender = wh.add_sender(role)
    call = cases.execute(wh.actors.cluster, inner) if inner else cases.execute(wh.actors.cluster)
    peer.clear_log()
    record, answer = wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()))
    wh.judge(rule, record, answer, wh.expect_alchemy(record), f"{message} ({role} sender)")
    return record, [c for c in peer.requests if c.method == "eth_call" and c.argument == sender
                    or c.selector_name == "cluster" and c.to == sender]


def _inners(wh: Harness) -> st.SearchStrategy[bytes]:
    return inner_calls(generation=wh.generation, operator_enabled=wh.settings.operator_method)


@rules("WH-016")
@given(data=st.data())
def test_factory_member_passes(wh: Harness, observe: Observer, data: st.DataObject) -> None:
    """A sender the member factory's isOurMember confirms passes step 3 (and is approved)."""
    _ask(wh, observe, "WH-016", "member", data.draw(_inners(wh)))


@rules("WH-017")
@given(data=st.data())
def test_path_a_member_passes(wh: Harness, observe: Observer, data: st.DataObject) -> None:
    """A sender whose cluster() is a deployed cluster that allows it passes step 3 (Path A)."""
    _ask(wh, observe, "WH-017", "path-a", data.draw(_inners(wh)))


@rules("WH-018")
@given(role=st.sampled_from(["stranger", "no-code"]), data=st.data())
def test_neither_branch_is_not_cluster_member(wh: Harness, observe: Observer, role: str,
                                              data: st.DataObject) -> None:
    """A sender neither the factory nor its cluster knows is denied not-cluster-member."""
    _ask(wh, observe, "WH-018", role, data.draw(_inners(wh)))


@rules("WH-019")
def test_hostile_cluster_is_never_asked(wh: Harness, observe: Observer) -> None:
    """cluster() naming a contract no factory deployed fails closed before allowedAppIds."""
    peer = wh.need_chain()
    for _ in range(3):
        record, _calls = _ask(wh, observe, "WH-019", "hostile",
                              message="a hostile cluster() was trusted")
        asked = peer.calls("allowedAppIds", to=wh.actors.hostile_cluster)
        if asked:
            raise wh.failure("WH-019", f"allowedAppIds was asked {len(asked)} time(s) on a "
                             "cluster the factory does not know", record, None,
                             chain_reads={"not_asked": [plan_to_json(FaultPlan(
                                 Fault.http_5xx(), method="eth_call", selector="allowedAppIds",
                                 to=wh.actors.hostile_cluster))]})


def _first_view(calls: list[RecordedCall]) -> str | None:
    return next((str(c.selector_name) for c in calls if c.selector_name in PROVENANCE_VIEWS),
                None)


def _order(wh: Harness, observe: Observer, rule: str, first: str) -> None:
    for role in ("both", "stranger", "member", "path-a"):
        record, calls = _ask(wh, observe, rule, role)
        seen = _first_view(calls)
        if role in ("both", "stranger") and seen != first:
            raise wh.failure(rule, f"provenance asked {seen} first for a {role} sender, "
                             f"expected {first} first", record, None,
                             chain_calls=[str(c.selector_name) for c in calls],
                             chain_reads={"first": first, "among": sorted(PROVENANCE_VIEWS)})


@rules("WH-020")
def test_pimlico_asks_path_a_first(wh: Harness, observe: Observer) -> None:
    """Under pimlico the first provenance read is the sender's cluster() (Path A)."""
    _order(wh, observe, "WH-020", "cluster")


@rules("WH-021")
def test_factory_asked_first(wh: Harness, observe: Observer) -> None:
    """Under multi-attestor and base the first provenance read is isOurMember."""
    _order(wh, observe, "WH-021", "isOurMember")


@rules("WH-022")
@given(role=st.sampled_from(["reverting", "no-code"]), data=st.data())
def test_revert_or_no_code_is_a_definitive_no(wh: Harness, observe: Observer, role: str,
                                              data: st.DataObject) -> None:
    """A reverting cluster() or a sender without code is a plain "no", never rpc-failure."""
    _ask(wh, observe, "WH-022", role, data.draw(_inners(wh)),
         message="a revert or empty result was not a plain no")
