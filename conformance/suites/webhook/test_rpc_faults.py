"""Chain transport faults (PROTOCOL.md §5): WH-033 rpc-failure, WH-034 never an approval.

Faults are injected by the chain peer (timeouts, latency beyond the webhook's own timeout,
HTTP 5xx, TCP resets, malformed JSON-RPC). Every case uses a fresh sender and fresh clusters,
so no cached answer lets the webhook skip the faulty read.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook_chain import VIEWS
from conformance.peers import Fault, FaultPlan, Malformation
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness

FAST_FAULTS = [Fault.http_5xx(502), Fault.http_5xx(503), Fault.connection_reset(),
               *(Fault.malformed(m) for m in Malformation)]
"""Faults that answer at once: every malformed JSON-RPC answer class of ``Malformation``
(not JSON, no result, wrong or null id, a result that is no hex string — text, null, a
number, odd digits, no 0x — and an error that is no error object) is one."""

HOLD = Fault.timeout(4.0)
"""No answer for 4 s, then a reset: past the reference's 3 s RPC timeout, within the suite's
5 s request timeout, so any webhook sees a fault (the peer's own hold bound is 4 s)."""

LATE = Fault.latency(3.5)
"""A right answer 3.5 s late: past the reference's 3 s RPC timeout (a webhook that waits longer
may give the right answer instead of rpc-failure)."""

SLOW_FAULTS = [HOLD, LATE]
"""Faults that answer late or never, each costing one webhook timeout: run them concurrently."""


def _first_view(wh: Harness) -> str:
    return "cluster" if wh.policy.path_a_first else "isOurMember"


def _case(wh: Harness, observe: Observer, rule: str, *, role: str, plans: list[FaultPlan],
          faulty: frozenset[str], approvals_only: bool = False, late: bool = False) -> None:
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline(rule)
    observe.case()
    sender, call = wh.approvable(role, fresh_cluster=True)
    record = cases.alchemy(sender, call, wh.chain_hex())
    peer.inject(*plans)
    try:
        recorded, answer = wh.alchemy(record)
    finally:
        peer.clear_faults()
    expectation = wh.expect_alchemy(recorded, faulty=faulty)
    if approvals_only:
        if answer.json == {"approved": True} and not expectation.approves:
            raise wh.failure(rule, "a chain fault led to an approval", recorded, answer,
                             expectation, faults=[p.fault.describe() for p in plans])
        return
    if late and wh.expect_alchemy(recorded).accepts(answer.status, answer.json):
        return  # a late answer within the webhook's own timeout is the right answer
    wh.judge(rule, recorded, answer, expectation, "a chain fault was not rpc-failure")


@rules("WH-033")
def test_fast_faults_in_provenance_and_target(wh: Harness, observe: Observer) -> None:
    """Every fast fault kind, on every read of step 3 (a member) and on step 7 → rpc-failure."""
    for fault in FAST_FAULTS:
        _case(wh, observe, "WH-033", role="member", plans=[FaultPlan.always(fault)],
              faulty=frozenset(VIEWS))
        _case(wh, observe, "WH-033", role="member",
              plans=[FaultPlan.for_selector("isDeployedCluster", fault)],
              faulty=frozenset({"isDeployedCluster"}))
        _case(wh, observe, "WH-033", role="path-a",
              plans=[FaultPlan.for_selector("cluster", fault)], faulty=frozenset({"cluster"}))


@rules("WH-033")
def test_slow_faults(wh: Harness, observe: Observer) -> None:
    """A read that never answers (the first branch of a stranger's step 3) and one slower than
    the webhook's own timeout (step 7) → rpc-failure; a late answer within the timeout may be
    the right answer. The two slow cases run at once, each fault aimed at its own addresses."""
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-033")
    stranger, stranger_call = wh.approvable("stranger", fresh_cluster=True)
    member, member_call = wh.approvable("member", fresh_cluster=True)
    first = _first_view(wh)
    on_sender = (FaultPlan(HOLD, method="eth_call", selector=first, to=stranger)
                 if first == "cluster" else
                 FaultPlan(HOLD, method="eth_call", selector=first, argument=stranger))
    peer.inject(on_sender,
                FaultPlan(LATE, method="eth_call", selector="isDeployedCluster",
                          argument=member_call[16:36]))
    bodies = [cases.alchemy(stranger, stranger_call, wh.chain_hex()),
              cases.alchemy(member, member_call, wh.chain_hex())]
    try:
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(wh.alchemy, bodies))
    finally:
        peer.clear_faults()
    for (record, answer), faulty, late in zip(
            answers, (frozenset({first}), frozenset({"isDeployedCluster"})), (False, True),
            strict=True):
        observe.case()
        if late and wh.expect_alchemy(record).accepts(answer.status, answer.json):
            continue
        wh.judge("WH-033", record, answer, wh.expect_alchemy(record, faulty=faulty),
                 "a chain fault was not rpc-failure")
    _case(wh, observe, "WH-033", role="member",
          plans=[FaultPlan.for_selector("isDeployedCluster", Fault.latency(0.05))],
          faulty=frozenset())


def _every_fault(test: Callable[..., None]) -> Callable[..., None]:
    """Pin every fast fault class with an explicit @example (on cluster(), where a Path A
    sender's first read under pimlico is, and on every read for a sender of both branches)."""
    for fault in FAST_FAULTS:
        test = example(fault=fault, views={"cluster"}, role="path-a")(test)
        test = example(fault=fault, views=set(VIEWS), role="both")(test)
    return test


@rules("WH-034")
@_every_fault
@given(fault=st.sampled_from(FAST_FAULTS), views=st.sets(st.sampled_from(VIEWS), min_size=1),
       role=st.sampled_from(["member", "path-a", "both", "stranger", "hostile"]))
def test_faults_never_approve(wh: Harness, observe: Observer, fault: Fault, views: set[str],
                              role: str) -> None:
    """Whatever reads fault, an approval happens only where a fault-free branch said yes."""
    plans = [FaultPlan.for_selector(view, fault) for view in sorted(views)]
    _case(wh, observe, "WH-034", role=role, plans=plans, faulty=frozenset(views),
          approvals_only=True)


@rules("WH-034")
@given(fault=st.sampled_from(FAST_FAULTS), role=st.sampled_from(["member", "path-a", "both"]))
def test_chain_down_never_approves(wh: Harness, observe: Observer, fault: Fault,
                                   role: str) -> None:
    """With every read faulting, nothing is approved."""
    _case(wh, observe, "WH-034", role=role, plans=[FaultPlan.always(fault)],
          faulty=frozenset(VIEWS), approvals_only=True)
