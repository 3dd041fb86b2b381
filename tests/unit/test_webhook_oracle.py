"""The webhook oracle on its own (PROTOCOL.md §5, §3): no I/O, no reference implementation.

Scenarios are plain data (``ChainScenario``); selectors are the PROTOCOL.md §1 literals;
callData is built with eth-abi directly, so nothing here is produced by the code under test.
"""

from __future__ import annotations

import json

import eth_abi
import pytest

from conformance.oracle.webhook import (
    ALL_REASONS,
    APPROVE,
    CapState,
    PolicyConfig,
    expect_alchemy,
    expect_check,
    expect_healthz,
    expect_pimlico,
)
from conformance.oracle.webhook_chain import ChainView, Read, first_of, provenance
from conformance.peers import ACTORS, ChainScenario
from conformance.protocol.webhook_wire import webhook_headers

A = ACTORS
CHAIN = 84532
SCENARIO = ChainScenario.standard(chain_id=CHAIN)
PUBLISH_WG_KEY = bytes.fromhex("4979ff72")
TRANSFER_OWNERSHIP = bytes.fromhex("f2fde38b")
PUBLISH_ED25519 = bytes.fromhex("cedc29c2")
EXECUTE = bytes.fromhex("b61d27f6")
GOLDEN_SECRET = "pim_whsec_12oeWzGziAeWhm1Hpi4zvXDz54bzSMCBj3CeCb6rAPV"


def view(**kw: object) -> ChainView:
    return ChainView(SCENARIO, A.member_factory, A.cluster_factory, A.cluster_factory_v2,
                     **kw)  # type: ignore[arg-type]


def execute(target: bytes, value: int = 0, inner: bytes = PUBLISH_WG_KEY + bytes(32)) -> bytes:
    return EXECUTE + eth_abi.encode(["address", "uint256", "bytes"], [target, value, inner])


def body(sender: bytes, call: bytes | str, chain: object = hex(CHAIN)) -> bytes:
    data = call if isinstance(call, str) else "0x" + call.hex()
    doc: dict[str, object] = {"userOperation": {"sender": "0x" + sender.hex(), "callData": data}}
    if chain is not None:
        doc["chainId"] = chain
    return json.dumps(doc).encode()


def alchemy(raw: bytes, generation: str = "pimlico", token_ok: bool | None = True,
            approvals: int = 0, **kw: object) -> set[str]:
    config = PolicyConfig.for_generation(generation, CHAIN)
    exp = expect_alchemy(raw, token_ok=token_ok, config=config, view=view(**kw),
                         cap=CapState(approvals))
    return {e.body["reason"] if e.body and "reason" in e.body else
            ("approve" if e.body == {"approved": True} else str(e.status)) for e in exp.answers}


def test_member_calling_its_cluster_is_approved() -> None:
    assert alchemy(body(A.factory_member, execute(A.cluster))) == {"approve"}


@pytest.mark.parametrize(("sender", "call", "reason"), [
    (A.stranger, execute(A.cluster), "not-cluster-member"),
    (A.hostile_sender, execute(A.cluster), "not-cluster-member"),
    (A.reverting_sender, execute(A.cluster), "not-cluster-member"),
    (A.no_code_sender, execute(A.cluster), "not-cluster-member"),
    (A.factory_member, bytes.fromhex("34fcd5be") + bytes(96), "outer-selector-not-execute"),
    (A.factory_member, b"", "outer-selector-not-execute"),
    (A.factory_member, execute(A.cluster, 1), "value-nonzero"),
    (A.factory_member, execute(A.cluster, 0, TRANSFER_OWNERSHIP + bytes(32)),
     "inner-selector-not-allowed"),
    (A.factory_member, execute(A.cluster, 0, b"\x49\x79"), "inner-selector-not-allowed"),
    (A.factory_member, execute(A.cluster, 0, EXECUTE + bytes(96)), "inner-selector-not-allowed"),
    (A.factory_member, execute(bytes.fromhex("77" * 20)), "target-not-our-cluster"),
])
def test_one_broken_step_names_its_reason(sender: bytes, call: bytes, reason: str) -> None:
    """WH-018, WH-019, WH-022, WH-023, WH-024, WH-028, WH-030, WH-031."""
    assert alchemy(body(sender, call)) == {reason}


def test_first_failing_step_wins() -> None:
    """WH-015: token, then chain, then provenance, then the callData steps."""
    raw = body(A.stranger, execute(bytes.fromhex("77" * 20), 1), "0x1")
    assert alchemy(raw, token_ok=False) == {"bad-token"}
    assert alchemy(raw) == {"chain-mismatch"}
    assert alchemy(body(A.stranger, execute(A.cluster, 1))) == {"not-cluster-member"}


@pytest.mark.parametrize("chain", [None, "0x"])
def test_missing_or_empty_chain_is_a_denial(chain: object) -> None:
    """WH-014."""
    assert alchemy(body(A.factory_member, execute(A.cluster), chain)) == {"chain-mismatch"}


@pytest.mark.parametrize("chain", [CHAIN, str(CHAIN), "14a34", True, [hex(CHAIN)]])
def test_malformed_chain_is_400(chain: object) -> None:
    """WH-008: another JSON type or no 0x prefix is a malformed body."""
    assert alchemy(body(A.factory_member, execute(A.cluster), chain)) == {"400"}


@pytest.mark.parametrize("sender", ["0x1234", "0x" + "zz" * 20, "ab" * 20, ""])
def test_non_address_sender_is_400(sender: str) -> None:
    """WH-007."""
    raw = json.dumps({"userOperation": {"sender": sender, "callData": "0x"},
                      "chainId": hex(CHAIN)}).encode()
    assert alchemy(raw) == {"400"}


def test_malformed_body_with_a_bad_token_may_be_either() -> None:
    """§5 does not order parsing and the token: 400 or bad-token."""
    assert alchemy(b"not json", token_ok=False) == {"400", "bad-token"}


def test_upper_case_hex_reads_the_same() -> None:
    """WH-029."""
    text = "0x" + execute(A.cluster).hex().upper()
    assert alchemy(body(A.factory_member, text)) == {"approve"}


def test_generation_allowlists() -> None:
    """WH-026: publishEd25519Key only under pimlico."""
    call = execute(A.cluster, 0, PUBLISH_ED25519 + bytes(32))
    assert alchemy(body(A.factory_member, call)) == {"approve"}
    assert alchemy(body(A.factory_member, call), "base") == {"inner-selector-not-allowed"}


def test_daily_cap_is_last_and_pimlico_only() -> None:
    """WH-040, WH-015: the cap only after every other step; base has no cap."""
    raw = body(A.factory_member, execute(A.cluster))
    assert alchemy(raw, approvals=100) == {"sender-daily-cap"}
    assert alchemy(raw, approvals=99) == {"approve"}
    assert alchemy(raw, "base", approvals=500) == {"approve"}
    assert alchemy(body(A.factory_member, execute(A.cluster, 1)), approvals=100) == {
        "value-nonzero"}


def test_faults_never_approve_and_may_stop() -> None:
    """WH-033/WH-034: a fault before a yes may end as rpc-failure; a fault then no must."""
    raw = body(A.factory_member, execute(A.cluster))
    assert alchemy(raw, faulty=frozenset({"cluster"})) == {"approve", "rpc-failure"}
    assert alchemy(raw, "base", faulty=frozenset({"cluster"})) == {"approve"}
    assert alchemy(body(A.stranger, execute(A.cluster)), faulty=frozenset({"cluster"})) == {
        "rpc-failure"}
    assert alchemy(raw, down=True) == {"rpc-failure"}
    assert alchemy(raw, faulty=frozenset({"isDeployedCluster"})) == {"rpc-failure"}


def test_first_of_semantics() -> None:
    yes, no, fault = (frozenset({r}) for r in (Read.YES, Read.NO, Read.FAULT))
    assert first_of(yes, fault) == {Read.YES}
    assert first_of(no, yes) == {Read.YES}
    assert first_of(fault, yes) == {Read.FAULT, Read.YES}
    assert first_of(fault, no) == {Read.FAULT}
    assert first_of(no, no) == {Read.NO}


def test_hostile_cluster_fails_closed() -> None:
    """WH-019: the hostile cluster allows everything, but no factory deployed it."""
    assert provenance(view(), A.hostile_sender, path_a_first=True) == {Read.NO}


def test_solidity_rejected_calldata_is_only_denied() -> None:
    """WH-067: dirty address bits — any late denial, never an approval."""
    call = bytearray(execute(A.cluster))
    call[4] = 0xFF
    answers = alchemy(body(A.factory_member, bytes(call)))
    assert "approve" not in answers and answers <= ALL_REASONS


def test_non_canonical_follows_solidity() -> None:
    """WH-066: trailing bytes (Solidity accepts) may be approved; an offset to a forbidden inner
    call may not."""
    assert "approve" in alchemy(body(A.factory_member, execute(A.cluster) + b"\x00"))
    allowed = PUBLISH_WG_KEY + bytes(32)
    forbidden = TRANSFER_OWNERSHIP + bytes(32)
    first = eth_abi.encode(["bytes"], [allowed])[32:]
    call = (EXECUTE + eth_abi.encode(["address", "uint256"], [A.cluster, 0])
            + (0x60 + len(first)).to_bytes(32, "big") + first
            + eth_abi.encode(["bytes"], [forbidden])[32:])
    answers = alchemy(body(A.factory_member, call))
    assert "approve" not in answers


def test_pimlico_route() -> None:
    """WH-047, WH-051, WH-053, WH-054, WH-058 and the golden key derivation (WH-057)."""
    config = PolicyConfig.for_generation("pimlico", CHAIN)
    op = {"sender": "0x" + A.factory_member.hex(), "callData": "0x" + execute(A.cluster).hex()}
    raw = json.dumps({"type": "user_operation.sponsorship.requested",
                      "data": {"object": {"userOperation": op, "chainId": CHAIN}}}).encode()
    now = 1_783_379_000

    def exp(headers: dict[str, str], **kw: object) -> set[object]:
        args: dict[str, object] = dict(route=True, secret=GOLDEN_SECRET,
                                       derivation="live-base57", now=now, config=config,
                                       view=view(), cap=CapState())
        args.update(kw)
        e = expect_pimlico(raw, headers, **args)  # type: ignore[arg-type]
        return {(a.status, json.dumps(a.body)) for a in e.answers}

    good = webhook_headers(GOLDEN_SECRET, "live-base57", "msg_test", now, raw)
    assert exp(good) == {(200, '{"sponsor": true}')}
    assert exp(webhook_headers(GOLDEN_SECRET, "live-base57", "m", now - 301, raw)) == {
        (401, "null")}
    assert exp(webhook_headers(GOLDEN_SECRET, "live-base57", "m", now + 300, raw)) == {
        (200, '{"sponsor": true}')}
    assert exp(good, secret=None) == {(503, "null")}
    assert exp(good, route=False) == {(404, "null")}
    golden = {"webhook-id": "msg_test", "webhook-timestamp": str(now),
              "webhook-signature": "v1,FegSBwAL3Dulyu7SFiGvw1GCj7N+us7vJohmBsP9cxY="}
    foreign = b'{"type":"user_operation.sponsorship.requested"}'
    e = expect_pimlico(foreign, golden, route=True, secret=GOLDEN_SECRET,
                       derivation="live-base57", now=now, config=config, view=view(),
                       cap=CapState())
    assert [(a.status, a.body) for a in e.answers] == [(200, {"sponsor": False})]


def test_check_and_healthz() -> None:
    """WH-059…WH-064."""
    deployed = expect_check("0x" + A.cluster.hex(), view())
    assert [a.body for a in deployed.answers] == [{"deployed": True, "sponsored": True}]
    assert [a.status for a in expect_check("0x12", view()).answers] == [400]
    assert [a.status for a in expect_check(None, view()).answers] == [400]
    assert [a.status for a in expect_check("0x" + A.cluster.hex(), view(down=True)).answers] == [
        503]
    assert expect_healthz(False).accepts(503, {"ok": False})
    assert not expect_healthz(True).accepts(200, {"ok": False})


def test_approve_marker() -> None:
    raw = body(A.factory_member, execute(A.cluster))
    config = PolicyConfig.for_generation("base", CHAIN)
    exp = expect_alchemy(raw, token_ok=True, config=config, view=view(), cap=CapState())
    assert exp.must_approve and APPROVE in exp.decisions
