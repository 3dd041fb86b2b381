"""Caching of chain answers (PROTOCOL.md §5 "Caching"): WH-035…WH-039.

A repeat must make no chain call (read from the chain peer's log) while an answer is cached.
TTL expiry is observed through the KV cache peer's own clock (``KvPeer.advance``) when the
webhook takes ``CACHE_URL``; without it the 600 s negative-cache expiry is a ``slow`` check
that waits in real time.
"""

from __future__ import annotations

import time

import pytest

from conformance.engine.checks import Observer, TargetError, rules
from conformance.peers import Fault, FaultPlan, RecordedCall
from conformance.protocol.hexutil import checksum
from conformance.suites.webhook import cases
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_http import Answer

pytestmark = pytest.mark.xdist_group("webhook-state")

NEGATIVE_SECONDS = 600
"""How long a negative answer is cached (PROTOCOL.md §5)."""


def _reads_of(calls: tuple[RecordedCall, ...], *addresses: bytes) -> list[RecordedCall]:
    """eth_calls about ``addresses`` (as the argument, or as the callee of cluster())."""
    wanted = set(addresses)
    return [c for c in calls if c.method == "eth_call"
            and (c.argument in wanted or (c.selector_name == "cluster" and c.to in wanted))]


def _send(wh: Harness, sender: bytes | str, call: bytes) -> tuple[RecordedRequest, Answer]:
    return wh.alchemy(cases.alchemy(sender, call, wh.chain_hex()))


def _expect_answer(wh: Harness, record: RecordedRequest, answer: Answer) -> None:
    """The first answer must be right for the cache check to mean anything."""
    if not wh.expect_alchemy(record).accepts(answer.status, answer.json):
        raise TargetError(f"cannot judge caching: first answer was {answer.describe(120)}")


def _uses_kv(wh: Harness) -> bool:
    """True when the webhook talks to the KV peer (one request is made to find out)."""
    if wh.kv is None:
        return False
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
                             answer, chain_calls=[str(c.selector_name) for c in positive])
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
                             record, answer, chain_calls=[str(c.selector_name) for c in again])
    if _uses_kv(wh):
        kv = wh.need_kv()
        call = cases.execute(wh.actors.cluster)
        kv.advance(NEGATIVE_SECONDS - 20)
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        if _reads_of(peer.requests, sender):
            raise wh.failure("WH-036", "a negative answer expired before 600 s", record, answer)
        kv.advance(40)
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        if not _reads_of(peer.requests, sender):
            raise wh.failure("WH-036", "a negative answer outlived 600 s", record, answer)


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
        raise wh.failure("WH-036", "a negative answer outlived 600 s", record, answer)


@rules("WH-037")
def test_address_spellings_share_an_entry(wh: Harness, observe: Observer) -> None:
    """Lower-case, checksummed and upper-case spellings of one sender share its cache entry."""
    peer = wh.need_chain()
    wh.need_token()
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


@rules("WH-038")
@pytest.mark.parametrize("fault", [Fault.http_5xx(503), Fault.connection_reset()],
                         ids=lambda f: f.describe())
def test_faults_are_never_cached(wh: Harness, observe: Observer, fault: Fault) -> None:
    """After an rpc-failure the next request reads the chain again and gets the real answer."""
    peer = wh.need_chain()
    wh.need_token()
    for role in ("member", "path-a"):
        observe.case()
        sender, call = wh.approvable(role, fresh_cluster=True)
        peer.inject(FaultPlan.always(fault))
        try:
            _send(wh, sender, call)
        finally:
            peer.clear_faults()
        peer.clear_log()
        record, answer = _send(wh, sender, call)
        if not _reads_of(peer.requests, sender) or answer.json != {"approved": True}:
            raise wh.failure("WH-038", "a transport fault was remembered", record, answer,
                             wh.expect_alchemy(record))


@rules("WH-039")
def test_cache_outage_falls_back_to_the_chain(wh: Harness, observe: Observer) -> None:
    """With the cache down, requests are decided from direct chain reads, never denied."""
    wh.need_chain()
    wh.need_token()
    kv = wh.need_kv()
    if not _uses_kv(wh):
        pytest.skip("the webhook does not take CACHE_URL (no request reached the KV peer)")
    with kv.down():
        for role in ("member", "path-a", "both"):
            observe.case()
            sender, call = wh.approvable(role, fresh_cluster=True)
            record, answer = _send(wh, sender, call)
            wh.judge("WH-039", record, answer, wh.expect_alchemy(record, cache_available=False),
                     "a cache outage changed the answer")
