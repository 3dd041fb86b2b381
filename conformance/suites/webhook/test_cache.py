"""Caching of chain answers (PROTOCOL.md §5 "Caching"): WH-035…WH-039.

A repeat must make no chain call (read from the chain peer's log) while an answer is cached.
TTL expiry is observed through the KV cache peer's own clock (``KvPeer.advance``) when the
webhook takes ``CACHE_URL``, and, whether or not it does, on a variant whose own clock the
suite moves (faketime, ``clocked_variant``) with a non-default CACHE_TTL_SECONDS; the
real-time expiries (600 s negative; 60 s positive, on a webhook started with
CACHE_TTL_SECONDS=60) are ``slow`` checks for ``--url`` and targets that ignore faketime. A
transport fault (WH-038) is aimed at every read and at each single read of steps 3 and 7.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pytest

from conformance.engine.checks import Observer, TargetError, rules
from conformance.oracle.webhook_chain import VIEWS
from conformance.peers import Fault, FaultPlan, RecordedCall
from conformance.peers.faults import CallKey, FaultKind
from conformance.peers.world import plan_to_json
from conformance.protocol.hexutil import checksum
from conformance.suites.webhook import cases
from conformance.suites.webhook.clocked import clocked_variant, non_default_settings
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.suites.webhook.test_rpc_faults import FAST_FAULTS, SLOW_FAULTS
from conformance.targets.webhook import LaunchedWebhook
from conformance.targets.webhook_http import Answer

pytestmark = pytest.mark.xdist_group("webhook-state")

NEGATIVE_SECONDS = 600
"""How long a negative answer is cached (PROTOCOL.md §5)."""

MIN_TTL_SECONDS = 60
"""The least CACHE_TTL_SECONDS a webhook takes (PROTOCOL.md §5 "Configuration")."""


def _reads_of(calls: tuple[RecordedCall, ...], *addresses: bytes) -> list[RecordedCall]:
    """eth_calls about ``addresses`` (as the argument, or as the callee of cluster())."""
    wanted = set(addresses)
    return [c for c in calls if c.method == "eth_call"
            and (c.argument in wanted or (c.selector_name == "cluster" and c.to in wanted))]


def _about(*addresses: bytes, cluster_call: bool = True) -> list[dict[str, Any]]:
    """The reads ``_reads_of`` counts, as the filters a failure's ``chain_reads`` holds (how
    ``amc replay`` judges a FAIL about reads): ``addresses`` as the argument, and (unless not
    ``cluster_call``) as the callee of cluster()."""
    never = Fault.http_5xx()  # a filter only, never injected
    plans = [FaultPlan(never, method="eth_call", argument=a) for a in addresses]
    if cluster_call:
        plans += [FaultPlan(never, method="eth_call", selector="cluster", to=a)
                  for a in addresses]
    return [plan_to_json(p) for p in plans]


def _on(fault: Fault, view: str, *, to: bytes | None = None,
        argument: bytes | None = None) -> FaultPlan:
    """A filter on one chain view's eth_call (a fault plan, injected or only matched)."""
    return FaultPlan(fault, method="eth_call", selector=view, to=to, argument=argument)


def _asked(calls: tuple[RecordedCall, ...], plan: FaultPlan) -> bool:
    """True when one of ``calls`` matches ``plan``'s filters."""
    return any(plan.matches(CallKey(c.method, c.selector_name, c.to, c.argument))
               for c in calls)


def _send(wh: Harness, sender: bytes | str, call: bytes) -> tuple[RecordedRequest, Answer]:
    return wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()))


def _expect_answer(wh: Harness, record: RecordedRequest, answer: Answer) -> None:
    """The first answer must be right for the cache check to mean anything."""
    if not wh.expect_alchemy(record).accepts(answer.status, answer.json):
        raise TargetError(f"cannot judge caching: first answer was {answer.describe(120)}")


def _uses_kv(wh: Harness) -> bool:
    """True when the webhook talks to the KV peer (the check's baseline request finds out)."""
    if wh.kv is None:
        return False
    wh.confirm_baseline("WH-035")
    if wh.uses_kv is not None:
        return wh.uses_kv
    if not wh.kv.requests:
        sender, call = wh.approvable()
        _send(wh, sender, call)
    return bool(wh.kv.requests)


@rules("WH-035")
@pytest.mark.parametrize("role", ["member", "path-a"])
def test_positive_answers_are_cached(wh: Harness, observe: Observer, role: str) -> None:
    """An approved sender and target are not read again on a repeat (nor within the TTL);
    past CACHE_TTL_SECONDS they are read again."""
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-035", role)
    for _ in range(5):
        observe.case()
        sender, call = wh.approvable(role, fresh_cluster=True)
        target = call[16:36]
        record, answer = _send(wh, sender, call)
        _expect_answer(wh, record, answer)
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        positive = [c for c in _reads_of(peer.requests, sender, target)
                    if not (c.selector_name == "cluster" and role == "member")]
        if positive:
            raise wh.failure("WH-035", "a positive answer was read again on a repeat", record,
                             answer, chain_calls=[str(c.selector_name) for c in positive],
                             chain_reads={"not_asked": _about(sender, target, cluster_call=(
                                 role != "member"))})
    if _uses_kv(wh):
        _ttl_expiry(wh, observe, sender, call, role)


def _ttl_expiry(wh: Harness, observe: Observer, sender: bytes, call: bytes, role: str) -> None:
    peer, kv = wh.need_chain(), wh.need_kv()
    ttl = wh.settings.cache_ttl_seconds
    observe.case()
    kv.advance(ttl - 30)
    peer.clear_log()
    record, answer = _send(wh, sender, call)
    positive = {"member": ("isOurMember",), "path-a": ("cluster", "allowedAppIds")}[role]
    asked = [c for c in _reads_of(peer.requests, sender) if c.selector_name in positive]
    if asked:
        raise wh.failure("WH-035", f"{asked[0].selector_name} was read again {ttl - 30} s into "
                         f"a {ttl} s TTL", record, answer)
    kv.advance(60)
    peer.clear_log()
    record, answer = _send(wh, sender, call)
    if not _reads_of(peer.requests, sender):
        raise wh.failure("WH-035", f"the sender was not read again {ttl + 30} s after it was "
                         f"cached with CACHE_TTL_SECONDS={ttl}", record, answer)


@rules("WH-036")
@pytest.mark.parametrize("role", ["stranger", "reverting", "no-code"])
def test_negative_answers_are_cached(wh: Harness, observe: Observer, role: str) -> None:
    """A denied sender (no, revert or empty result) is not read again within 600 s, and is
    read again after it (KV clock)."""
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-036")
    sender = b""
    for _ in range(3):
        observe.case()
        sender = wh.add_sender(role)
        call = cases.execute(wh.actors.cluster)
        _send(wh, sender, call)
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        again = _reads_of(peer.requests, sender)
        if again:
            raise wh.failure("WH-036", f"a negative answer ({role}) was read again on a repeat",
                             record, answer, chain_calls=[str(c.selector_name) for c in again],
                             chain_reads={"not_asked": _about(sender)})
    if _uses_kv(wh):
        kv = wh.need_kv()
        call = cases.execute(wh.actors.cluster)
        kv.advance(NEGATIVE_SECONDS - 20)
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        if _reads_of(peer.requests, sender):
            raise wh.failure("WH-036", "a negative answer expired before 600 s", record, answer,
                             chain_reads={"not_asked": _about(sender)})
        kv.advance(40)
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        if not _reads_of(peer.requests, sender):
            raise wh.failure("WH-036", "a negative answer outlived 600 s", record, answer,
                             chain_reads={"asked_any": _about(sender)})


@rules("WH-036")
@pytest.mark.slow
def test_negative_cache_expires_in_real_time(wh: Harness, observe: Observer) -> None:
    """Waits 601 s: a negative answer is read again once 600 s have passed (any cache)."""
    peer = wh.need_chain()
    wh.need_token()
    observe.case()
    sender = wh.add_sender("stranger")
    call = cases.execute(wh.actors.cluster)
    _send(wh, sender, call)
    time.sleep(NEGATIVE_SECONDS + 1)
    peer.clear_log()
    record, answer = _send(wh, sender, call)
    if not _reads_of(peer.requests, sender):
        raise wh.failure("WH-036", "a negative answer outlived 600 s", record, answer,
                         chain_reads={"asked_any": _about(sender)})


def _positive_reads(wh: Harness, role: str, sender: bytes, call: bytes) -> list[FaultPlan]:
    """The reads whose "yes" approves ``sender`` (as filters): its provenance branch, and the
    target's isDeployedCluster (step 7)."""
    never = Fault.http_5xx()  # a filter only, never injected
    reads = [_on(never, "isDeployedCluster", argument=call[16:36])]
    if role == "member":
        return [_on(never, "isOurMember", argument=sender), *reads]
    home = wh.scenario().member_clusters[sender]
    return [_on(never, "cluster", to=sender),
            _on(never, "allowedAppIds", to=home, argument=sender), *reads]


@rules("WH-035")
@pytest.mark.slow
def test_positive_cache_expires_in_real_time(wh: Harness, observe: Observer) -> None:
    """Waits 61 s: started with CACHE_TTL_SECONDS=60 (the least §5 allows) and no CACHE_URL, a
    webhook answers a repeat from its cache, and reads each positive answer again once 60 s
    have passed (any cache: the webhook's own, whether or not it takes CACHE_URL)."""
    peer = wh.need_chain()
    wh.need_token()
    overrides = {"CACHE_TTL_SECONDS": str(MIN_TTL_SECONDS), "CACHE_URL": None}
    with wh.variant(overrides) as webhook:
        cached = []
        for role in ("member", "path-a"):
            observe.case()
            sender, call = wh.approvable(role, fresh_cluster=True)
            body = cases.alchemy(sender, call, wh.chain_hex())
            _expect_answer(wh, *wh.alchemy(body, target=webhook))
            peer.clear_log()
            record, answer = wh.alchemy(body, target=webhook)
            reads = _positive_reads(wh, role, sender, call)
            again = [r.selector for r in reads if _asked(peer.requests, r)]
            if again:
                raise wh.failure("WH-035", f"a positive answer ({', '.join(map(str, again))}) "
                                 "was read again on a repeat", record, answer)
            cached.append((body, reads))
        time.sleep(MIN_TTL_SECONDS + 1)
        for body, reads in cached:
            peer.clear_log()
            record, answer = wh.alchemy(body, target=webhook)
            stale = [r.selector for r in reads if not _asked(peer.requests, r)]
            if stale:
                raise wh.failure("WH-035", f"{', '.join(map(str, stale))} not read again "
                                 f"{MIN_TTL_SECONDS + 1} s after it was cached with "
                                 f"CACHE_TTL_SECONDS={MIN_TTL_SECONDS}", record, answer)


def _repeat_reads(wh: Harness, webhook: LaunchedWebhook, body: bytes,
                  reads: list[FaultPlan]) -> tuple[RecordedRequest, Answer, list[str]]:
    """Send ``body`` again; the positive reads (as filters) that it made."""
    peer = wh.need_chain()
    peer.clear_log()
    record, answer = wh.alchemy(body, target=webhook)
    return record, answer, [str(r.selector) for r in reads if _asked(peer.requests, r)]


@rules("WH-035")
def test_positive_ttl_on_the_target_clock(wh: Harness, observe: Observer) -> None:
    """On a clock the suite moves (faketime), with a non-default CACHE_TTL_SECONDS and no
    CACHE_URL: positive answers (member and Path A) are not read again 20 s before the TTL
    ends, and are read again 20 s after. SKIPs when the target's clock cannot be moved;
    ``--slow`` keeps the real-time variant."""
    wh.need_chain()
    wh.need_token()
    with clocked_variant(wh, {"MAX_DAILY_OPS_PER_SENDER": "0"}) as (webhook, clock):
        ttl = int(non_default_settings(wh)["CACHE_TTL_SECONDS"] or 0)
        cached = []
        for role in ("member", "path-a"):
            observe.case()
            sender, call = wh.approvable(role, fresh_cluster=True)
            body = cases.alchemy(sender, call, wh.chain_hex())
            _expect_answer(wh, *wh.alchemy(body, target=webhook))
            reads = _positive_reads(wh, role, sender, call)
            record, answer, again = _repeat_reads(wh, webhook, body, reads)
            if again:
                raise wh.failure("WH-035", f"a positive answer ({', '.join(again)}) was read "
                                 "again on a repeat", record, answer)
            cached.append((body, reads))
        for shift, expired in ((ttl - 20, False), (40, True)):
            clock.advance(shift)
            for body, reads in cached:
                observe.case()
                record, answer, again = _repeat_reads(wh, webhook, body, reads)
                stale = [str(r.selector) for r in reads if str(r.selector) not in again]
                if not expired and again:
                    raise wh.failure("WH-035", f"{', '.join(again)} read again {ttl - 20} s "
                                     f"into a {ttl} s TTL (CACHE_TTL_SECONDS={ttl})", record,
                                     answer)
                if expired and stale:
                    raise wh.failure("WH-035", f"{', '.join(stale)} not read again {ttl + 20} s "
                                     f"after it was cached with CACHE_TTL_SECONDS={ttl}", record,
                                     answer)


LONG_TTL = 3_600
"""A non-default positive TTL longer than the negative one: a positive read on the way to a
denial (a stranger's ``cluster()`` naming a foreign cluster) stays cached past 620 s."""


@rules("WH-036")
def test_negative_ttl_on_the_target_clock(wh: Harness, observe: Observer) -> None:
    """On a clock the suite moves (faketime), no CACHE_URL and non-default settings: a denied
    sender (no, revert, no code) is not read again 580 s after its answer, and is read again at
    620 s. SKIPs when the target's clock cannot be moved; ``--slow`` keeps the real-time
    variant."""
    peer = wh.need_chain()
    wh.need_token()
    overrides = {"MAX_DAILY_OPS_PER_SENDER": "0", "CACHE_TTL_SECONDS": str(LONG_TTL)}
    with clocked_variant(wh, overrides) as (webhook, clock):
        denied = []
        for role in ("stranger", "reverting", "no-code"):
            observe.case()
            sender = wh.add_sender(role)
            body = cases.alchemy(sender, cases.execute(wh.actors.cluster), wh.chain_hex())
            wh.alchemy(body, target=webhook)
            denied.append((role, sender, body))
        for shift, expired in ((NEGATIVE_SECONDS - 20, False), (40, True)):
            clock.advance(shift)
            for role, sender, body in denied:
                observe.case()
                peer.clear_log()
                record, answer = wh.alchemy(body, target=webhook)
                reads = _reads_of(peer.requests, sender)
                asked = bool(reads)
                if asked != expired:
                    when = "580 s after" if not expired else "620 s after"
                    raise wh.failure("WH-036", f"a negative answer ({role}) was "
                                     f"{'read again' if asked else 'still cached'} {when} it "
                                     "was cached (600 s)", record, answer,
                                     chain_calls=[str(c.selector_name) for c in reads])


@rules("WH-037")
def test_address_spellings_share_an_entry(wh: Harness, observe: Observer) -> None:
    """Lower-case, checksummed and upper-case spellings of one sender share its cache entry."""
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-037")
    for role in ("member", "stranger", "path-a"):
        observe.case()
        sender, call = wh.approvable(role)
        record, answer = _send(wh, "0x" + sender.hex(), call)
        _expect_answer(wh, record, answer)
        for spelling in (checksum(sender), "0x" + sender.hex().upper()):
            peer.clear_log()
            record, answer = _send(wh, spelling, call)
            again = [c for c in _reads_of(peer.requests, sender)
                     if not (c.selector_name == "cluster" and role == "member")]
            if again:
                raise wh.failure("WH-037", f"spelling {spelling} missed the cache entry of "
                                 f"0x{sender.hex()}", record, answer)


@dataclass(frozen=True)
class _Aimed:
    """A fresh approvable request whose ``plan`` fault hits one chain read (or every read);
    ``watch`` matches the read that must be asked again once the fault is gone."""

    where: str
    sender: bytes
    call: bytes
    plan: FaultPlan
    watch: FaultPlan
    faulty: frozenset[str]


def _aim(wh: Harness, fault: Fault, where: str) -> _Aimed:
    """The case for ``where``: ``every-read`` of a member or a Path A sender (the first step of
    the chain is the one that faults), or one read — the member's isOurMember, its target's
    isDeployedCluster (step 7), the Path A sender's cluster(), its cluster's isDeployedCluster
    or allowedAppIds (step 3)."""
    path_a = where in ("every-read path-a", "cluster", "home", "allowedAppIds")
    role = "path-a" if path_a else "member"
    sender, call = wh.approvable(role, fresh_cluster=True)
    home = wh.scenario().member_clusters.get(sender)
    target = call[16:36]
    first = (_on(fault, "cluster", to=sender) if wh.policy.path_a_first
             else _on(fault, "isOurMember", argument=sender))
    if where.startswith("every-read"):
        return _Aimed(where, sender, call, FaultPlan.always(fault), first, frozenset(VIEWS))
    plan = {"isOurMember": _on(fault, "isOurMember", argument=sender),
            "target": _on(fault, "isDeployedCluster", argument=target),
            "cluster": _on(fault, "cluster", to=sender),
            "home": _on(fault, "isDeployedCluster", argument=home),
            "allowedAppIds": _on(fault, "allowedAppIds", to=home, argument=sender)}[where]
    assert plan.selector is not None
    return _Aimed(where, sender, call, plan, plan, frozenset({plan.selector}))


AIMED = ("isOurMember", "target", "cluster", "home", "allowedAppIds")
"""Single reads a fault is aimed at (see ``_aim``)."""


def _faulted(wh: Harness, observe: Observer, case: _Aimed,
             first: tuple[RecordedRequest, Answer]) -> bool:
    """WH-033 on the faulted request: rpc-failure (or, for a late answer within the webhook's
    own timeout, the right answer: then True, and the answer may have been cached)."""
    observe.case()
    record, answer = first
    late = case.plan.fault.kind is FaultKind.LATENCY
    if late and wh.expect_alchemy(record).accepts(answer.status, answer.json):
        return True
    wh.judge("WH-033", record, answer, wh.expect_alchemy(record, faulty=case.faulty),
             f"a chain fault ({case.plan.fault.describe()} on {case.where}) was not rpc-failure")
    return False


def _recovered(wh: Harness, case: _Aimed, *, late: bool) -> None:
    """WH-038 once the fault is gone: the faulted read is asked again, the answer is true."""
    peer = wh.need_chain()
    peer.clear_log()
    record, answer = _send(wh, case.sender, case.call)
    expectation = wh.expect_alchemy(record)
    detail = f"{case.plan.fault.describe()} on {case.where}"
    if not expectation.accepts(answer.status, answer.json):
        raise wh.failure("WH-038", f"a transport fault ({detail}) was remembered", record,
                         answer, expectation)
    if not late and not _asked(peer.requests, case.watch):
        raise wh.failure("WH-038", f"the read that faulted ({detail}) was not asked again",
                         record, answer, expectation,
                         chain_reads={"asked": [plan_to_json(case.watch)]})


@rules("WH-038", "WH-033")
@pytest.mark.parametrize("fault", FAST_FAULTS, ids=lambda f: f.describe())
def test_faults_are_never_cached(wh: Harness, observe: Observer, fault: Fault) -> None:
    """A fault on every read, or on one read of step 3 or 7, is rpc-failure; with the fault
    removed the next request reads the chain again and gets the true answer. A read the
    webhook never made (another step order, a skipped step) faulted nothing: that case is not
    judged here (the policy-order and provenance rules judge it)."""
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-038")
    for where in ("every-read member", "every-read path-a", *AIMED):
        case = _aim(wh, fault, where)
        peer.clear_log()
        peer.inject(case.plan)
        try:
            first = _send(wh, case.sender, case.call)
        finally:
            peer.clear_faults()
        faulted = [c for c in peer.requests if c.fault is not None and c.method == "eth_call"]
        if not faulted or not _asked(peer.requests, case.plan):
            continue
        if where.startswith("every-read"):  # the read that faulted first, in the target's order
            hit = faulted[0]
            case = replace(case, watch=_on(fault, str(hit.selector_name), to=hit.to,
                                           argument=hit.argument))
        _recovered(wh, case, late=_faulted(wh, observe, case, first))


@rules("WH-038", "WH-033")
def test_slow_faults_are_never_cached(wh: Harness, observe: Observer) -> None:
    """The same for a read that never answers and one slower than the webhook's timeout, on
    each single read; the slow requests run at once (one webhook timeout in all)."""
    peer = wh.need_chain()
    wh.need_token()
    wh.confirm_baseline("WH-038")
    batch = [_aim(wh, fault, where) for fault in SLOW_FAULTS for where in AIMED]
    peer.clear_log()
    peer.inject(*(case.plan for case in batch))
    try:
        with ThreadPoolExecutor(len(batch)) as pool:
            firsts = list(pool.map(lambda c: _send(wh, c.sender, c.call), batch))
    finally:
        peer.clear_faults()
    asked = peer.requests
    for case, first in zip(batch, firsts, strict=True):
        if _asked(asked, case.plan):  # else the webhook never made that read: not judged here
            _recovered(wh, case, late=_faulted(wh, observe, case, first))


@rules("WH-039")
def test_cache_outage_falls_back_to_the_chain(wh: Harness, observe: Observer) -> None:
    """With the cache down, requests are decided from direct chain reads, never denied."""
    wh.need_chain()
    wh.need_token()
    kv = wh.need_kv()
    wh.confirm_baseline("WH-039")
    if not _uses_kv(wh):
        pytest.skip("the webhook does not take CACHE_URL (no request reached the KV peer)")
    with kv.down():
        for role in ("member", "path-a", "both"):
            observe.case()
            sender, call = wh.approvable(role, fresh_cluster=True)
            record, answer = _send(wh, sender, call)
            wh.judge("WH-039", record, answer, wh.expect_alchemy(record, cache_available=False),
                     "a cache outage changed the answer")
