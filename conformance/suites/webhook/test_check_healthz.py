"""``GET /check`` and ``GET /healthz`` (PROTOCOL.md §5 "Routes"): WH-059…WH-064.

Chain-down cases use fresh cluster addresses (a cached answer would hide the outage) and the
chain peer's "refuse connections" mode or an HTTP 5xx from it.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.engine.checks import Observer, rules
from conformance.oracle.webhook import expect_check, expect_healthz, is_check_address
from conformance.peers import Fault
from conformance.suites.webhook.harness import Harness
from conformance.suites.webhook.reproduce import RecordedRequest
from conformance.targets.webhook_http import Answer


def _check(wh: Harness, address: bytes | str) -> tuple[RecordedRequest, Answer]:
    text = address if isinstance(address, str) else "0x" + address.hex()
    return wh.get("/check", "cluster=" + text)


def _clusters(wh: Harness) -> list[tuple[bytes, bool]]:
    a = wh.actors
    return [(a.cluster, True), (wh.add_cluster(), True), (wh.add_cluster(), True),
            (a.cluster_factory, False), (a.factory_member, False), (bytes(20), False),
            (wh.add_sender("no-code"), False), (a.hostile_cluster, False)]


@rules("WH-059")
def test_deployed_comes_from_the_factory(wh: Harness, observe: Observer) -> None:
    """200 with boolean ``deployed`` and ``sponsored``, ``deployed`` as the cluster factory's
    isDeployedCluster says (``sponsored`` equal to it is WH-060's business)."""
    wh.need_chain()
    for address, deployed in _clusters(wh):
        observe.case()
        record, answer = _check(wh, address)
        body = answer.json if isinstance(answer.json, dict) else {}
        if answer.status != 200 or set(body) != {"deployed", "sponsored"} or (
                body.get("deployed") is not deployed
                or not isinstance(body.get("sponsored"), bool)):
            raise wh.failure("WH-059", f"/check of a {'deployed' if deployed else 'non-'}"
                             "cluster", record, answer)


@rules("WH-060")
@given(address=st.binary(min_size=20, max_size=20), known=st.booleans())
@example(address=bytes(20), known=True)
@example(address=bytes(20), known=False)
def test_sponsored_equals_deployed(wh: Harness, observe: Observer, address: bytes,
                                   known: bool) -> None:
    """In every /check answer ``sponsored`` equals ``deployed``."""
    wh.need_chain()
    observe.case()
    record, answer = _check(wh, wh.add_cluster() if known else address)
    body = answer.json if isinstance(answer.json, dict) else {}
    if answer.status == 200 and body.get("sponsored") != body.get("deployed"):
        raise wh.failure("WH-060", "sponsored differs from deployed", record, answer,
                         expected_answers=[{"status": 200, "body": {"deployed": d, "sponsored": d}}
                                           for d in (True, False)])


@rules("WH-061")
@given(text=st.text(max_size=44))
@example(text="")
@example(text="0x")
@example(text="0x" + "ab" * 19)
@example(text="0x" + "ab" * 21)
@example(text="ab" * 21)
def test_bad_address_is_400(wh: Harness, observe: Observer, text: str) -> None:
    """A missing or malformed cluster parameter → 400."""
    if is_check_address(text) is not False:
        return
    observe.case()
    from urllib.parse import quote

    record, answer = wh.get("/check", "cluster=" + quote(text, safe=""))
    wh.judge("WH-061", record, answer, expect_check(text, wh.view_unknown()))


@rules("WH-061")
def test_missing_cluster_is_400(wh: Harness, observe: Observer) -> None:
    """No cluster parameter at all, or another name → 400."""
    for query in ("", "address=0x" + "ab" * 20, "Cluster=0x" + "ab" * 20, "cluster"):
        observe.case()
        record, answer = wh.get("/check", query)
        if answer.status != 400:
            raise wh.failure("WH-061", f"/check?{query} was not 400", record, answer)


@rules("WH-062")
def test_check_with_chain_down_is_503(wh: Harness, observe: Observer) -> None:
    """With the chain unreachable (refused, or HTTP 502), /check of an unseen address → 503."""
    peer = wh.need_chain()
    for mode in ("refuse", Fault.http_5xx(502)):
        address = wh.add_cluster()
        with peer.down(mode):
            observe.case()
            record, answer = _check(wh, address)
            wh.judge("WH-062", record, answer, expect_check("0x" + address.hex(),
                                                            wh.view(down=True)))


@rules("WH-063")
def test_healthz_green(wh: Harness, observe: Observer) -> None:
    """With the chain reachable, /healthz → 200 {"ok":true}."""
    wh.need_chain()
    for _ in range(3):
        observe.case()
        record, answer = wh.get("/healthz")
        wh.judge("WH-063", record, answer, expect_healthz(True))


@rules("WH-064")
def test_healthz_red_when_chain_down(wh: Harness, observe: Observer) -> None:
    """With the chain refusing connections or answering 503, /healthz → 503 {"ok":false}."""
    peer = wh.need_chain()
    for mode in ("refuse", Fault.http_5xx(503), Fault.connection_reset()):
        with peer.down(mode):
            observe.case()
            record, answer = wh.get("/healthz")
            wh.judge("WH-064", record, answer, expect_healthz(False))
